-- Per-minute rollups of public.readings for the chart query (issue 12: get_readings at >= 100 M
-- readings). One row per (machine, minute, layout version, process) holding, per layout position,
-- the minute's min, max, sum and count of the non-null values, in the same layout as the
-- readings. get_readings reads them for every whole minute of a window whose bucket width is a
-- whole number of minutes, and the raw readings for the rest (the window's cut minutes at either
-- end, minutes not rolled up yet, minutes a late tick made stale): the answer is the one the raw
-- readings give.
--
-- Kept current by private.rollup_readings (pg_cron, every minute, where the extension exists;
-- anyone may call it, the demo too): closed minutes, i.e. older than the announced mark, then the
-- coarser levels of the buckets that closed (the `width` column and the levels are added by
-- 20261207100000_reading_rollup_levels.sql, which the job's body reads). A tick recorded into a
-- closed minute (a replayed backlog) marks its minute stale (private.reading_rollup_stale) in the
-- same statement that stores it (private.store_ticks, 20261204400200); the next run rebuilds that
-- minute, and until then get_readings reads the minute raw.
--
-- Why no tick is ever lost between a run and a concurrent recording: a recording holds a shared
-- advisory lock (ald-db.reading_rollups) from before it reads the announced mark until it
-- commits. A run rolls up [rolled_until, announced) only after taking and releasing that lock
-- exclusively, i.e. after every recording that might have read an older announced mark has
-- committed; recordings that read the current mark mark their closed minutes stale themselves.

create table private.reading_rollup_state (
  id boolean primary key default true check (id),
  rolled_until timestamptz not null default '-infinity',
  announced timestamptz not null default '-infinity' check (announced >= rolled_until),
  last_run_at timestamptz
);
comment on table private.reading_rollup_state is 'The one row of the rollup job''s progress (private.rollup_readings). Not exposed to the API.';
comment on column private.reading_rollup_state.id is 'Always true: the table holds one row.';
comment on column private.reading_rollup_state.rolled_until is 'Every minute before this is in public.reading_rollups (except the minutes listed in private.reading_rollup_stale).';
comment on column private.reading_rollup_state.announced is 'The next run rolls up [rolled_until, announced). A tick recorded before announced marks its minute stale.';
comment on column private.reading_rollup_state.last_run_at is 'When private.rollup_readings last ran.';
insert into private.reading_rollup_state default values;
revoke all on private.reading_rollup_state from public, anon, authenticated, service_role;

create table private.reading_rollup_stale (
  id bigint generated always as identity primary key,
  machine_id uuid not null references public.machines (id) on delete cascade,
  minute timestamptz not null,
  marked_at timestamptz not null default now()
);
comment on table private.reading_rollup_stale is 'Minutes whose rollup is missing or stale because a tick was recorded into them after they closed (a replayed backlog). A minute may be listed more than once. get_readings reads them raw; private.rollup_readings rebuilds them and removes the rows it saw.';
comment on column private.reading_rollup_stale.id is 'Surrogate key (a minute may be listed more than once).';
comment on column private.reading_rollup_stale.machine_id is 'The machine.';
comment on column private.reading_rollup_stale.minute is 'Start of the stale minute.';
comment on column private.reading_rollup_stale.marked_at is 'When the late tick was recorded.';
create index reading_rollup_stale_machine_id_minute_idx on private.reading_rollup_stale (machine_id, minute);
revoke all on private.reading_rollup_stale from public, anon, authenticated, service_role;

create table public.reading_rollups (
  id bigint generated always as identity primary key,
  machine_id uuid not null,
  bucket timestamptz not null check (bucket = pg_catalog.date_trunc('minute', bucket)),
  layout_version integer not null,
  process_id uuid references public.process_executions (id) on delete set null,
  ticks integer not null check (ticks > 0),
  mins double precision[] not null,
  maxs double precision[] not null,
  sums double precision[] not null,
  counts integer[] not null,
  foreign key (machine_id, layout_version) references public.reading_layouts (machine_id, version) on delete cascade
) with (toast_tuple_target = 8160);
-- The four arrays stay in the row (uncompressed: float noise does not compress) so that a chart
-- reads one heap tuple per minute instead of one per array from TOAST.
alter table public.reading_rollups alter column mins set storage main, alter column maxs set storage main,
  alter column sums set storage main, alter column counts set storage main;
comment on table public.reading_rollups is 'Per-minute rollups of public.readings, one row per (machine, minute, layout version, process) with ticks: per layout position the minute''s min, max, sum and count of non-null values. Written by private.rollup_readings only; read by get_readings for the whole minutes of a window. RLS: viewers read their machines.';
comment on column public.reading_rollups.id is 'Surrogate key.';
comment on column public.reading_rollups.machine_id is 'The machine.';
comment on column public.reading_rollups.bucket is 'Start of the minute (UTC, whole minute).';
comment on column public.reading_rollups.layout_version is 'Layout version of the minute''s ticks: positions of the arrays as in public.readings.';
comment on column public.reading_rollups.process_id is 'The process of those ticks; null outside runs.';
comment on column public.reading_rollups.ticks is 'How many ticks the row sums up.';
comment on column public.reading_rollups.mins is 'Per layout position the smallest non-null value (null: none).';
comment on column public.reading_rollups.maxs is 'Per layout position the largest non-null value (null: none).';
comment on column public.reading_rollups.sums is 'Per layout position the sum of the non-null values (null: none).';
comment on column public.reading_rollups.counts is 'Per layout position the number of non-null values.';
create index reading_rollups_machine_id_bucket_idx on public.reading_rollups (machine_id, bucket);
create index reading_rollups_machine_id_layout_version_idx on public.reading_rollups (machine_id, layout_version);
create index reading_rollups_process_id_idx on public.reading_rollups (process_id);

alter table public.reading_rollups enable row level security;
create policy reading_rollups_viewer_select on public.reading_rollups for select to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('viewer'))::uuid[]));
revoke all on public.reading_rollups from public, anon, authenticated;
grant select on public.reading_rollups to authenticated;
grant all on public.reading_rollups to service_role;

