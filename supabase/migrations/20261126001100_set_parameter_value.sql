-- Writing a setpoint: fetch, validate, update, audit and notify in one round trip.
--
-- Error codes (stable; also listed in the README):
--   22004  parameter_id or value is null
--   22023  value is NaN or infinite; a fraction for an integer parameter; not 0/1 for a binary one;
--          process_id not on the parameter's machine, step_execution_id not of process_id
--   22003  value outside [min_value, max_value]
--   P0002  no such parameter
--   42501  the caller may not operate the parameter's machine
--   55000  parameter not writable, parameter inactive, or component deactivated
--   40001  expected_version given and the parameter is at another version
--   23505  request_id already used for a change of another parameter
-- The version trigger bumps version, the audit trigger writes parameter_changes, and
-- ald_parameter_changes is notified at commit (20261126000600_parameter_versioning.sql).

-- The checks and the write, without the permission check: shared by set_parameter_value and
-- advance_step (which checks the caller's rights on the process's machine itself).
create function private.apply_setpoint(
  parameter_id uuid,
  value double precision,
  expected_version bigint,
  source public.change_source,
  reason text,
  process_id uuid,
  step_execution_id uuid,
  request_id uuid,
  check_operator boolean
) returns public.component_parameters
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  p public.component_parameters;
  result public.component_parameters;
