-- The controller's side of the setpoint queue, part 1: claim every open request of a machine in one
-- round trip.
--
-- Returns every pending request of the machine (one per parameter: the latest, older ones are
-- superseded when a newer one is made), plus every claimed request whose claim timed out (the
-- controller that claimed it died between claim and ack: it is delivered again), and marks them
-- claimed until now() + claim_timeout_seconds. A parameter with a request in flight (claimed, not
-- timed out) gets nothing new until that one is acked, so the PLC sees writes in request order. A
-- timed-out request that a newer one replaced meanwhile is superseded, not delivered.
-- Claims of one machine are serialised (a transaction-level advisory lock), so two controllers of
-- the same machine never both get one request.
--
-- Errors: 22004 null machine_id; 22023 claim_timeout_seconds outside 1..3600; P0002 unknown machine;
-- 42501 the caller may not operate the machine.

create function public.claim_setpoint_requests(
  machine_id uuid,
  claimed_by text default null,
  claim_timeout_seconds integer default 30
) returns table (
  request_id uuid,
  parameter_id uuid,
  value double precision,
  version bigint,
  source public.change_source,
  reason text,
  requested_by uuid,
  created_at timestamptz,
  claim_count integer,
  claim_expires_at timestamptz,
  parameter_name text,
  component_id uuid,
  data_type public.parameter_data_type,
  write_modbus_address integer,
  write_modbus_type public.modbus_register_type,
  modbus_value_type public.modbus_value_type,
  operand text
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
  m uuid := claim_setpoint_requests.machine_id;
  who text;
begin
  if m is null then
    raise exception using errcode = '22004', message = 'machine_id is required';
  end if;
  if claim_setpoint_requests.claim_timeout_seconds is null
     or claim_setpoint_requests.claim_timeout_seconds not between 1 and 3600 then
    raise exception using errcode = '22023', message = 'claim_timeout_seconds must be between 1 and 3600',
      detail = format('got %s', coalesce(claim_setpoint_requests.claim_timeout_seconds::text, 'null')),
      hint = 'the default, 30 s, re-delivers a request 30 s after a controller died holding it';
  end if;
  if not exists (select 1 from public.machines x where x.id = m) then
    perform private.raise_error('P0002', 'machine not found', format('no machine %s', m));
  end if;
  if not private.has_machine_role(m, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('claiming setpoint requests needs the operator role on machine %s', m);
  end if;
  who := coalesce(left(claim_setpoint_requests.claimed_by, 200), private.change_role());

  -- One claimer per machine at a time; every statement below sees what the previous claimer committed.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('ald_setpoint_claim:' || m::text, 0));

  -- A timed-out claim that a newer pending request replaced: superseded, never delivered.
  update public.setpoint_requests r
  set status = 'superseded',
      superseded_by = (select q.id from public.setpoint_requests q where q.parameter_id = r.parameter_id and q.status = 'pending')
  where r.machine_id = m and r.status = 'claimed' and r.claim_expires_at <= now()
    and exists (select 1 from public.setpoint_requests q where q.parameter_id = r.parameter_id and q.status = 'pending');

  return query
    with open_ as (
      select r.id
      from public.setpoint_requests r
      where r.machine_id = m
        and (r.status = 'pending' or (r.status = 'claimed' and r.claim_expires_at <= now()))
        -- nothing new for a parameter whose request is in flight
        and not exists (
          select 1 from public.setpoint_requests f
          where f.parameter_id = r.parameter_id and f.status = 'claimed' and f.claim_expires_at > now())
      order by r.created_at, r.id
      for update skip locked
    ), claimed as (
      update public.setpoint_requests r
      set status = 'claimed',
          claimed_at = now(),
          claimed_by = who,
          claim_expires_at = now() + make_interval(secs => claim_setpoint_requests.claim_timeout_seconds),
          claim_count = r.claim_count + 1
      from open_
      where r.id = open_.id
      returning r.*
    )
    select c.id, c.parameter_id, c.value, c.version, c.source, c.reason, c.requested_by, c.created_at,
           c.claim_count, c.claim_expires_at,
           p.name, p.component_id, p.data_type, p.write_modbus_address, p.write_modbus_type, p.modbus_value_type, p.operand
    from claimed c
    join public.component_parameters p on p.id = c.parameter_id
    order by c.created_at, c.id;
end;
$$;
comment on function public.claim_setpoint_requests(uuid, text, integer) is
  'Claims, in one round trip, every open setpoint request of the machine: the latest pending request of each parameter and every claim that timed out (re-delivery), except for parameters with a request in flight; marks them claimed until now() + claim_timeout_seconds (default 30) and returns them with the parameter''s name, type and write address. Serialised per machine, so no request is claimed by two controllers. Errors: 22004 null machine_id, 22023 claim_timeout_seconds outside 1..3600, P0002 unknown machine, 42501 caller may not operate it.';
revoke execute on function public.claim_setpoint_requests(uuid, text, integer) from public, anon;
grant execute on function public.claim_setpoint_requests(uuid, text, integer) to authenticated, service_role;