-- What get_readings (security invoker) needs of the private bookkeeping: the end of the rolled-up
-- time and the stale minutes of one machine in a range.
create function private.reading_rollup_coverage(machine_id uuid, lo timestamptz, hi timestamptz,
  out rolled_until timestamptz, out stale timestamptz[])
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select s.rolled_until,
         coalesce((select array_agg(distinct x.minute order by x.minute) from private.reading_rollup_stale x
                   where x.machine_id = reading_rollup_coverage.machine_id and x.minute >= lo and x.minute < hi), '{}')
  from private.reading_rollup_state s
$$;
comment on function private.reading_rollup_coverage(uuid, timestamptz, timestamptz) is
  'For get_readings: the end of the rolled-up time (private.reading_rollup_state.rolled_until) and the stale minutes of the machine in [lo, hi). Reveals no readings.';
revoke execute on function private.reading_rollup_coverage(uuid, timestamptz, timestamptz) from public, anon;
grant execute on function private.reading_rollup_coverage(uuid, timestamptz, timestamptz) to authenticated, service_role;

create function private.rollup_readings()
returns integer
language plpgsql
volatile
-- definer: writes public.reading_rollups and the private bookkeeping, which no API role may.
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  st private.reading_rollup_state;
  k bigint := pg_catalog.hashtextextended('ald-db.reading_rollups', 0);
  sm uuid[];
  st_minutes timestamptz[];
  n integer;
  total integer := 0;
  lvl record;
  lo timestamptz;
  hi timestamptz;
  ms uuid[];
  bs timestamptz[];
