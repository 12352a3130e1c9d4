-- The last tick of a machine, one row per parameter of its layout, in one round trip. Reads
-- public.latest_readings (kept current by the recording RPCs), never component_parameters.
-- security invoker: RLS decides (a viewer of the machine reads it). stable: callable with GET.
--
-- Error codes: 22004 null machine_id; P0002 machine unknown or not visible to the caller.

create function public.get_latest_readings(machine_id uuid)
returns table (parameter_id uuid, ts timestamptz, value double precision, set_point double precision, process_id uuid)
language plpgsql
stable
security invoker
set search_path = pg_catalog, pg_temp
as $$
begin
  if machine_id is null then
    raise exception using errcode = '22004', message = 'machine_id is required';
  end if;
  if not exists (select 1 from public.machines m where m.id = get_latest_readings.machine_id) then
    perform private.raise_error('P0002', 'machine not found', format('no machine %s visible to the caller', get_latest_readings.machine_id), 'the caller needs at least the viewer role on the machine');
  end if;
  return query
    select p.id, x.ts, x.vals[p.pos], x.set_points[p.pos], x.process_id
    from public.latest_readings x
    join public.reading_layouts l on l.machine_id = x.machine_id and l.version = x.layout_version
    cross join lateral unnest(l.parameter_ids) with ordinality as p(id, pos)
    where x.machine_id = get_latest_readings.machine_id
    order by p.pos;
end;
$$;
comment on function public.get_latest_readings(uuid) is
  'The machine''s last recorded tick: one row per parameter of its layout (in layout order) with the tick time, value, setpoint and process; nothing before the first tick. Errors: 22004 null machine_id, P0002 machine unknown or not visible to the caller.';
revoke execute on function public.get_latest_readings(uuid) from public, anon;
grant execute on function public.get_latest_readings(uuid) to authenticated, service_role;
