-- The chart query: readings of some parameters of a machine over a window [from_ts, to_ts), at
-- most max_points points per parameter, in one round trip. When the window holds at most
-- max_points ticks the raw points come back (min = max = mean = the value, samples 1); otherwise
-- each non-empty bucket gives its time, min, max (spikes a plain average hides), mean and number
-- of samples. Null readings are skipped. security invoker: RLS decides (a viewer of the machine
-- reads it). stable: callable with GET.
--
-- Buckets are aligned to the Unix epoch with a width from a fixed ladder (1 ms .. 1 day, then days
-- doubling): the narrowest that gives at most max_points buckets, so that every bucket of a minute
-- or more is made of whole minutes. Whole buckets come from the rollups (public.reading_rollups,
-- 20261204400150: one row per minute, and one per bucket of every coarser width of the ladder up
-- to a day), read from the level of the bucket's width; the rest from
-- public.readings (the window's cut buckets, minutes not rolled up yet, stale minutes, buckets
-- holding more than one row of their level), with the answer reading everything raw gives.
--
-- Error codes: 22004 null machine_id; 22023 null or repeated parameter ids, more than 1000 of
-- them, a window that is null, infinite or empty, max_points outside 1..10000; P0002 machine
-- unknown or not visible to the caller.

create function public.get_readings(
  machine_id uuid,
  parameter_ids uuid[],
  from_ts timestamptz,
  to_ts timestamptz,
  max_points integer,
  process_id uuid default null
)
returns table (parameter_id uuid, ts timestamptz, min_value double precision, max_value double precision,
               mean_value double precision, samples integer)