begin
  -- one run at a time (a second caller waits, then finds nothing left to do)
  select * into st from private.reading_rollup_state for update;
  -- every recording that may have read an older announced mark has committed after this
  perform pg_catalog.pg_advisory_lock(k);
  perform pg_catalog.pg_advisory_unlock(k);

  -- stale minutes already rolled up are rebuilt (the ones after rolled_until are in the range)
  with d as (delete from private.reading_rollup_stale x returning x.machine_id, x.minute)
  select coalesce(array_agg(d2.machine_id), '{}'), coalesce(array_agg(d2.minute), '{}') into sm, st_minutes
  from (select distinct d.machine_id, d.minute from d where d.minute < st.rolled_until) d2;
  delete from public.reading_rollups r using unnest(sm, st_minutes) u(m, t)
  where r.machine_id = u.m and r.width = 60 and r.bucket = u.t;

  insert into public.reading_rollups (machine_id, width, bucket, layout_version, process_id, ticks, mins, maxs, sums, counts)
  select g.machine_id, 60, g.bucket, g.layout_version, g.process_id, max(g.n),
         array_agg(g.mn order by g.pos), array_agg(g.mx order by g.pos), array_agg(g.sm order by g.pos),
         array_agg(g.ct order by g.pos)
  from (
    select s.machine_id, pg_catalog.date_trunc('minute', s.ts) as bucket, s.layout_version, s.process_id, u.pos,
           min(u.v) as mn, max(u.v) as mx, sum(u.v) as sm, count(u.v)::integer as ct, count(*)::integer as n
    from (
      select r.machine_id, r.ts, r.layout_version, r.process_id, r.vals from public.readings r
      where r.ts >= st.rolled_until and r.ts < st.announced
      union all
      select r.machine_id, r.ts, r.layout_version, r.process_id, r.vals
      from unnest(sm, st_minutes) u(m, t)
      cross join lateral (select * from public.readings r
                          where r.machine_id = u.m and r.ts >= u.t and r.ts < u.t + interval '1 minute') r
    ) s
    cross join lateral unnest(s.vals) with ordinality as u(v, pos)
    group by 1, 2, 3, 4, 5
  ) g
  group by g.machine_id, g.bucket, g.layout_version, g.process_id;
  get diagnostics n = row_count;
  total := n;

  -- The coarser levels, finest first: the buckets that closed with this run (their end in
  -- (rolled_until, announced]), and the already built buckets holding a rebuilt stale minute.
  if isfinite(st.announced) then
    for lvl in select * from private.rollup_levels() loop
      lo := case when isfinite(st.rolled_until)
                 then pg_catalog.date_bin(pg_catalog.make_interval(secs => lvl.width), st.rolled_until, timestamptz '1970-01-01 00:00:00+00')
                 else '-infinity' end;
      hi := pg_catalog.date_bin(pg_catalog.make_interval(secs => lvl.width), st.announced, timestamptz '1970-01-01 00:00:00+00');
      if lo < hi then
        total := total + private.rollup_level(lvl.width, lvl.source, lo, hi);
      end if;
      select coalesce(array_agg(u.m), '{}'), coalesce(array_agg(u.b), '{}') into ms, bs
      from (select u.m, pg_catalog.date_bin(pg_catalog.make_interval(secs => lvl.width), u.t, timestamptz '1970-01-01 00:00:00+00') as b
            from unnest(sm, st_minutes) u(m, t)) u
      where u.b < lo;
      if cardinality(ms) > 0 then
        total := total + private.rollup_level(lvl.width, lvl.source, null, null, ms, bs);
      end if;
    end loop;
  end if;

  -- Minutes before the new mark close: recordings from now on mark ticks before it stale; the
  -- next run rolls them up. One minute of grace for ticks a little behind the server clock.
  update private.reading_rollup_state
    set rolled_until = st.announced,
        announced = greatest(st.announced, pg_catalog.date_trunc('minute', now() - interval '1 minute')),
        last_run_at = now();
  return total;
end;
$$;
comment on function private.rollup_readings() is
  'Rolls up the closed minutes of public.readings into public.reading_rollups: [rolled_until, announced) of private.reading_rollup_state, and rebuilds the stale minutes; then the coarser levels (private.rollup_levels) of the buckets that closed, and of the rebuilt minutes; then announces the minutes closed since. Returns the rollup rows written. Scheduled every minute by pg_cron where available (job ald-db-rollup-readings); anyone with execute (service_role) may run it, e.g. without pg_cron. Idempotent.';
revoke execute on function private.rollup_readings() from public, anon, authenticated;
grant execute on function private.rollup_readings() to service_role;

-- The schedule, where pg_cron can be had (see 20261204400100). Nothing here may fail the migration.
do $$
begin
  if exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron') then
    begin
      perform cron.schedule('ald-db-rollup-readings', '* * * * *', 'select private.rollup_readings()');
    exception when others then
      raise notice 'pg_cron could not schedule private.rollup_readings (%): run it every minute yourself', sqlerrm;
    end;
  end if;
end $$;
