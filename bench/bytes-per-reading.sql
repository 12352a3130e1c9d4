-- Bytes per reading and ingestion, today's storage next to the previous one, in one database
-- (run by bench/bytes-per-reading.ts on a fresh migrated and seeded database).
--
-- The previous layout, one row per (process, parameter, ts) with its 3-column primary key, is
-- rebuilt in the schema bench_old exactly as the first migrations created it (the table
-- public.process_data_points, before public.readings replaced it), with the previous
-- record_process_data (bench/previous-record-process-data.sql, loaded by the script). Both record the
-- same ticks of ALD Reactor A (137 parameters, realistic non-constant values, the setpoints of its
-- writable parameters) at 1 Hz for ald_bytes.seconds seconds ending now, one call per tick:
--   previous  bench_old.record_process_data(process, parameter_ids, values, array[ts], set_points)
--   now       public.record_readings(machine, parameter_ids, values, array[ts], set_points)
-- Sizes are pg_total_relation_size (heap, TOAST, indexes) summed over each table's partitions,
-- after vacuum.

create schema bench_old;
create table bench_old.process_data_points (
  process_id uuid not null,
  parameter_id uuid not null,
  ts timestamptz not null,
  value double precision check (value not in ('NaN', 'Infinity', '-Infinity')),
  set_point double precision check (set_point not in ('NaN', 'Infinity', '-Infinity')),
  primary key (process_id, parameter_id, ts)
) partition by range (ts);
create table bench_old.process_data_points_default partition of bench_old.process_data_points default;
do $$
declare
  lo date;
begin
  for i in -1 .. 1 loop
    lo := (date_trunc('month', now()) + make_interval(months => i))::date;
    execute format('create table bench_old.%I partition of bench_old.process_data_points for values from (%L) to (%L)',
      'process_data_points_' || to_char(lo, 'YYYYMM'), lo, (lo + interval '1 month')::date);
  end loop;
end $$;

-- The ticks: per parameter a level, a slow oscillation and noise (4 decimals, like a PLC's
-- float32 scaled); writable parameters carry their setpoint, the others none.
create table bench_old.ticks as
with params as (
  select p.id, p.set_value, p.is_writable,
         row_number() over (order by p.component_id, p.name) as i
  from public.component_parameters p
  where p.machine_id = '00000000-0000-4000-8000-000000000001'
)
select g as t,
       now() - make_interval(secs => current_setting('ald_bytes.seconds')::integer - g + 1) as ts,
       array_agg(p.id order by p.i) as parameter_ids,
       array_agg(round((coalesce(p.set_value, 10 * p.i) + (1 + p.i % 7) * sin(g / (30.0 + p.i)) + random() - 0.5)::numeric, 4)::float8
                 order by p.i) as vals,
       array_agg(case when p.is_writable then p.set_value end order by p.i) as set_points
from generate_series(1, current_setting('ald_bytes.seconds')::integer) g
cross join params p
group by g;

create table bench_old.results (layout text primary key, readings bigint, seconds double precision, bytes bigint);

-- A run on the reactor, so that the previous layout has a process to record into (the new one
-- finds it by itself).
update public.process_executions set status = 'aborted', ended_at = greatest(now() - interval '2 days', started_at)
  where status = 'running';
update public.machines set status = 'idle', current_process_id = null;
create table bench_old.run as
  with e as (insert into public.process_executions (machine_id, recipe_snapshot, started_at)
             values ('00000000-0000-4000-8000-000000000001', '{}', now() - interval '1 day') returning id)
  select id from e;
