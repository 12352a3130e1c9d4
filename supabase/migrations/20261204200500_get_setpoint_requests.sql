-- What a UI shows of the setpoint queue: the open requests of a machine (pending or in flight to the
-- PLC), and with include_closed the latest closed ones too. security invoker: RLS decides.

create function public.get_setpoint_requests(machine_id uuid, include_closed boolean default false, max_rows integer default 100)
returns setof public.setpoint_requests
language plpgsql
stable
security invoker
set search_path = pg_catalog, pg_temp
as $$
begin
  if get_setpoint_requests.machine_id is null then
    raise exception using errcode = '22004', message = 'machine_id is required';
  end if;
  if get_setpoint_requests.max_rows is null or get_setpoint_requests.max_rows not between 1 and 10000 then
    raise exception using errcode = '22023', message = 'max_rows must be between 1 and 10000',
      detail = format('got %s', coalesce(get_setpoint_requests.max_rows::text, 'null'));
  end if;
  if not exists (select 1 from public.machines m where m.id = get_setpoint_requests.machine_id) then
    perform private.raise_error('P0002', 'machine not found', format('no machine %s visible to the caller', get_setpoint_requests.machine_id));
  end if;
  return query
    select r.* from public.setpoint_requests r
    where r.machine_id = get_setpoint_requests.machine_id
      and (coalesce(get_setpoint_requests.include_closed, false) or r.status in ('pending', 'claimed'))
    order by r.created_at desc, r.id
    limit get_setpoint_requests.max_rows;
end;
$$;
comment on function public.get_setpoint_requests(uuid, boolean, integer) is
  'The open (pending or claimed) setpoint requests of a machine, newest first; with include_closed also applied, failed and superseded ones; at most max_rows (default 100). Errors: 22004 null machine_id, 22023 max_rows outside 1..10000, P0002 unknown or invisible machine.';
revoke execute on function public.get_setpoint_requests(uuid, boolean, integer) from public, anon;
grant execute on function public.get_setpoint_requests(uuid, boolean, integer) to authenticated, service_role;