language plpgsql
stable
security invoker
set search_path = pg_catalog, pg_temp
-- a day of 137 parameters is ~100 000 rows: sorted in memory, not on disk
set work_mem = '64MB'
-- the planner's row estimates for unnest are far too high: it would JIT-compile (~30 ms) and
-- start parallel workers (~20 ms) for statements that take a few tens of milliseconds
set jit = off
set max_parallel_workers_per_gather = 0
as $$
declare
  m uuid := get_readings.machine_id;
  ticks bigint;
  width double precision;
  lvl integer;
  picked text;
  positions text;
  cols text;
  cov record;
  cov_lo timestamptz;
  cov_hi timestamptz;
  mid_lo timestamptz;
  mid_hi timestamptz;
  step interval;
  stale_b timestamptz[];
  dup_b timestamptz[] := '{}';
  minute_ranges tstzrange[];
  raw_ranges tstzrange[];
  e double precision;
  ladder double precision[] := array[0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30,
    60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
begin
  if m is null then
    raise exception using errcode = '22004', message = 'machine_id is required';
  end if;
  if coalesce(array_ndims(parameter_ids), 1) > 1 or array_position(parameter_ids, null) is not null then
    raise exception using errcode = '22023', message = 'parameter_ids must be a one-dimensional array without nulls';
  end if;
  if cardinality(parameter_ids) > 1000 then
    raise exception using errcode = '22023', message = 'too many parameters',
      detail = format('got %s, the limit is 1000', cardinality(parameter_ids)), hint = 'split the parameters into several calls';
  end if;
  if (select count(distinct x) from unnest(parameter_ids) x) <> coalesce(cardinality(parameter_ids), 0) then
    raise exception using errcode = '22023', message = 'parameter_ids must not repeat a parameter';
  end if;
  if from_ts is null or to_ts is null or not isfinite(from_ts) or not isfinite(to_ts) or from_ts >= to_ts then
    raise exception using errcode = '22023', message = 'the window must be finite and from_ts before to_ts',
      detail = format('from_ts %s, to_ts %s', from_ts, to_ts), hint = 'the window is [from_ts, to_ts)';
  end if;
  if max_points is null or max_points < 1 or max_points > 10000 then
    raise exception using errcode = '22023', message = 'max_points must be between 1 and 10000',
      detail = format('got %s', max_points);
  end if;
  if not exists (select 1 from public.machines x where x.id = m) then
    perform private.raise_error('P0002', 'machine not found', format('no machine %s visible to the caller', m), 'the caller needs at least the viewer role on the machine');
  end if;
  if coalesce(cardinality(parameter_ids), 0) = 0 then
    return;
  end if;

  -- Per layout version holding any of the parameters, the requested values as one small array in
  -- the order of parameter_ids: array[r.vals[3], r.vals[17], null, ...]. Written into the query
  -- as constant subscripts (integers only), so each tick's values are picked without a subplan.
  -- '@' stands for the array read (vals of a reading, mins/maxs/sums/counts of a rollup), '#T#' for
  -- its element type.
  select 'case x.layout_version ' || string_agg(format('when %s then array[%s]::#T#[]', l.version,
           (select string_agg(coalesce('x.@[' || array_position(l.parameter_ids, q.pid) || ']', 'null'), ', ' order by q.ord)
            from unnest(get_readings.parameter_ids) with ordinality as q(pid, ord))), ' ') || ' end'
  into picked
  from public.reading_layouts l
  where l.machine_id = m and l.parameter_ids && get_readings.parameter_ids;
  if picked is null then
    return;
  end if;
  -- A rollup row's columns after its bucket: `map` (position in the layout -> position in
  -- parameter_ids, 0: not asked for) and per position mn, mx, sm, ct and pos; o = map[pos], or pos
  -- when the arrays were picked in the order of parameter_ids already (map null). For many
  -- parameters the arrays are unnested whole and mapped (cheaper than four arrays of subscripts).
  if cardinality(parameter_ids) >= 16 then
    select 'case x.layout_version ' || string_agg(format('when %s then %L::integer[]', l.version,
             (select array_agg(coalesce(array_position(get_readings.parameter_ids, p.id), 0) order by p.pos)
              from unnest(l.parameter_ids) with ordinality as p(id, pos))), ' ') || ' end'
    into positions
    from public.reading_layouts l
    where l.machine_id = m and l.parameter_ids && get_readings.parameter_ids;
    cols := format('%s as map, unnest(x.mins) as mn, unnest(x.maxs) as mx, unnest(x.sums) as sm, unnest(x.counts) as ct,
                    generate_subscripts(x.mins, 1) as pos', positions);
  else
    cols := format('null::integer[] as map, unnest(%s) as mn, unnest(%s) as mx, unnest(%s) as sm, unnest(%s) as ct,
                    generate_subscripts(%s, 1) as pos',
      replace(replace(picked, '@', 'mins'), '#T#', 'double precision'), replace(replace(picked, '@', 'maxs'), '#T#', 'double precision'),
      replace(replace(picked, '@', 'sums'), '#T#', 'double precision'), replace(replace(picked, '@', 'counts'), '#T#', 'integer'),
      replace(replace(picked, '@', 'counts'), '#T#', 'integer'));
  end if;

  -- The whole minutes of the window that are rolled up and not stale: [cov_lo, cov_hi) less the
  -- stale minutes. Everything else of the window is read raw, range by range.
  cov_lo := date_trunc('minute', from_ts);
  if cov_lo < from_ts then
    cov_lo := cov_lo + interval '1 minute';
  end if;
  select * into cov from private.reading_rollup_coverage(m, cov_lo, date_trunc('minute', to_ts));
  cov_hi := greatest(cov_lo, least(date_trunc('minute', to_ts), cov.rolled_until));
  if cov_hi = cov_lo then
    raw_ranges := array[tstzrange(from_ts, to_ts)];
  else
    raw_ranges := array[tstzrange(from_ts, cov_lo), tstzrange(cov_hi, to_ts)]
      || array(select tstzrange(s, s + interval '1 minute') from unnest(cov.stale) s where s >= cov_lo and s < cov_hi);
  end if;

  if cov_hi = cov_lo then
    select count(*) into ticks from public.readings x
    where x.machine_id = m and x.ts >= from_ts and x.ts < to_ts
      and (get_readings.process_id is null or x.process_id = get_readings.process_id);
  else
    -- executed with the window's bounds as values, so that the partitions outside it are pruned
    -- when the statement is planned (no scan of them, not even of an empty one)
    execute
      'select coalesce((select sum(x.ticks) from public.reading_rollups x
                        where x.machine_id = $1 and x.width = 60 and x.bucket >= $4 and x.bucket < $5 and not (x.bucket = any ($6))
                          and ($7::uuid is null or x.process_id = $7)), 0)
            + (select count(*) from unnest($8::tstzrange[]) g(rg)
               cross join lateral (select 1 from public.readings r
                                   where r.machine_id = $1 and r.ts >= $2 and r.ts < $3
                                     and r.ts >= lower(g.rg) and r.ts < upper(g.rg)
                                     and ($7::uuid is null or r.process_id = $7)) r
               where not isempty(g.rg))'
      into ticks
      using m, from_ts, to_ts, cov_lo, cov_hi, cov.stale, get_readings.process_id, raw_ranges;
  end if;
  if ticks = 0 then
    return;
  end if;

  if ticks <= max_points then
    return query execute format(
      'select ($4::uuid[])[u.o::integer], y.ts, u.v, u.v, u.v, 1
       from (select x.ts, %s as v from public.readings x
             where x.machine_id = $1 and x.ts >= $2 and x.ts < $3 and ($5::uuid is null or x.process_id = $5)) y
       cross join lateral unnest(y.v) with ordinality as u(v, o)
       where u.v is not null
       order by u.o, y.ts', replace(replace(picked, '@', 'vals'), '#T#', 'double precision'))
      using m, from_ts, to_ts, parameter_ids, get_readings.process_id;
    return;
  end if;

  -- Buckets of a fixed width from the ladder (then whole days doubling), aligned to the Unix
  -- epoch: the narrowest width whose buckets touching the window are at most max_points. The
  -- first and last bucket may be cut by the window; a bucket's time is its start, or from_ts
  -- for the first one when the window cuts it.
  e := date_part('epoch', from_ts);
  foreach width in array ladder loop
    exit when floor(date_part('epoch', to_ts - interval '1 microsecond') / width) - floor(e / width) + 1 <= max_points;
  end loop;
  while floor(date_part('epoch', to_ts - interval '1 microsecond') / width) - floor(e / width) + 1 > max_points loop
    width := width * 2;
  end loop;
  if width < 60 or cov_hi = cov_lo then
    -- buckets narrower than a minute, or nothing rolled up in the window: everything raw
    return query execute format(
      'select ($4::uuid[])[u.o::integer], greatest(to_timestamp(y.b * $6), $2), min(u.v), max(u.v), avg(u.v), count(u.v)::integer
       from (select floor(date_part(''epoch'', x.ts) / $6)::bigint as b, %s as v
             from public.readings x
             where x.machine_id = $1 and x.ts >= $2 and x.ts < $3 and ($5::uuid is null or x.process_id = $5)) y
       cross join lateral unnest(y.v) with ordinality as u(v, o)
       where u.v is not null
       group by u.o, y.b
       order by u.o, y.b', replace(replace(picked, '@', 'vals'), '#T#', 'double precision'))
      using m, from_ts, to_ts, parameter_ids, get_readings.process_id, width;
    return;
  end if;

  -- The whole buckets of the width inside the rolled-up minutes, [mid_lo, mid_hi), come from the
  -- coarsest level that divides the width (lvl; usually the width itself): one row per bucket,
  -- unnested as it is. The rest is assembled per bucket from the minute rows (lvl 60) and raw
  -- ticks: the minutes of [cov_lo, mid_lo) and [mid_hi, cov_hi), the buckets holding a stale
  -- minute, and the level rows of buckets with more than one row (a run or a layout change
  -- starting inside), or all of them when the width is a multiple of lvl (widths over a day).
  step := make_interval(secs => width);
  -- every width of the ladder from a minute to a day is a level (private.rollup_levels, or the
  -- minutes); wider buckets are whole days, grouped from the 1-day level
  lvl := least(width, 86400)::integer;
  mid_lo := date_bin(step, cov_lo - interval '1 microsecond', timestamptz '1970-01-01 00:00:00+00') + step;
  mid_hi := date_bin(step, cov_hi, timestamptz '1970-01-01 00:00:00+00');
  if mid_hi <= mid_lo then
    mid_lo := cov_lo;
    mid_hi := cov_lo;
  end if;
  stale_b := array(select distinct date_bin(step, s, timestamptz '1970-01-01 00:00:00+00') from unnest(cov.stale) s
                   where s >= mid_lo and s < mid_hi);
  minute_ranges := array[tstzrange(cov_lo, mid_lo), tstzrange(mid_hi, cov_hi)]
    || array(select tstzrange(b, b + step) from unnest(stale_b) b);
  if lvl = width and mid_hi > mid_lo then
    execute 'select coalesce(array_agg(y.bucket), ''{}'') from (
               select x.bucket from public.reading_rollups x
               where x.machine_id = $1 and x.width = $2 and x.bucket >= $3 and x.bucket < $4
                 and ($5::uuid is null or x.process_id = $5)
               group by x.bucket having count(*) > 1) y'
      into dup_b using m, lvl, mid_lo, mid_hi, get_readings.process_id;
  end if;

  return query execute format(
    'select z.pid, z.ts, z.mn, z.mx, z.mean, z.ct
     from (
       -- assembled buckets
       select g.o, ($4::uuid[])[g.o] as pid, greatest(to_timestamp(g.b * $6), $2) as ts, min(g.mn) as mn, max(g.mx) as mx,
              sum(g.sm) / sum(g.ct) as mean, sum(g.ct)::integer as ct
       from (
         select s.b, coalesce(s.map[s.pos], s.pos) as o, s.mn, s.mx, s.sm, s.ct
         from (select floor(date_part(''epoch'', x.bucket) / $6)::bigint as b, %1$s
               from unnest($11::tstzrange[]) rg(r)
               cross join lateral (select * from public.reading_rollups x
                                   where x.machine_id = $1 and x.width = 60 and x.bucket >= $7 and x.bucket < $8
                                     and x.bucket >= lower(rg.r) and x.bucket < upper(rg.r)
                                     and not (x.bucket = any ($9)) and ($5::uuid is null or x.process_id = $5)) x
               where not isempty(rg.r)) s
         where s.ct > 0 and coalesce(s.map[s.pos], s.pos) > 0
         union all
         select s.b, coalesce(s.map[s.pos], s.pos) as o, s.mn, s.mx, s.sm, s.ct
         from (select floor(date_part(''epoch'', x.bucket) / $6)::bigint as b, %1$s
               from public.reading_rollups x
               where x.machine_id = $1 and x.width = $12 and x.bucket >= $13 and x.bucket < $14
                 and not (x.bucket = any ($15)) and ($12 <> $6 or x.bucket = any ($16))
                 and ($5::uuid is null or x.process_id = $5)) s
         where s.ct > 0 and coalesce(s.map[s.pos], s.pos) > 0
         union all
         select t.b, t.o, t.v, t.v, t.v, 1
         from (select floor(date_part(''epoch'', y.ts) / $6)::bigint as b, unnest(y.v) as v, generate_subscripts(y.v, 1) as o
               from (select x.ts, %2$s as v
                     from unnest($10::tstzrange[]) rg(r)
                     cross join lateral (select * from public.readings x
                                         where x.machine_id = $1 and x.ts >= $2 and x.ts < $3
                                           and x.ts >= lower(rg.r) and x.ts < upper(rg.r)
                                           and ($5::uuid is null or x.process_id = $5)) x
                     where not isempty(rg.r)
                     offset 0) y) t
         where t.v is not null
       ) g
       group by g.o, g.b
       union all
       -- whole buckets of one level row each
       select s.o, ($4::uuid[])[s.o], s.bucket, s.mn, s.mx, s.sm / s.ct, s.ct
       from (select t.bucket, coalesce(t.map[t.pos], t.pos) as o, t.mn, t.mx, t.sm, t.ct
             from (select x.bucket, %1$s
                   from public.reading_rollups x
                   where x.machine_id = $1 and x.width = $12 and $12 = $6 and x.bucket >= $13 and x.bucket < $14
                     and not (x.bucket = any ($15)) and not (x.bucket = any ($16))
                     and ($5::uuid is null or x.process_id = $5)) t) s
       where s.ct > 0 and s.o > 0
     ) z
     order by z.o, z.ts',
     cols, replace(replace(picked, '@', 'vals'), '#T#', 'double precision'))
    using m, from_ts, to_ts, parameter_ids, get_readings.process_id, width, cov_lo, cov_hi, cov.stale, raw_ranges,
          minute_ranges, lvl, mid_lo, mid_hi, stale_b, dup_b;
end;
$$;
comment on function public.get_readings(uuid, uuid[], timestamptz, timestamptz, integer, uuid) is
  'Chart query: per parameter at most max_points points over [from_ts, to_ts) of the machine (of one of its runs when process_id is given): the raw points when the window holds at most max_points ticks (min = max = mean = value, samples 1), else one row per non-empty bucket with its time (start, or from_ts where the window cuts the first bucket), min, max, mean and sample count. Buckets are the narrowest width of 1 ms, 2, 5, 10, 20, 50, 100, 200, 500 ms, 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1 day, then whole days doubling, aligned to the Unix epoch, that gives at most max_points buckets; whole buckets come from public.reading_rollups (the level of that width, or minutes), the rest from public.readings, with the result of reading everything raw. Ordered by the order of parameter_ids, then time. Errors: 22004, 22023, P0002 (machine unknown or not visible).';
revoke execute on function public.get_readings(uuid, uuid[], timestamptz, timestamptz, integer, uuid) from public, anon;
grant execute on function public.get_readings(uuid, uuid[], timestamptz, timestamptz, integer, uuid) to authenticated, service_role;