begin
  if apply_setpoint.parameter_id is null then
    raise exception using errcode = '22004', message = 'parameter_id is required';
  end if;
  if apply_setpoint.value is null then
    raise exception using errcode = '22004', message = 'value is required';
  end if;
  if apply_setpoint.value in ('NaN', 'Infinity', '-Infinity') then
    raise exception using errcode = '22023', message = 'value must be a finite number',
      detail = format('got %s', apply_setpoint.value);
  end if;

  -- The row lock serialises concurrent writers: each sees the version the previous one left.
  select * into p from public.component_parameters cp where cp.id = apply_setpoint.parameter_id for update;
  if not found then
    perform private.raise_error('P0002',
      'parameter not found',
      format('no parameter %s', apply_setpoint.parameter_id));
  end if;
  if check_operator and not private.has_machine_role(p.machine_id, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('setting parameter %s needs the operator role on machine %s', p.id, p.machine_id);
  end if;
  -- A retried call (same request_id, same parameter) whose first attempt committed: return the
  -- row, write nothing. Only after the permission check, and only for the parameter the key was
  -- used on: a known key must not open another machine's row or skip the checks of a new write
  -- (a key reused on another parameter falls through, and its audit row then fails with 23505).
  if apply_setpoint.request_id is not null and exists (
    select 1 from public.parameter_changes c
    where c.request_id = apply_setpoint.request_id and c.parameter_id = p.id
  ) then
    return p;
  end if;
  if apply_setpoint.expected_version is not null and apply_setpoint.expected_version <> p.version then
    perform private.raise_error('40001',
      'parameter version conflict',
      format('expected version %s, the parameter is at version %s', apply_setpoint.expected_version, p.version),
      'read the parameter again and retry with its current version');
  end if;
  if not p.component_activated then
    perform private.raise_error('55000',
      'component is deactivated',
      format('parameter %s belongs to a deactivated component %s', p.id, p.component_id));
  end if;
  if not p.is_active then
    perform private.raise_error('55000',
      'parameter is inactive',
      format('parameter %s (%s) is inactive', p.id, p.name));
  end if;
  if not p.is_writable then
    perform private.raise_error('55000',
      'parameter is not writable',
      format('parameter %s (%s) is read-only', p.id, p.name));
  end if;
  if p.data_type = 'integer' and apply_setpoint.value <> trunc(apply_setpoint.value) then
    raise exception using errcode = '22023', message = 'value must be a whole number for an integer parameter',
      detail = format('got %s for %s', apply_setpoint.value, p.name);
  end if;
  if p.data_type = 'binary' and apply_setpoint.value not in (0, 1) then
    raise exception using errcode = '22023', message = 'value must be 0 or 1 for a binary parameter',
      detail = format('got %s for %s', apply_setpoint.value, p.name);
  end if;
  if apply_setpoint.value < p.min_value or apply_setpoint.value > p.max_value then
    perform private.raise_error('22003',
      'value out of range',
      format('%s is outside [%s, %s] for %s', apply_setpoint.value,
        coalesce(p.min_value::text, '-inf'), coalesce(p.max_value::text, 'inf'), p.name));
  end if;

  -- The audit's process/step context must be true: a process of this machine, a step of that process.
  if apply_setpoint.process_id is not null and not exists (
    select 1 from public.process_executions e where e.id = apply_setpoint.process_id and e.machine_id = p.machine_id
  ) then
    raise exception using errcode = '22023', message = 'process_id is not a process of the parameter''s machine',
      detail = format('process %s does not run on machine %s', apply_setpoint.process_id, p.machine_id);
  end if;
  if apply_setpoint.step_execution_id is not null and not exists (
    select 1 from public.step_executions x
    where x.id = apply_setpoint.step_execution_id and x.process_id = apply_setpoint.process_id
  ) then
    raise exception using errcode = '22023', message = 'step_execution_id is not a step of process_id',
      detail = format('step execution %s does not belong to process %s', apply_setpoint.step_execution_id,
                      coalesce(apply_setpoint.process_id::text, 'null'));
  end if;

  -- Context for the audit trigger, transaction-local.
  perform set_config('ald.change_source', coalesce(apply_setpoint.source, 'api')::text, true);
  perform set_config('ald.change_reason', coalesce(left(apply_setpoint.reason, 1000), ''), true);
  perform set_config('ald.change_process_id', coalesce(apply_setpoint.process_id::text, ''), true);
  perform set_config('ald.change_step_execution_id', coalesce(apply_setpoint.step_execution_id::text, ''), true);
  perform set_config('ald.change_request_id', coalesce(apply_setpoint.request_id::text, ''), true);

  update public.component_parameters cp set set_value = apply_setpoint.value
  where cp.id = p.id
  returning * into result;

  perform set_config('ald.change_source', '', true);
  perform set_config('ald.change_reason', '', true);
  perform set_config('ald.change_process_id', '', true);
  perform set_config('ald.change_step_execution_id', '', true);
  perform set_config('ald.change_request_id', '', true);
  return result;
end;
$$;
comment on function private.apply_setpoint(uuid, double precision, bigint, public.change_source, text, uuid, uuid, uuid, boolean) is
  'Validates and writes a setpoint (see set_parameter_value for the rules and codes). check_operator=false is for callers that checked the machine role already.';
revoke all on function private.apply_setpoint(uuid, double precision, bigint, public.change_source, text, uuid, uuid, uuid, boolean) from public;

create function public.set_parameter_value(
  parameter_id uuid,
  value double precision,
  expected_version bigint default null,
  source public.change_source default 'api',
  reason text default null,
  process_id uuid default null,
  step_execution_id uuid default null,
  request_id uuid default null
) returns public.component_parameters
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
  select * from private.apply_setpoint(parameter_id, value, expected_version, source, reason,
                                       process_id, step_execution_id, request_id, true);
$$;
comment on function public.set_parameter_value(uuid, double precision, bigint, public.change_source, text, uuid, uuid, uuid) is
  'Writes a setpoint in one round trip: rejects null (22004), NaN/infinite, fractional-for-integer and non-0/1-for-binary values (22023), values outside [min,max] (22003), unknown parameters (P0002), callers without the operator role on the machine (42501), read-only or inactive parameters and deactivated components (55000), and a stale expected_version (40001). Then updates set_value, bumps version by one, writes one parameter_changes row and notifies ald_parameter_changes at commit; returns the new row. Writing the value the parameter already has changes nothing. A repeated request_id returns the row without writing again. Security definer: users may not update component_parameters or write the audit directly. Errors: 22004, 22023, 22003, P0002, 42501, 55000, 40001, 23505 (request_id already used for another parameter).';
revoke execute on function public.set_parameter_value(uuid, double precision, bigint, public.change_source, text, uuid, uuid, uuid) from public, anon;
grant execute on function public.set_parameter_value(uuid, double precision, bigint, public.change_source, text, uuid, uuid, uuid) to authenticated, service_role;

-- Closed by default: nothing in private is executable by PUBLIC; these run only inside the
-- definer RPCs and triggers (as their owner).
revoke execute on function
  private.apply_setpoint(uuid, double precision, bigint, public.change_source, text, uuid, uuid, uuid, boolean)
from public;
