-- What the PLC actually holds, reported by the controller in one round trip (at startup, or after a
-- change on the local HMI): the old controller's batch_update_setpoints.
--
-- For each parameter whose reported value differs from applied_value: applied_value moves to it
-- (applied_at now()) and one parameter_changes row with field 'applied_value' and source 'plc'
-- records old and new applied value. The desired setpoint follows the PLC (set_value := value, an
-- audit row with field 'set_value' and source 'plc', and no request: the PLC already holds it) when
-- the parameter is writable, the value is a valid setpoint for it, and no request of the parameter is
-- open; applied_version is then the version that carries it. Otherwise set_value stays: an open
-- request will overwrite the HMI's change, and a value that is no valid setpoint is shown as applied
-- (applied_version null: no setpoint version asked for it) without becoming desired.
-- Returns the number of parameters whose applied value moved. Values equal to the applied ones
-- change nothing (a repeated report is a no-op).
--
-- Errors: 22004 machine_id or an array null; 22023 multi-dimensional arrays, unequal lengths, more than 10000 values, a null
-- id or value, an id twice, a non-finite value, a parameter that is not the machine's; P0002 unknown
-- machine; 42501 the caller may not operate the machine.

create function public.report_plc_values(machine_id uuid, parameter_ids uuid[], "values" double precision[])
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  m uuid := report_plc_values.machine_id;
  n integer := coalesce(cardinality(report_plc_values.parameter_ids), 0);
  rec record;
  moved integer := 0;
  follows boolean;
  actor uuid;
  sub_text text := nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
begin
  if m is null then
    raise exception using errcode = '22004', message = 'machine_id is required';
  end if;
  if report_plc_values.parameter_ids is null or report_plc_values."values" is null then
    raise exception using errcode = '22004', message = 'parameter_ids and values are required';
  end if;
  if coalesce(array_ndims(report_plc_values.parameter_ids), 1) > 1 or coalesce(array_ndims(report_plc_values."values"), 1) > 1 then
    raise exception using errcode = '22023', message = 'arrays must be one-dimensional',
      detail = format('dimensions: parameter_ids %s, values %s',
        coalesce(array_ndims(report_plc_values.parameter_ids), 1), coalesce(array_ndims(report_plc_values."values"), 1));
  end if;
  if n > 10000 then
    raise exception using errcode = '22023', message = 'too many values',
      detail = format('got %s, the limit is 10000', n), hint = 'split the report into several calls';
  end if;
  if cardinality(report_plc_values."values") <> n then
    raise exception using errcode = '22023', message = 'arrays of unequal length',
      detail = format('parameter_ids %s, values %s', n, cardinality(report_plc_values."values"));
  end if;
  if array_position(report_plc_values.parameter_ids, null) is not null
     or array_position(report_plc_values."values", null) is not null then
    raise exception using errcode = '22023', message = 'parameter ids and values must not contain null';
  end if;
  if exists (select 1 from unnest(report_plc_values."values") x where x in ('NaN', 'Infinity', '-Infinity')) then
    raise exception using errcode = '22023', message = 'values must be finite numbers',
      detail = 'NaN or infinity among values';
  end if;
  if (select count(distinct u) from unnest(report_plc_values.parameter_ids) u) <> n then
    raise exception using errcode = '22023', message = 'a parameter id appears twice';
  end if;
  if not exists (select 1 from public.machines x where x.id = m) then
    perform private.raise_error('P0002', 'machine not found', format('no machine %s', m));
  end if;
  if not private.has_machine_role(m, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('reporting PLC values needs the operator role on machine %s', m);
  end if;
  if exists (
    select 1 from unnest(report_plc_values.parameter_ids) u
    where not exists (select 1 from public.component_parameters p where p.id = u and p.machine_id = m)
  ) then
    raise exception using errcode = '22023', message = 'parameter not on the machine',
      detail = format('%s is not a parameter of machine %s',
        (select u from unnest(report_plc_values.parameter_ids) u
         where not exists (select 1 from public.component_parameters p where p.id = u and p.machine_id = m) limit 1), m);
  end if;
  if sub_text ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    select u.id into actor from auth.users u where u.id = sub_text::uuid;
  end if;

  perform pg_catalog.set_config('ald.applying', 'on', true);
  perform pg_catalog.set_config('ald.change_source', 'plc', true);
  perform pg_catalog.set_config('ald.change_reason', 'reported by the PLC', true);
  for rec in
    select p.*, t.v as reported
    from unnest(report_plc_values.parameter_ids, report_plc_values."values") as t (id, v)
    join public.component_parameters p on p.id = t.id
    where p.applied_value is distinct from t.v
    order by p.id
    for update of p
  loop
    follows := rec.is_writable
      and rec.set_value is distinct from rec.reported
      and (rec.min_value is null or rec.reported >= rec.min_value)
      and (rec.max_value is null or rec.reported <= rec.max_value)
      and (rec.data_type <> 'integer' or rec.reported = trunc(rec.reported))
      and (rec.data_type <> 'binary' or rec.reported in (0, 1))
      and not exists (select 1 from public.setpoint_requests r
                      where r.parameter_id = rec.id and r.status in ('pending', 'claimed'));
    update public.component_parameters p
    set applied_value = rec.reported,
        applied_at = now(),
        applied_version = case when follows then rec.version + 1
                               when rec.set_value = rec.reported then rec.version + 1
                               else null end,
        set_value = case when follows then rec.reported else p.set_value end
    where p.id = rec.id;
    insert into public.parameter_changes
      (parameter_id, machine_id, old_value, new_value, old_version, new_version,
       changed_by, changed_by_role, source, reason, field)
    values
      (rec.id, rec.machine_id, rec.applied_value, rec.reported, rec.version, rec.version + 1,
       actor, private.change_role(), 'plc', 'reported by the PLC', 'applied_value');
    moved := moved + 1;
  end loop;
  perform pg_catalog.set_config('ald.applying', '', true);
  perform pg_catalog.set_config('ald.change_source', '', true);
  perform pg_catalog.set_config('ald.change_reason', '', true);
  return moved;
end;
$$;
comment on function public.report_plc_values(uuid, uuid[], double precision[]) is
  'The controller reports what the PLC holds, in one round trip: every parameter whose value differs from applied_value gets applied_value/at moved and a parameter_changes row (field applied_value, source plc); set_value follows when the value is a valid setpoint and no request of the parameter is open (audited with source plc, no request made). Returns how many moved; a repeat is a no-op. Errors: 22004 null machine_id or arrays; 22023 multi-dimensional arrays, unequal lengths, null id or value, duplicate id, non-finite value, more than 10000, a parameter not of the machine; P0002 unknown machine; 42501 caller may not operate it.';
revoke execute on function public.report_plc_values(uuid, uuid[], double precision[]) from public, anon;
grant execute on function public.report_plc_values(uuid, uuid[], double precision[]) to authenticated, service_role;
