-- Recording, always on: ticks of a machine whether or not a process runs, a whole tick or a
-- journalled backlog of ticks in one round trip. Idempotent on (machine, tick time): a retried or
-- replayed tick is stored once and raises nothing. The process of each tick is the machine's run
-- whose [started_at, ended_at] holds the tick time (set by the server), unless given.
--
-- private.store_readings does the work for record_readings and for the older
-- record_process_data (20261204400300), after each has checked its own arguments and the caller.

create function private.store_readings(
  machine_id uuid,
  process_id uuid,
  ts timestamptz[],
  parameter_ids uuid[],
  vals double precision[],
  set_points double precision[]
) returns table (ticks integer, readings integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  m uuid := store_readings.machine_id;
  wanted uuid[];
  lay record;
  cfg private.telemetry_settings;
  lo timestamptz;
  hi timestamptz;
  bad timestamptz;
begin
  -- The accepted tick time window (a security review finding: a tick at 2999 would be the
  -- machine's latest for ever, a tick at 1970 would land below every retention).
  select * into cfg from private.telemetry_settings;
  lo := now() - cfg.max_tick_age;
  hi := now() + cfg.max_tick_lead;
  select t into bad from unnest(store_readings.ts) t where t < lo or t > hi limit 1;
  if bad is not null then
    raise exception using errcode = '22023', message = 'tick time outside the accepted window',
      detail = format('tick at %s; accepted from %s to %s (now() - %s to now() + %s)', bad, lo, hi, cfg.max_tick_age, cfg.max_tick_lead),
      hint = 'check the controller clock; older backlogs than max_tick_age are refused (private.telemetry_settings)';
  end if;

  -- The machine's current layout, or a new version when the ticks carry a parameter it lacks.
  select array_agg(distinct x) into wanted from unnest(store_readings.parameter_ids) x;
  select l.version, l.parameter_ids into lay
  from public.reading_layouts l where l.machine_id = m order by l.version desc limit 1;
  if lay.version is null or not (lay.parameter_ids @> wanted) then
    -- one layout writer per machine at a time; the loser of a race finds the winner's version
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('ald-db.reading_layouts:' || m::text, 0));
    select l.version, l.parameter_ids into lay
    from public.reading_layouts l where l.machine_id = m order by l.version desc limit 1;
    if lay.version is null or not (lay.parameter_ids @> wanted) then
      insert into public.reading_layouts (machine_id, version, parameter_ids)
      select m, coalesce(lay.version, 0) + 1,
             -- the parameters still on the machine keep their order; new ones follow, as first sent
             coalesce((select array_agg(o.id order by o.pos) from unnest(lay.parameter_ids) with ordinality as o(id, pos)
                       where exists (select 1 from public.component_parameters p where p.id = o.id)), '{}')
             || coalesce((select array_agg(n.id order by n.first) from (
                  select x as id, min(pos) as first from unnest(store_readings.parameter_ids) with ordinality as u(x, pos)
                  where lay.version is null or not (x = any (lay.parameter_ids))
                  group by x) n), '{}')
      returning version, reading_layouts.parameter_ids into lay;
    end if;
  end if;

  return query
  with src as (
    select r.ts, r.pid, r.v, r.sp, r.ord
    from unnest(store_readings.ts, store_readings.parameter_ids, store_readings.vals, store_readings.set_points)
      with ordinality as r(ts, pid, v, sp, ord)
  ),
  -- of a (tick, parameter) sent twice in one call the first is kept
  dedup as (select distinct on (s.ts, s.pid) s.ts, s.pid, s.v, s.sp from src s order by s.ts, s.pid, s.ord),
  pos as (select u.id, u.pos from unnest(lay.parameter_ids) with ordinality as u(id, pos)),
  tick as (
    select t.ts,
           array_agg(d.v order by p.pos) as vals,
           array_agg(d.sp order by p.pos) as sps,
           bool_or(d.sp is not null) as has_sp,
           count(d.pid)::integer as n
    from (select distinct d0.ts from dedup d0) t
    cross join pos p
    left join dedup d on d.ts = t.ts and d.pid = p.id
    group by t.ts
  ),
  ins as (
    -- key order: two calls carrying some of the same ticks wait for each other instead of deadlocking
    insert into public.readings as r (machine_id, ts, layout_version, process_id, vals, set_points)
    select m, t.ts, lay.version,
           coalesce(store_readings.process_id,
                    (select e.id from public.process_executions e
                     where e.machine_id = m and e.started_at <= t.ts and (e.ended_at is null or e.ended_at >= t.ts)
                     order by e.started_at desc limit 1)),
           t.vals, case when t.has_sp then t.sps end
    from tick t
    order by t.ts
    on conflict do nothing
    returning r.ts, r.process_id, r.vals, r.set_points
  ),
  newest as (select i.* from ins i order by i.ts desc limit 1),
  latest as (
    insert into public.latest_readings as x (machine_id, ts, layout_version, parameter_ids, process_id, vals, set_points, updated_at)
    select m, n.ts, lay.version, lay.parameter_ids, n.process_id, n.vals, n.set_points, now() from newest n
    on conflict on constraint latest_readings_pkey do update
      set ts = excluded.ts, layout_version = excluded.layout_version, parameter_ids = excluded.parameter_ids,
          process_id = excluded.process_id, vals = excluded.vals, set_points = excluded.set_points, updated_at = excluded.updated_at
      where x.ts < excluded.ts
    returning 1
  )
  select count(*)::integer, coalesce(sum(t.n), 0)::integer
  from ins i join tick t on t.ts = i.ts;
end;
$$;
comment on function private.store_readings(uuid, uuid, timestamptz[], uuid[], double precision[], double precision[]) is
  'Stores readings given as parallel arrays (one element per reading) as one public.readings row per new tick, in the machine''s layout (a new layout version when needed), and moves public.latest_readings forward. Ticks outside private.telemetry_settings'' time window raise 22023. Callers check their arguments and the caller''s role first. Returns the new ticks and the readings they hold.';
revoke execute on function private.store_readings(uuid, uuid, timestamptz[], uuid[], double precision[], double precision[]) from public, anon, authenticated, service_role;

-- Error codes: 22004 null machine_id; 22023 multi-dimensional arrays, null or repeated
-- parameter ids, null or infinite timestamps, tick times outside the accepted window, values not
-- ticks x parameters long, set_points of another length, NaN/infinite numbers, more than 100000
-- readings, parameters not on the machine, a process of another machine; P0002 unknown machine or
-- process; 42501 caller may not operate the machine; 55000 ticks after the end of the given process.
create function public.record_readings(
  machine_id uuid,
  parameter_ids uuid[],
  "values" double precision[],
  timestamps timestamptz[] default null,
  set_points double precision[] default null,
  process_id uuid default null
) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  np integer := coalesce(cardinality(parameter_ids), 0);
  nt integer := coalesce(cardinality(timestamps), 1);
  pe record;
  unknown uuid;
  stored record;
begin
  if machine_id is null then
    raise exception using errcode = '22004', message = 'machine_id is required';
  end if;
  if coalesce(array_ndims(parameter_ids), 1) > 1 or coalesce(array_ndims("values"), 1) > 1
     or coalesce(array_ndims(timestamps), 1) > 1 or coalesce(array_ndims(set_points), 1) > 1 then
    raise exception using errcode = '22023', message = 'arrays must be one-dimensional',
      detail = format('dimensions: parameter_ids %s, values %s, timestamps %s, set_points %s',
        coalesce(array_ndims(parameter_ids), 1), coalesce(array_ndims("values"), 1),
        coalesce(array_ndims(timestamps), 1), coalesce(array_ndims(set_points), 1)),
      hint = 'values are flat: tick by tick, each tick in the order of parameter_ids';
  end if;
  if np::bigint * nt > 100000 then
    raise exception using errcode = '22023', message = 'too many readings in one call',
      detail = format('%s ticks x %s parameters, the limit is 100000 readings', nt, np), hint = 'send the backlog in several calls';
  end if;
  if array_position(parameter_ids, null) is not null then
    raise exception using errcode = '22023', message = 'parameter_ids must not contain null',
      detail = format('null at position %s', array_position(parameter_ids, null));
  end if;
  if (select count(distinct x) from unnest(parameter_ids) x) <> np then
    raise exception using errcode = '22023', message = 'parameter_ids must not repeat a parameter',
      detail = format('%s ids, %s distinct', np, (select count(distinct x) from unnest(parameter_ids) x)),
      hint = 'one column per parameter: each tick carries each parameter once';
  end if;
  if timestamps is not null and array_position(timestamps, null) is not null then
    raise exception using errcode = '22023', message = 'timestamps must not contain null',
      detail = format('null at position %s', array_position(timestamps, null));
  end if;
  if timestamps is not null and exists (select 1 from unnest(timestamps) t where not isfinite(t)) then
    raise exception using errcode = '22023', message = 'timestamps must be finite',
      detail = 'infinity and -infinity are not times at which the PLC was read';
  end if;
  if coalesce(cardinality("values"), 0) <> np * nt then
    raise exception using errcode = '22023', message = 'values must hold one value per parameter per tick',
      detail = format('%s ticks x %s parameters = %s values expected, got %s', nt, np, np * nt, coalesce(cardinality("values"), 0)),
      hint = 'values are flat: tick by tick, each tick in the order of parameter_ids; null where the PLC had no reading';
  end if;
  if set_points is not null and cardinality(set_points) <> np * nt then
    raise exception using errcode = '22023', message = 'set_points must have as many elements as values',
      detail = format('values has %s elements, set_points has %s', np * nt, cardinality(set_points));
  end if;
  if exists (select 1 from unnest("values") v where v in ('NaN', 'Infinity', '-Infinity'))
     or exists (select 1 from unnest(set_points) v where v in ('NaN', 'Infinity', '-Infinity')) then
    raise exception using errcode = '22023', message = 'values and set_points must be finite numbers or null',
      hint = 'send null for a reading the PLC could not provide';
  end if;

  if not exists (select 1 from public.machines m where m.id = record_readings.machine_id) then
    raise exception using errcode = 'P0002', message = 'machine not found',
      detail = format('no machine %s', record_readings.machine_id);
  end if;
  if not private.has_machine_role(record_readings.machine_id, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('recording on machine %s needs the operator role', record_readings.machine_id);
  end if;
  select u.id into unknown
  from unnest(parameter_ids) u(id)
  where not exists (
    select 1 from public.component_parameters p where p.id = u.id and p.machine_id = record_readings.machine_id)
  limit 1;
  if unknown is not null then
    raise exception using errcode = '22023', message = 'parameter does not belong to the machine',
      detail = format('parameter %s is not a parameter of machine %s', unknown, record_readings.machine_id);
  end if;
  if process_id is not null then
    select e.id, e.machine_id, e.status, e.ended_at into pe
    from public.process_executions e where e.id = record_readings.process_id;
    if not found then
      raise exception using errcode = 'P0002', message = 'process not found',
        detail = format('no process execution %s', record_readings.process_id);
    end if;
    if pe.machine_id <> record_readings.machine_id then
      raise exception using errcode = '22023', message = 'process runs on another machine',
        detail = format('process %s runs on machine %s, not %s', pe.id, pe.machine_id, record_readings.machine_id),
        hint = 'leave process_id null: the server finds the machine''s running process';
    end if;
    if pe.status <> 'running' and coalesce((select max(t) from unnest(timestamps) t), now()) > pe.ended_at then
      raise exception using errcode = '55000', message = 'process is not running',
        detail = format('process %s is %s since %s; ticks after that are refused', pe.id, pe.status, pe.ended_at),
        hint = 'leave process_id null to record ticks outside runs';
    end if;
  end if;

  if np = 0 then
    return 0;
  end if;

  select * into stored from private.store_readings(
    record_readings.machine_id, record_readings.process_id,
    (select array_agg(coalesce(timestamps[(i - 1) / np + 1], now()) order by i) from generate_series(1, np * nt) i),
    (select array_agg(parameter_ids[(i - 1) % np + 1] order by i) from generate_series(1, np * nt) i),
    "values",
    coalesce(set_points, array_fill(null::double precision, array[np * nt])));
  return stored.ticks;
end;
$$;
comment on function public.record_readings(uuid, uuid[], double precision[], timestamptz[], double precision[], uuid) is
  'Records ticks of a machine in one round trip, with or without a running process: parameter_ids once, values (and optional set_points) flat, tick by tick in the order of parameter_ids; timestamps one per tick (null: one tick at now()). Idempotent on (machine, tick time): a retried tick is stored once and raises nothing. The process of a tick is the machine''s run holding its time, unless process_id is given. Returns the number of new ticks. Errors: 22004, 22023, P0002, 42501, 55000.';
revoke execute on function public.record_readings(uuid, uuid[], double precision[], timestamptz[], double precision[], uuid) from public, anon;
grant execute on function public.record_readings(uuid, uuid[], double precision[], timestamptz[], double precision[], uuid) to authenticated, service_role;
