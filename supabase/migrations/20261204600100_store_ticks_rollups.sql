-- Recording marks the minutes a late tick lands in as stale for the rollups (20261204600000):
-- private.store_ticks as in 20261204400200, plus a shared advisory lock held until commit and the
-- insert into private.reading_rollup_stale of the closed minutes it stored ticks into. Live ticks
-- (in the open minutes) pay one lock and the read of one row.

create or replace function private.store_ticks(
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

  -- Rollups (20261204600000): held until commit, so that the rollup job waits for this tick
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
