-- Recording, always on: ticks of a machine whether or not a process runs, a whole tick or a
-- journalled backlog of ticks in one round trip. Idempotent on (machine, tick time): a retried or
-- replayed tick is stored once and raises nothing. The process of each tick is the machine's run
-- whose [started_at, ended_at] holds the tick time (set by the server), unless given.
--
-- private.store_ticks does the work for record_readings and for the older record_process_data
-- (20261126001200), after each has checked its own arguments and the caller. It works on the
-- rectangular form (nt ticks x np parameters, flat, tick by tick): when the parameters are the
-- machine's current layout, which is what a recorder sends every second, each tick's arrays are
-- slices of the input and nothing is unnested. It also keeps the rollups (20261204400150) true: a
-- shared advisory lock held until commit, and a tick stored into a minute the rollup job has
-- closed (a replayed backlog) marks that minute stale in private.reading_rollup_stale. Live ticks
-- (in the open minutes) pay one lock and the read of one row.

create function private.store_ticks(
  machine_id uuid,
  process_id uuid,
  timestamps timestamptz[],
  parameter_ids uuid[],
  vals double precision[],
  set_points double precision[]
) returns setof timestamptz
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  m uuid := store_ticks.machine_id;
  np integer := cardinality(parameter_ids);
  nt integer := cardinality(timestamps);
  cfg private.telemetry_settings;
  first_ts timestamptz;
  last_ts timestamptz;
  lay record;
  unknown uuid;
  closed_before timestamptz;
  idx integer[];
begin
  -- The accepted tick time window (a security review finding: a tick at 2999 would be the
  -- machine's latest for ever, a tick at 1970 would land below every retention).
  select * into cfg from private.telemetry_settings;
  select min(t), max(t) into first_ts, last_ts from unnest(timestamps) t;
  if first_ts < now() - cfg.max_tick_age or last_ts > now() + cfg.max_tick_lead then
    raise exception using errcode = '22023', message = 'tick time outside the accepted window',
      detail = format('ticks from %s to %s; accepted from %s to %s (now() - %s to now() + %s)', first_ts, last_ts,
        now() - cfg.max_tick_age, now() + cfg.max_tick_lead, cfg.max_tick_age, cfg.max_tick_lead),
      hint = 'check the controller clock; backlogs older than max_tick_age are refused (private.telemetry_settings)';
  end if;

  -- Rollups (20261204400150): held until commit, so that the rollup job waits for this tick
  -- before it rolls up a minute this call may have read as open.
  perform pg_catalog.pg_advisory_xact_lock_shared(pg_catalog.hashtextextended('ald-db.reading_rollups', 0));
  select s.announced into closed_before from private.reading_rollup_state s;

  -- The machine's current layout, or a new version when the ticks carry a parameter it lacks.
  select l.version, l.parameter_ids into lay
  from public.reading_layouts l where l.machine_id = m order by l.version desc limit 1;
  -- A layout has no repeated parameter, so ticks in exactly its order need no further check.
  if lay.parameter_ids is distinct from parameter_ids
     and (select count(distinct x) from unnest(parameter_ids) x) <> np then
    raise exception using errcode = '22023', message = 'parameter_ids must not repeat a parameter',
      detail = format('%s ids, %s distinct', np, (select count(distinct x) from unnest(parameter_ids) x)),
      hint = 'one column per parameter: each tick carries each parameter once';
  end if;
  if lay.version is null or not (lay.parameter_ids @> parameter_ids) then
    -- Parameters the layout has were checked when it was made; new ones are checked now.
    select u.id into unknown from unnest(parameter_ids) u(id)
    where not (u.id = any (coalesce(lay.parameter_ids, '{}')))
      and not exists (select 1 from public.component_parameters p where p.id = u.id and p.machine_id = m)
    limit 1;
    if unknown is not null then
      raise exception using errcode = '22023', message = 'parameter does not belong to the machine',
        detail = format('parameter %s is not a parameter of machine %s', unknown, m);
    end if;
    -- one layout writer per machine at a time; the loser of a race finds the winner's version
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('ald-db.reading_layouts:' || m::text, 0));
    select l.version, l.parameter_ids into lay
    from public.reading_layouts l where l.machine_id = m order by l.version desc limit 1;
    if lay.version is null or not (lay.parameter_ids @> parameter_ids) then
      insert into public.reading_layouts as l (machine_id, version, parameter_ids)
      select m, coalesce(lay.version, 0) + 1,
             -- the parameters still on the machine keep their order; new ones follow, as sent
             coalesce((select array_agg(o.id order by o.pos) from unnest(lay.parameter_ids) with ordinality as o(id, pos)
                       where exists (select 1 from public.component_parameters p where p.id = o.id)), '{}')
             || coalesce((select array_agg(n.id order by n.pos) from unnest(parameter_ids) with ordinality as n(id, pos)
                          where not (n.id = any (coalesce(lay.parameter_ids, '{}')))), '{}')
      returning l.version, l.parameter_ids into lay;
    end if;
  end if;
  if lay.parameter_ids is distinct from parameter_ids then
    -- position in the input of each layout position (null: the ticks do not carry it)
    idx := array(select array_position(parameter_ids, l.id) from unnest(lay.parameter_ids) with ordinality as l(id, pos) order by l.pos);
  end if;

  -- Ticks in key order: two calls carrying some of the same ticks wait for each other instead of
  -- deadlocking. Of a tick sent twice in one call the first is kept.
  return query
  with ins as (
    insert into public.readings as r (machine_id, ts, layout_version, process_id, vals, set_points)
    select m, timestamps[k], lay.version,
           coalesce(store_ticks.process_id,
                    (select e.id from public.process_executions e
                     where e.machine_id = m and e.started_at <= timestamps[k] and (e.ended_at is null or e.ended_at >= timestamps[k])
                     order by e.started_at desc limit 1)),
           case when idx is null then vals[(k - 1) * np + 1 : k * np]
                else array(select vals[(k - 1) * np + i] from unnest(idx) with ordinality as x(i, o) order by o) end,
           case when set_points is null then null
                when idx is null then set_points[(k - 1) * np + 1 : k * np]
                else array(select set_points[(k - 1) * np + i] from unnest(idx) with ordinality as x(i, o) order by o) end
    from generate_series(1, nt) k
    order by timestamps[k], k
    on conflict do nothing
    returning r.ts, r.layout_version, r.process_id, r.vals, r.set_points
  ),
  -- The latest readings move forward (never back: a replayed backlog is older).
  latest as (
    insert into public.latest_readings as x (machine_id, ts, layout_version, process_id, vals, set_points, updated_at)
    select m, i.ts, i.layout_version, i.process_id, i.vals, i.set_points, now()
    from ins i order by i.ts desc limit 1
    on conflict on constraint latest_readings_pkey do update
      set ts = excluded.ts, layout_version = excluded.layout_version, process_id = excluded.process_id,
          vals = excluded.vals, set_points = excluded.set_points, updated_at = excluded.updated_at
      where x.ts < excluded.ts
  ),
  -- A tick stored into a minute the rollup job has closed marks the minute stale.
  stale as (
    insert into private.reading_rollup_stale (machine_id, minute)
    select distinct m, pg_catalog.date_trunc('minute', i.ts) from ins i where i.ts < closed_before
  )
  select i.ts from ins i;
