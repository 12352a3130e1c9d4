-- An idle controller (no run, recorder stopped) stays alive with an explicit heartbeat; a busy one
-- never needs it (every claim and step is a heartbeat). Tells a controller that
-- was declared dead or replaced (RC005) so that it stops driving the machine.

create function public.controller_heartbeat(controller_id uuid)
returns public.controllers
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  k public.controllers;
begin
  if controller_heartbeat.controller_id is null then
    raise exception using errcode = '22004', message = 'controller_id is required';
  end if;
  select * into k from public.controllers x where x.id = controller_heartbeat.controller_id for update;
  if not found then
    perform private.raise_error('P0002', 'controller not found', format('no controller %s', controller_heartbeat.controller_id), 'register with register_controller first');
  end if;
  if not private.has_machine_role(k.machine_id, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('a heartbeat of controller %s needs the operator role on machine %s', k.id, k.machine_id);
  end if;
  if k.status <> 'alive' then
    raise exception using errcode = 'RC005', message = 'controller is not alive',
      detail = format('controller %s is %s since %s: %s', k.id, k.status, k.ended_at, coalesce(k.ended_reason, '')),
      hint = 'stop driving the machine; register again (takeover => true if another controller is alive)';
  end if;
  update public.controllers x set last_seen_at = greatest(x.last_seen_at, now())
  where x.id = k.id and x.status = 'alive'
  returning * into k;
  return k;
end;
$$;
comment on function public.controller_heartbeat(uuid) is
  'Controller: moves its last_seen_at to now and returns its row; needed only while it makes no other call. Errors: 22004, P0002 (unknown controller), 42501, RC005 (declared dead or replaced).';
revoke execute on function public.controller_heartbeat(uuid) from public, anon;
grant execute on function public.controller_heartbeat(uuid) to authenticated, service_role;
