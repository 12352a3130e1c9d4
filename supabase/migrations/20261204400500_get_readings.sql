-- The chart query: readings of some parameters of a machine over a window [from_ts, to_ts), at
-- most max_points points per parameter, in one round trip. When the window holds at most
-- max_points ticks the raw points come back (min = max = mean = the value, samples 1); otherwise
-- the window is cut into max_points equal buckets and each non-empty bucket gives its start time,
-- min, max (spikes a plain average hides), mean and number of samples. Null readings are skipped.
-- security invoker: RLS decides (a viewer of the machine reads it). stable: callable with GET.
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
as $$
declare
  m uuid := get_readings.machine_id;
  ticks bigint;
  width double precision;
  picked text;
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

  select count(*) into ticks from public.readings r
  where r.machine_id = m and r.ts >= from_ts and r.ts < to_ts
    and (get_readings.process_id is null or r.process_id = get_readings.process_id);
  if ticks = 0 then
    return;
  end if;

  -- Per layout version holding any of the parameters, the requested values as one small array in
  -- the order of parameter_ids: array[r.vals[3], r.vals[17], null, ...]. Written into the query
  -- as constant subscripts (integers only), so each tick's values are picked without a subplan.
  select 'case r.layout_version ' || string_agg(format('when %s then array[%s]::double precision[]', l.version,
           (select string_agg(coalesce('r.vals[' || array_position(l.parameter_ids, q.pid) || ']', 'null'), ', ' order by q.ord)
            from unnest(get_readings.parameter_ids) with ordinality as q(pid, ord))), ' ') || ' end'
  into picked
  from public.reading_layouts l
  where l.machine_id = m and l.parameter_ids && get_readings.parameter_ids;
  if picked is null then
    return;
  end if;

  if ticks <= max_points then
    return query execute format(
      'select ($4::uuid[])[u.o::integer], x.ts, u.v, u.v, u.v, 1
       from (select r.ts, %s as v from public.readings r
             where r.machine_id = $1 and r.ts >= $2 and r.ts < $3 and ($5::uuid is null or r.process_id = $5)) x
       cross join lateral unnest(x.v) with ordinality as u(v, o)
       where u.v is not null
       order by u.o, x.ts', picked)
      using m, from_ts, to_ts, parameter_ids, get_readings.process_id;
    return;
  end if;

  width := extract(epoch from (to_ts - from_ts)) / max_points;
  return query execute format(
    'select ($4::uuid[])[u.o::integer], $2 + make_interval(secs => x.b * $6), min(u.v), max(u.v), avg(u.v), count(u.v)::integer
     from (select least(floor(date_part(''epoch'', r.ts - $2) / $6)::integer, $7 - 1) as b, %s as v
           from public.readings r
           where r.machine_id = $1 and r.ts >= $2 and r.ts < $3 and ($5::uuid is null or r.process_id = $5)) x
     cross join lateral unnest(x.v) with ordinality as u(v, o)
     where u.v is not null
     group by u.o, x.b
     order by u.o, x.b', picked)
    using m, from_ts, to_ts, parameter_ids, get_readings.process_id, width, max_points;
end;
$$;
comment on function public.get_readings(uuid, uuid[], timestamptz, timestamptz, integer, uuid) is
  'Chart query: per parameter at most max_points points over [from_ts, to_ts) of the machine (of one of its runs when process_id is given): the raw points when the window holds at most max_points ticks (min = max = mean = value, samples 1), else one row per non-empty bucket of (to_ts - from_ts) / max_points with its start time, min, max, mean and sample count. Ordered by the order of parameter_ids, then time. Errors: 22004, 22023, P0002 (machine unknown or not visible).';
revoke execute on function public.get_readings(uuid, uuid[], timestamptz, timestamptz, integer, uuid) from public, anon;
grant execute on function public.get_readings(uuid, uuid[], timestamptz, timestamptz, integer, uuid) to authenticated, service_role;