end;
$$;
comment on function private.store_ticks(uuid, uuid, timestamptz[], uuid[], double precision[], double precision[]) is
  'Stores nt ticks x np parameters (vals and set_points flat, tick by tick; set_points may be null) as one public.readings row per new tick in the machine''s layout (a new layout version when a parameter is new; new parameters must belong to the machine, else 22023), and moves public.latest_readings forward. Ticks outside private.telemetry_settings'' time window raise 22023. Callers check their arguments and the caller''s role first. A tick stored into a minute closed for the rollups marks it stale (private.reading_rollup_stale). Returns the times of the new ticks.';
revoke execute on function private.store_ticks(uuid, uuid, timestamptz[], uuid[], double precision[], double precision[]) from public, anon, authenticated, service_role;

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
  stored integer;
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
  if timestamps is not null and array_position(timestamps, null) is not null then
    raise exception using errcode = '22023', message = 'timestamps must not contain null',
      detail = format('null at position %s', array_position(timestamps, null));
  end if;
  if timestamps is not null and ('infinity' = any (timestamps) or '-infinity' = any (timestamps)) then
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
  if 'NaN' = any ("values") or 'Infinity' = any ("values") or '-Infinity' = any ("values")
     or 'NaN' = any (set_points) or 'Infinity' = any (set_points) or '-Infinity' = any (set_points) then
    raise exception using errcode = '22023', message = 'values and set_points must be finite numbers or null',
      hint = 'send null for a reading the PLC could not provide';
  end if;

  if not exists (select 1 from public.machines m where m.id = record_readings.machine_id) then
    perform private.raise_error('P0002', 'machine not found', format('no machine %s', record_readings.machine_id));
  end if;
  if not private.has_machine_role(record_readings.machine_id, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('recording on machine %s needs the operator role', record_readings.machine_id);
  end if;
  if process_id is not null then
    select e.id, e.machine_id, e.status, e.ended_at into pe
    from public.process_executions e where e.id = record_readings.process_id;
    if not found then
      perform private.raise_error('P0002', 'process not found', format('no process execution %s', record_readings.process_id));
    end if;
    if pe.machine_id <> record_readings.machine_id then
      raise exception using errcode = '22023', message = 'process runs on another machine',
        detail = format('process %s runs on machine %s, not %s', pe.id, pe.machine_id, record_readings.machine_id),
        hint = 'leave process_id null: the server finds the machine''s running process';
    end if;
    if pe.status <> 'running' and coalesce((select max(t) from unnest(timestamps) t), now()) > pe.ended_at then
      perform private.raise_error('55000', 'process is not running',
        format('process %s is %s since %s; ticks after that are refused', pe.id, pe.status, pe.ended_at),
        'leave process_id null to record ticks outside runs');
    end if;
  end if;

  if np = 0 then
    return 0;
  end if;

  select count(*) into stored from private.store_ticks(
    record_readings.machine_id, record_readings.process_id, coalesce(timestamps, array[now()]), parameter_ids, "values", set_points);
  return stored;
end;
$$;
comment on function public.record_readings(uuid, uuid[], double precision[], timestamptz[], double precision[], uuid) is
  'Records ticks of a machine in one round trip, with or without a running process: parameter_ids once, values (and optional set_points) flat, tick by tick in the order of parameter_ids; timestamps one per tick (null: one tick at now()). Idempotent on (machine, tick time): a retried tick is stored once and raises nothing. The process of a tick is the machine''s run holding its time, unless process_id is given. Returns the number of new ticks. Errors: 22004, 22023, P0002, 42501, 55000.';
revoke execute on function public.record_readings(uuid, uuid[], double precision[], timestamptz[], double precision[], uuid) from public, anon;
grant execute on function public.record_readings(uuid, uuid[], double precision[], timestamptz[], double precision[], uuid) to authenticated, service_role;
