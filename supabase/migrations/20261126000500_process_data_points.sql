-- The big table: one row per parameter per recorded tick. Grows by P rows a second per running
-- machine, so it is range-partitioned by month on ts (native partitioning; TimescaleDB is being
-- retired on Supabase PG 17). A default partition catches anything outside the prepared months,
-- so an insert never fails for want of a partition.

create table public.process_data_points (
  -- No foreign keys on this table: a foreign key is checked once per inserted row, 137 times a
  -- tick, which was the largest avoidable cost of record_process_data. record_process_data checks
  -- the process and every parameter once per call, only service_role may insert directly, and a
  -- trigger on process_executions deletes a run's points with it (what on delete cascade did).
  process_id uuid not null,
  parameter_id uuid not null,
  ts timestamptz not null,
  value double precision check (value not in ('NaN', 'Infinity', '-Infinity')),
  set_point double precision check (set_point not in ('NaN', 'Infinity', '-Infinity')),
  -- the idempotency key: a retried tick conflicts here and inserts nothing twice
  primary key (process_id, parameter_id, ts)
) partition by range (ts);
comment on table public.process_data_points is 'Recorded PLC readings: one row per (process, parameter, timestamp); monthly partitions plus a default partition.';
comment on column public.process_data_points.process_id is 'The process execution being recorded.';
comment on column public.process_data_points.parameter_id is 'The parameter read.';
comment on column public.process_data_points.ts is 'When the PLC was read (controller clock).';
comment on column public.process_data_points.value is 'The reading; null when the PLC had none; never NaN or infinite.';
comment on column public.process_data_points.set_point is 'The setpoint in force at that time, when known.';
-- The primary key leads with process_id: it serves the deletion of a run's points and the reads of
-- one parameter of one process over time.

create function private.process_executions_delete_data_points() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  delete from public.process_data_points d using gone g where d.process_id = g.id;
  return null;
end;
$$;
comment on function private.process_executions_delete_data_points() is
  'Trigger: deleting process executions deletes their data points (the cascade a foreign key would give, without its per-row cost on every insert).';

create trigger process_executions_delete_data_points
  after delete on public.process_executions
  referencing old table as gone
  for each statement execute function private.process_executions_delete_data_points();

create table public.process_data_points_default partition of public.process_data_points default;
comment on table public.process_data_points_default is 'Catch-all partition for rows outside every monthly partition; create_process_data_partitions moves them out.';
alter table public.process_data_points_default enable row level security;

create function public.create_process_data_partitions(months_ahead integer default 3, from_month date default null)
returns setof text
language plpgsql
-- definer: creating and attaching partitions needs the table owner's rights, which service_role
-- (the only role granted execute) does not have; the partitions are then owned like their parent.
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  first_month date := date_trunc('month', coalesce(from_month, current_date))::date;
  lo date;
  hi date;
  part text;
  moved bigint;
begin
  if months_ahead is null or months_ahead < 0 or months_ahead > 120 then
    raise exception using errcode = '22023',
      message = 'months_ahead must be between 0 and 120',
      detail = format('got %s', months_ahead);
  end if;
  for i in 0 .. months_ahead loop
    lo := (first_month + make_interval(months => i))::date;
    hi := (lo + interval '1 month')::date;
    part := format('process_data_points_y%sm%s', to_char(lo, 'YYYY'), to_char(lo, 'MM'));
    continue when to_regclass('public.' || part) is not null;

    -- Rows already in the default partition for this month must move, or the attach fails.
    lock table public.process_data_points_default in access exclusive mode;
    execute format('create table public.%I (like public.process_data_points including defaults including constraints)', part);
    execute format('alter table public.%I add constraint %I check (ts >= %L and ts < %L)', part, part || '_range', lo, hi);
    execute format('with moved as (delete from public.process_data_points_default where ts >= %L and ts < %L returning *)
                    insert into public.%I select * from moved', lo, hi, part);
    get diagnostics moved = row_count;
    execute format('alter table public.process_data_points attach partition public.%I for values from (%L) to (%L)', part, lo, hi);
    execute format('alter table public.%I drop constraint %I', part, part || '_range');
    execute format('alter table public.%I enable row level security', part);
    execute format('comment on table public.%I is %L', part,
      format('process_data_points for %s (monthly partition)', to_char(lo, 'YYYY-MM')));
    execute format('revoke all on public.%I from anon, authenticated', part);
    execute format('grant all on public.%I to service_role', part);
    return next part || case when moved > 0 then format(' (moved %s rows from default)', moved) else '' end;
  end loop;
end;
$$;
comment on function public.create_process_data_partitions(integer, date) is
  'Creates the monthly partitions of process_data_points from from_month (default: this month) through months_ahead months later, moving rows out of the default partition. Idempotent; returns the partitions it created. Run monthly (pg_cron) or at deploy. Security definer (runs as the table owner); executable by service_role only.';

-- Prepare last month through three months ahead.
select public.create_process_data_partitions(4, (date_trunc('month', current_date) - interval '1 month')::date);

-- Closed by default: nothing in private is executable by PUBLIC; these run only inside the
-- definer RPCs and triggers (as their owner).
revoke execute on function
  private.process_executions_delete_data_points()
from public;
