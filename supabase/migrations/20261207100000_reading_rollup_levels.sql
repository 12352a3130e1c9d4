-- Coarser rollup levels for the chart query (issue 12: 137 parameters x 24 hours -> 1000 points,
-- server time p95 <= 150 ms at >= 100 M readings).
--
-- Measured at 111.9 M readings: a day of 137 parameters read from the per-minute rollups into
-- 2-minute buckets is 197 000 unnested minute values hashed into 98 640 groups, then sorted:
-- ~200 ms however the statement is written (the grouping and the sort are each ~45 ms, the rest
-- is per-value overhead), and a 30-day window would unnest 43 200 minute rows. So the rollup job
-- now also keeps every bucket width of get_readings' ladder from 2 minutes to 1 day (the
-- `width` column; 60 = the minute rows as before), each built from the next finer level when
-- its bucket has closed. A chart then reads exactly one row per bucket of its width: 720 rows
-- for the day above, no grouping, one sort (~70 ms). Only the buckets the window cuts, the ones
-- not rolled up yet, the ones holding a stale minute, and the rare bucket holding more than one
-- row (a run or a layout change starting inside it) are still assembled from the minute rows
-- and the raw readings, as before.
--
-- Storage: every level together is ~0.93x the minute rows (1/2 + 1/5 + 1/10 + ... of them):
-- about half a byte per reading more (bench/bytes-per-reading.ts).
--
-- Here: the `width` column and its indexes, the levels (private.rollup_levels) and the function
-- that builds one (private.rollup_level), and the levels of what was rolled up before. The rollup
-- job that builds the levels every run is private.rollup_readings (20261204600000_reading_rollups
-- .sql); the chart query that reads them is get_readings (20261204400500_get_readings.sql).
--
-- Also: a BRIN index on readings (ts). The rollup job reads the closed minutes of every machine
-- by time; without it that was a scan of a whole (process_id, ts) index of the month's partition
-- every minute, growing with the month. BRIN is a few pages per partition.

alter table public.reading_rollups
  add column width integer not null default 60
    check (width in (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400));
alter table public.reading_rollups
  add constraint reading_rollups_bucket_aligned
    check (bucket = pg_catalog.date_bin(pg_catalog.make_interval(secs => width), bucket, timestamptz '1970-01-01 00:00:00+00'));
comment on column public.reading_rollups.width is 'Bucket width in seconds: 60 (the per-minute rows), or a coarser level of get_readings'' ladder (2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1 day) built from the next finer level once its bucket has closed. Buckets are aligned to the Unix epoch.';
comment on table public.reading_rollups is 'Rollups of public.readings, one row per (machine, width, bucket, layout version, process) with ticks: per layout position the bucket''s min, max, sum and count of non-null values. Widths: 1 minute, and the coarser levels of get_readings'' bucket ladder up to 1 day. Written by private.rollup_readings only; read by get_readings for the whole buckets of a window. RLS: viewers read their machines.';
comment on column public.reading_rollups.bucket is 'Start of the bucket (UTC, a multiple of width since the Unix epoch).';

-- One row per (machine, width, bucket, layout, process): also the lookup index of get_readings.
drop index public.reading_rollups_machine_id_bucket_idx;
create unique index reading_rollups_machine_id_width_bucket_key on public.reading_rollups
  (machine_id, width, bucket, layout_version, process_id) nulls not distinct;
-- the rollup job builds a level across machines by time
create index reading_rollups_width_bucket_idx on public.reading_rollups (width, bucket);

create index readings_ts_brin_idx on public.readings using brin (ts);

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

-- The levels of what is rolled up already.
do $$
declare
  until timestamptz := (select s.rolled_until from private.reading_rollup_state s);
  lvl record;
begin
  if isfinite(until) then
    for lvl in select * from private.rollup_levels() loop
      perform private.rollup_level(lvl.width, lvl.source, '-infinity',
        pg_catalog.date_bin(pg_catalog.make_interval(secs => lvl.width), until, timestamptz '1970-01-01 00:00:00+00'));
    end loop;
  end if;
end $$;
