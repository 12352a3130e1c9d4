-- Rollups of public.readings for the chart query (issue 12: get_readings at >= 100 M readings).
-- One row per (machine, width, bucket, layout version, process) holding, per layout position, the
-- bucket's min, max, sum and count of the non-null values, in the same layout as the readings.
-- width 60: the minutes; the coarser levels are every bucket width of get_readings' ladder from 2
-- minutes to 1 day, each built from the next finer level once its bucket has closed. get_readings
-- (20261204400500) reads the whole buckets of a window from the level of its width and the rest
-- (the window's cut buckets, minutes not rolled up yet, minutes a late tick made stale, buckets
-- holding more than one row) from the minutes and the raw readings: the answer is the one the raw
-- readings give.
--
-- Why levels, measured at 111.9 M readings: a day of 137 parameters read from the per-minute rows
-- into 2-minute buckets is 197 000 unnested minute values hashed into 98 640 groups, then sorted:
-- ~200 ms however the statement is written (the grouping and the sort ~45 ms each, the rest
-- per-value overhead), and a 30-day window would unnest 43 200 minute rows. From the level of its
-- width a chart reads one row per bucket: 720 rows for that day, no grouping, one sort (~85 ms).
-- Storage: every level together is ~0.93x the minute rows (1/2 + 1/5 + 1/10 + ... of them), about
-- 1 byte a reading in all (bench/bytes-per-reading.ts, bench/scale-check.ts).
--
-- Kept current by private.rollup_readings (pg_cron, every minute, where the extension exists,
-- which 20261204400100 creates; anyone may call it, the demo too): closed minutes, i.e. older than
-- the announced mark, then the coarser levels of the buckets that closed. A tick recorded into a
-- closed minute (a replayed backlog) marks its minute stale (private.reading_rollup_stale) in the
-- same statement that stores it (private.store_ticks, 20261204400200); the next run rebuilds that
-- minute and the level buckets holding it, and until then get_readings reads the minute raw.
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
  foreign key (machine_id, layout_version) references public.reading_layouts (machine_id, version) on delete cascade,
  width integer not null default 60
    check (width in (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)),
  constraint reading_rollups_bucket_aligned
    check (bucket = pg_catalog.date_bin(pg_catalog.make_interval(secs => width), bucket, timestamptz '1970-01-01 00:00:00+00'))
) with (toast_tuple_target = 8160);
-- The four arrays stay in the row (uncompressed: float noise does not compress) so that a chart
-- reads one heap tuple per minute instead of one per array from TOAST.
alter table public.reading_rollups alter column mins set storage main, alter column maxs set storage main,
  alter column sums set storage main, alter column counts set storage main;
comment on table public.reading_rollups is 'Rollups of public.readings, one row per (machine, width, bucket, layout version, process) with ticks: per layout position the bucket''s min, max, sum and count of non-null values. Widths: 1 minute, and the coarser levels of get_readings'' bucket ladder up to 1 day. Written by private.rollup_readings only; read by get_readings for the whole buckets of a window. RLS: viewers read their machines.';
comment on column public.reading_rollups.id is 'Surrogate key.';
comment on column public.reading_rollups.machine_id is 'The machine.';
comment on column public.reading_rollups.bucket is 'Start of the bucket (UTC, a multiple of width since the Unix epoch).';
comment on column public.reading_rollups.layout_version is 'Layout version of the minute''s ticks: positions of the arrays as in public.readings.';
comment on column public.reading_rollups.process_id is 'The process of those ticks; null outside runs.';
comment on column public.reading_rollups.ticks is 'How many ticks the row sums up.';
comment on column public.reading_rollups.mins is 'Per layout position the smallest non-null value (null: none).';
comment on column public.reading_rollups.maxs is 'Per layout position the largest non-null value (null: none).';
comment on column public.reading_rollups.sums is 'Per layout position the sum of the non-null values (null: none).';
comment on column public.reading_rollups.counts is 'Per layout position the number of non-null values.';
comment on column public.reading_rollups.width is 'Bucket width in seconds: 60 (the per-minute rows), or a coarser level of get_readings'' ladder (2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1 day) built from the next finer level once its bucket has closed. Buckets are aligned to the Unix epoch.';
-- One row per (machine, width, bucket, layout, process): also the lookup index of get_readings.
create unique index reading_rollups_machine_id_width_bucket_key on public.reading_rollups
  (machine_id, width, bucket, layout_version, process_id) nulls not distinct;
