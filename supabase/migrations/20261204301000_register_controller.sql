-- A controller announces itself when it starts. One controller per machine at a time: a second one
-- is refused (RC004) unless it takes over explicitly, which marks the first replaced and re-queues
-- its claimed commands. Registering
-- on a machine left in error or offline by a lost controller, with no open run, makes it idle.
-- A retry with the same controller_id returns the same registration.

create function public.register_controller(
  machine_id uuid,
  host text default null,
  version text default null,
  takeover boolean default false,
  timeout_ms integer default 30000,
  controller_id uuid default null
) returns public.controllers
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  m public.machines;
  mine public.controllers;
  current_one public.controllers;
begin
  if register_controller.machine_id is null then
    raise exception using errcode = '22004', message = 'machine_id is required';
  end if;
  if register_controller.timeout_ms is null or register_controller.timeout_ms not between 1000 and 3600000 then
    raise exception using errcode = '22023', message = 'timeout_ms must be between 1000 and 3600000',
      detail = format('got %s', coalesce(register_controller.timeout_ms::text, 'null'));
  end if;
  if length(register_controller.host) > 255 or length(register_controller.version) > 100 then
    raise exception using errcode = '22023', message = 'host or version is too long',
      detail = 'host is at most 255 characters, version at most 100';
  end if;
  if not private.has_machine_role(register_controller.machine_id, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('registering a controller needs the operator role on machine %s', register_controller.machine_id);
  end if;
  -- Locks in the order the dead-controller job takes them: the live controller, then the machine.
  select * into current_one from public.controllers k
  where k.machine_id = register_controller.machine_id and k.status = 'alive' for update;
  select * into m from public.machines x where x.id = register_controller.machine_id for update;
  if not found then
    perform private.raise_error('P0002', 'machine not found', format('no machine %s', register_controller.machine_id));
  end if;
  -- Registrations of one machine queue on the machine: read the live controller again, so that
  -- one registered while this call waited is seen (RC004) instead of breaking the unique index.
  select * into current_one from public.controllers k
  where k.machine_id = m.id and k.status = 'alive' for update;

  if register_controller.controller_id is not null then
    select * into mine from public.controllers k where k.id = register_controller.controller_id;
    if found then
      if mine.machine_id <> m.id then
        raise exception using errcode = '23505', message = 'controller_id is registered for another machine',
          detail = format('controller %s drives machine %s', mine.id, mine.machine_id);
      end if;
      if mine.status <> 'alive' then
        raise exception using errcode = 'RC005', message = 'controller is not alive',
          detail = format('controller %s is %s since %s: %s', mine.id, mine.status, mine.ended_at, coalesce(mine.ended_reason, '')),
          hint = 'register again with a new controller_id (and takeover => true if another controller is alive)';
      end if;
      update public.controllers k set last_seen_at = now() where k.id = mine.id returning * into mine;
      return mine;
    end if;
  end if;

  if current_one.id is not null and current_one.status = 'alive' and not register_controller.takeover then
    raise exception using errcode = 'RC004', message = 'the machine has a live controller',
      detail = format('controller %s on %s (version %s) registered at %s, last seen at %s',
                      current_one.id, coalesce(current_one.host, 'an unknown host'), coalesce(current_one.version, 'unknown'),
                      current_one.started_at, current_one.last_seen_at),
      hint = 'stop that controller, wait until it is declared dead, or register with takeover => true';
  end if;
  if current_one.id is not null then
    update public.controllers k set status = 'replaced', ended_at = now(),
      ended_reason = format('taken over by a controller on %s', coalesce(register_controller.host, 'an unknown host'))
    where k.id = current_one.id;
  end if;

  insert into public.controllers (id, machine_id, host, version, timeout_ms)
  values (coalesce(register_controller.controller_id, gen_random_uuid()), m.id, register_controller.host,
          register_controller.version, register_controller.timeout_ms)
  returning * into mine;
  if current_one.id is not null then
    update public.controllers k set replaced_by = mine.id where k.id = current_one.id;
    -- Its claims go to the new controller (failed after the third claim).
    update public.recipe_commands c set status = 'pending'
    where c.controller_id = current_one.id and c.status = 'claimed' and c.attempts < 3;
    update public.recipe_commands c set status = 'failed',
      error_message = format('claimed %s times; its controller %s was taken over', c.attempts, current_one.id)
    where c.controller_id = current_one.id and c.status = 'claimed';
  end if;

  if m.status in ('error', 'offline') and m.current_process_id is null
     and m.status_reason like 'controller lost%' then
    update public.machines x set status = 'idle', status_reason = null where x.id = m.id;
  end if;
  return mine;
end;
$$;
comment on function public.register_controller(uuid, text, text, boolean, integer, uuid) is
  'Controller: registers itself as the machine''s one live controller and returns its controllers row (keep its id for controller_heartbeat). A machine left in error or offline by a lost controller, with no open run, becomes idle. A takeover marks the previous controller replaced and re-queues its claimed commands (failed after 3 claims). A retry with the same controller_id returns the same row. Errors: 22004, 22023 (timeout_ms outside 1000..3600000, host/version too long), P0002, 42501, 23505 (controller_id of another machine), RC004 (another controller is alive: pass takeover => true to replace it), RC005 (controller_id is dead or replaced).';
revoke execute on function public.register_controller(uuid, text, text, boolean, integer, uuid) from public, anon;
grant execute on function public.register_controller(uuid, text, text, boolean, integer, uuid) to authenticated, service_role;