-- the rollup job builds a level across machines by time
create index reading_rollups_width_bucket_idx on public.reading_rollups (width, bucket);
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

-- The levels, each with the level it is built from.
create function private.rollup_levels(out width integer, out source integer)
returns setof record
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  values (120, 60), (300, 60), (600, 300), (900, 300), (1800, 900), (3600, 1800), (7200, 3600),
         (10800, 3600), (21600, 10800), (43200, 21600), (86400, 43200)
$$;
comment on function private.rollup_levels() is 'The coarser rollup levels of public.reading_rollups (width in seconds) and the finer level each is built from, finest first.';
revoke execute on function private.rollup_levels() from public, anon, authenticated;
grant execute on function private.rollup_levels() to service_role;

-- Builds level w from level src: every machine's buckets in [lo, hi) (ms null), or the listed
-- (machine, bucket) pairs, which are rebuilt (their old rows deleted first).
create function private.rollup_level(w integer, src integer, lo timestamptz, hi timestamptz,
  ms uuid[] default null, bs timestamptz[] default null)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  step interval := pg_catalog.make_interval(secs => w);
  n integer;
begin
  if ms is not null then
    select coalesce(array_agg(d.m), '{}'), coalesce(array_agg(d.b), '{}') into ms, bs
    from (select distinct u.m, u.b from unnest(ms, bs) u(m, b)) d;
    delete from public.reading_rollups r using unnest(ms, bs) u(m, b)
    where r.machine_id = u.m and r.width = w and r.bucket = u.b;
  end if;
  insert into public.reading_rollups (machine_id, width, bucket, layout_version, process_id, ticks, mins, maxs, sums, counts)
  select g.machine_id, w, g.b, g.layout_version, g.process_id, max(g.n),
         array_agg(g.mn order by g.pos), array_agg(g.mx order by g.pos), array_agg(g.sm order by g.pos),
         array_agg(g.ct order by g.pos)
  from (
    select s.machine_id, s.b, s.layout_version, s.process_id, u.pos,
           min(u.mn) as mn, max(u.mx) as mx, sum(u.sm) as sm, sum(u.ct)::integer as ct, sum(s.ticks)::integer as n
    from (
      select x.machine_id, pg_catalog.date_bin(step, x.bucket, timestamptz '1970-01-01 00:00:00+00') as b,
             x.layout_version, x.process_id, x.ticks, x.mins, x.maxs, x.sums, x.counts
      from public.reading_rollups x
      where ms is null and x.width = src and x.bucket >= lo and x.bucket < hi
      union all
      select x.machine_id, u.b, x.layout_version, x.process_id, x.ticks, x.mins, x.maxs, x.sums, x.counts
      from unnest(ms, bs) u(m, b)
      cross join lateral (select * from public.reading_rollups x
                          where x.machine_id = u.m and x.width = src and x.bucket >= u.b and x.bucket < u.b + step) x
      where ms is not null
    ) s
    cross join lateral unnest(s.mins, s.maxs, s.sums, s.counts) with ordinality as u(mn, mx, sm, ct, pos)
    group by 1, 2, 3, 4, 5
  ) g
  group by g.machine_id, g.b, g.layout_version, g.process_id;
  get diagnostics n = row_count;
  return n;
end;
$$;
comment on function private.rollup_level(integer, integer, timestamptz, timestamptz, uuid[], timestamptz[]) is
  'For private.rollup_readings: builds the rollup level of width w from the level of width src, for every machine''s buckets in [lo, hi), or rebuilds the listed (machine, bucket) pairs. Returns the rows written.';
revoke execute on function private.rollup_level(integer, integer, timestamptz, timestamptz, uuid[], timestamptz[]) from public, anon, authenticated;
grant execute on function private.rollup_level(integer, integer, timestamptz, timestamptz, uuid[], timestamptz[]) to service_role;

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
