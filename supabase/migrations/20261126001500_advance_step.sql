-- One controller step, one round trip: closes the previous step's audit row, opens the next,
-- moves the progress, and for a parameter step applies the setpoint with every check of
-- set_parameter_value, all in one transaction. If anything fails, nothing changes.
--
-- For issue 13 the call is also the controller's heartbeat (private.note_controller_seen,
-- 20261204300100_run_control_schema.sql), and it writes the live progress a screen shows (current
-- step type, name, config, loop iteration of loop count, elapsed and estimated remaining time) in
-- the same statement that moves the step, so it costs no extra round trip. Its reply names the
-- machine's oldest pending command (pending_command), so a controller learns of a stop or pause at
-- its next step without polling. Idempotent under retry: a replayed call changes nothing.
--
-- For issue 16 (the journal) a step carries the controller's time: `at`, when the controller did it
-- on the clock its tick times use. A journal drained after an outage would otherwise stamp every
-- step of the outage with the reconnect time, losing the pulse and purge lengths. null is now().

-- The config of a step as the controller needs it, for the first reply and for a replay alike.
create function private.step_config(step_id uuid, step_type public.step_type)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select case step_config.step_type
    when 'valve' then (select jsonb_build_object('valve_number', v.valve_number, 'duration_ms', v.duration_ms)
                       from public.valve_step_configs v where v.step_id = step_config.step_id)
    when 'purge' then (select jsonb_build_object('duration_ms', g.duration_ms, 'gas_type', g.gas_type, 'flow_rate_sccm', g.flow_rate_sccm)
                       from public.purge_step_configs g where g.step_id = step_config.step_id)
    when 'parameter' then (select jsonb_build_object('parameter_id', c.parameter_id, 'value', c.value)
                           from public.parameter_step_configs c where c.step_id = step_config.step_id)
    when 'loop' then (select jsonb_build_object('iteration_count', l.iteration_count)
                      from public.loop_step_configs l where l.step_id = step_config.step_id)
  end;
$$;
comment on function private.step_config(uuid, public.step_type) is 'The config of one step as jsonb (valve, purge, parameter or loop fields).';

-- The parameter row only when it belongs to the process's machine (issue 14, finding 2: a config
-- could once point at another machine's parameter, and a replay then returned that machine's row;
-- the composite keys of 20261204100100_same_machine_references.sql now make that impossible, and
-- this filter keeps it so for rows written before them or by a superuser bypassing the keys).
create function private.step_reply(st public.process_execution_state, se public.step_executions,
                                   config jsonb, parameter public.component_parameters, replayed boolean)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object(
    'process_id', st.process_id,
    'step_execution_id', se.id,
    'step_id', se.step_id,
    'step_index', se.step_index,
    'step_type', se.step_type,
    'loop_iteration', se.loop_iteration,
    'completed_steps', st.completed_steps,
    'total_steps', st.total_steps,
    'progress_percent', st.progress_percent,
    'config', config,
    'parameter', case
      when parameter.id is null then null
      when parameter.machine_id is distinct from (select e.machine_id from public.process_executions e where e.id = st.process_id) then null
      else to_jsonb(parameter) end,
    'replayed', replayed);
$$;
comment on function private.step_reply(public.process_execution_state, public.step_executions, jsonb, public.component_parameters, boolean) is
  'The jsonb reply of advance_step; the parameter row only when it belongs to the process''s machine.';

-- elapsed time per completed step times the steps left; null before the first step completes.
create function private.estimate_remaining_ms(started_at timestamptz, completed_steps integer, total_steps integer)
returns bigint
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select case when completed_steps > 0
    then greatest(0, round(extract(epoch from (now() - started_at)) * 1000 / completed_steps * greatest(total_steps - completed_steps, 0)))::bigint
  end;
$$;
comment on function private.estimate_remaining_ms(timestamptz, integer, integer) is
  'Estimated remaining run time in ms: the elapsed time per completed step times the steps left; null before any step completed.';
revoke execute on function private.estimate_remaining_ms(timestamptz, integer, integer) from public, anon, authenticated, service_role;

-- The oldest pending command of the machine, so that the controller learns of a stop or pause in
-- the reply of the step it is running, without polling claim_next_command between steps: one probe
-- of recipe_commands_pending_idx.
create function private.pending_command_json(machine_id uuid)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object('pending_command', (
    select jsonb_build_object('id', c.id, 'command_type', c.command_type)
    from public.recipe_commands c
    where c.machine_id = pending_command_json.machine_id and c.status = 'pending'
    order by c.created_at, c.id
    limit 1));
$$;
comment on function private.pending_command_json(uuid) is
  'jsonb {pending_command: {id, command_type} | null}: the machine''s oldest pending command, merged into the reply of advance_step.';
revoke execute on function private.pending_command_json(uuid) from public, anon, authenticated, service_role;

-- When the controller did it, on its clock (issue 16: a journal drains steps late, and a step
-- stamped now() would carry the reconnect time). advance_step, complete_process and
-- apply_run_command take it as `at`; it is checked as tick times are (private.store_ticks, the same
-- private.telemetry_settings window: not before now() - max_tick_age, not after now() +
-- max_tick_lead, finite), else 22023. null is now(): online callers are unchanged. The settings are
-- read when it runs (the table is made by 20261204400000_readings.sql), as plpgsql resolves names.
create function private.controller_time(at timestamptz)
returns timestamptz
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  max_age interval;
  max_lead interval;
begin
  if controller_time.at is null then
    return now();
  end if;
  if not isfinite(controller_time.at) then
    raise exception using errcode = '22023', message = 'at must be a finite time',
      detail = format('got %s', controller_time.at),
      hint = 'at is when the controller did it, on the clock its tick times use; null means now()';
  end if;
  select s.max_tick_age, s.max_tick_lead into max_age, max_lead from private.telemetry_settings s;
  if controller_time.at < now() - max_age or controller_time.at > now() + max_lead then
    raise exception using errcode = '22023', message = 'at outside the accepted window',
      detail = format('at %s; accepted from %s to %s (now() - %s to now() + %s)', controller_time.at,
        now() - max_age, now() + max_lead, max_age, max_lead),
      hint = 'check the controller clock; the window is that of tick times (private.telemetry_settings max_tick_age and max_tick_lead)';
  end if;
  return controller_time.at;
end;
$$;
comment on function private.controller_time(timestamptz) is
  'The controller''s time of a step, pause, stop or end (the at of advance_step, complete_process, apply_run_command): null is now(); a time outside the tick time window of private.telemetry_settings (now() - max_tick_age .. now() + max_tick_lead) or not finite raises 22023.';
revoke execute on function private.controller_time(timestamptz) from public, anon, authenticated, service_role;

-- The time a run's next event is stamped with: t, but never before the run's start nor before the
-- last step began (or ended, once closed). The server stamped the start, the controller the
-- steps: with clock skew between them a step would otherwise end before it began. One probe of
-- the (process_id, step_index) key.
create function private.run_time(process_id uuid, t timestamptz)
returns timestamptz
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select greatest(run_time.t,
    (select e.started_at from public.process_executions e where e.id = run_time.process_id),
    (select coalesce(x.ended_at, x.started_at) from public.step_executions x
     where x.process_id = run_time.process_id order by x.step_index desc limit 1));
$$;
comment on function private.run_time(uuid, timestamptz) is
  'greatest(t, the run''s started_at, the last step''s ended_at or, while it runs, started_at): the time of a run''s next step, pause or end, so that no step ends before it began.';
revoke execute on function private.run_time(uuid, timestamptz) from public, anon, authenticated, service_role;

create function public.advance_step(
  process_id uuid,
  step_id uuid default null,
  step_index integer default null,
  loop_iteration integer default null,
  previous_status public.step_execution_status default 'completed',
  details jsonb default null,
  error_message text default null,
  at timestamptz default null
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  pe public.process_executions;
  st public.process_execution_state;
  prev public.step_executions;
  se public.step_executions;
  s public.recipe_steps;
  cfg jsonb;
  param public.component_parameters;
  pcfg public.parameter_step_configs;
  next_index integer;
  t timestamptz;
begin
  if advance_step.process_id is null then
    raise exception using errcode = '22004', message = 'process_id is required';
  end if;
  if advance_step.previous_status is null or advance_step.previous_status = 'running' then
    raise exception using errcode = '22023', message = 'previous_status must be completed, failed, skipped or aborted',
      detail = format('got %s', coalesce(advance_step.previous_status::text, 'null'));
  end if;
  if advance_step.loop_iteration is not null and advance_step.loop_iteration < 1 then
    raise exception using errcode = '22023', message = 'loop_iteration must be 1 or more',
      detail = format('got %s', advance_step.loop_iteration);
  end if;
  if advance_step.details is not null and jsonb_typeof(advance_step.details) <> 'object' then
    raise exception using errcode = '22023', message = 'details must be a JSON object';
  end if;
  t := private.controller_time(advance_step.at);

  -- Locking the execution serialises advances of one process.
  pe := private.lock_process_to_operate(advance_step.process_id, 'advancing');
  -- The controller is alive: this call is its heartbeat (no extra round trip).
  perform private.note_controller_seen(pe.machine_id);
  if pe.status <> 'running' then
    perform private.raise_error('55000',
      'process is not running',
      format('process %s is %s', pe.id, pe.status));
  end if;
  select * into st from public.process_execution_state x where x.process_id = pe.id for update;

  -- A retried call whose first attempt committed: the step is already open; reply again,
  -- apply nothing twice.
  if advance_step.step_id is not null and advance_step.step_index is not null then
    select * into se from public.step_executions x
    where x.process_id = pe.id and x.step_index = advance_step.step_index;
    if found then
      if se.step_id = advance_step.step_id and se.id = st.current_step_execution_id then
        select * into param from public.component_parameters p
        where p.id = (select c.parameter_id from public.parameter_step_configs c where c.step_id = se.step_id);
        return private.step_reply(st, se, private.step_config(se.step_id, se.step_type), param, true)
      || private.pending_command_json(pe.machine_id);
      end if;
      raise exception using errcode = '23505', message = 'step_index was already executed',
        detail = format('process %s already ran step_index %s', pe.id, advance_step.step_index);
    end if;
  end if;

  -- The step's time: at (on the controller's clock), never before the open step began.
  t := private.run_time(pe.id, t);

  -- Close the open step.
  if st.current_step_execution_id is not null then
    update public.step_executions x
    set status = advance_step.previous_status, ended_at = t,
        error_message = coalesce(advance_step.error_message, x.error_message),
        details = case when advance_step.details is null then x.details
                       else coalesce(x.details, '{}'::jsonb) || advance_step.details end
    where x.id = st.current_step_execution_id and x.status = 'running'
    returning * into prev;
    if found then
      st.completed_steps := st.completed_steps + 1;
    end if;
  end if;

  if advance_step.step_id is null then
    -- Only closing the last step.
    update public.process_execution_state x
    set current_step_id = null, current_step_execution_id = null, completed_steps = st.completed_steps,
        progress_percent = least(100, round(100.0 * st.completed_steps / greatest(st.total_steps, 1), 2)),
        current_step_type = null, current_step_name = null, current_step_config = null, current_step_started_at = null,
        current_loop_count = null,
        elapsed_ms = greatest(0, round(extract(epoch from (t - x.started_at)) * 1000))::bigint,
        estimated_remaining_ms = private.estimate_remaining_ms(x.started_at, st.completed_steps, st.total_steps),
        updated_at = now()
    where x.process_id = pe.id
    returning * into st;
    return private.step_reply(st, prev, null, null, false)
      || private.pending_command_json(pe.machine_id);
  end if;

  next_index := coalesce(advance_step.step_index, coalesce(st.current_step_index + 1, 0));
  if next_index < 0 or next_index >= st.total_steps then
    raise exception using errcode = '22023', message = 'step_index out of range',
      detail = format('step_index %s is outside [0, %s) for process %s', next_index, st.total_steps, pe.id);
  end if;
  if next_index <= coalesce(st.current_step_index, -1) then
    raise exception using errcode = '22023', message = 'step_index must increase',
      detail = format('step_index %s after %s', next_index, st.current_step_index);
  end if;

  select * into s from public.recipe_steps x where x.id = advance_step.step_id and x.recipe_id = pe.recipe_id;
  if not found then
    perform private.raise_error('P0002',
      'step not found in the process''s recipe',
      format('no step %s in recipe %s', advance_step.step_id, pe.recipe_id));
  end if;

  insert into public.step_executions (process_id, step_id, step_index, step_type, loop_iteration, details, started_at)
  values (pe.id, s.id, next_index, s.step_type, advance_step.loop_iteration, null, t)
  returning * into se;

  cfg := private.step_config(s.id, s.step_type);

  if s.step_type = 'parameter' then
    select * into pcfg from public.parameter_step_configs c where c.step_id = s.id;
    if not found then
      perform private.raise_error('P0002',
        'parameter step has no config',
        format('step %s has no parameter_step_configs row', s.id));
    end if;
    if not exists (select 1 from public.component_parameters p where p.id = pcfg.parameter_id and p.machine_id = pe.machine_id) then
      raise exception using errcode = '22023', message = 'parameter does not belong to the process''s machine',
        detail = format('parameter %s is not a parameter of machine %s', pcfg.parameter_id, pe.machine_id);
    end if;
    param := private.apply_setpoint(pcfg.parameter_id, pcfg.value, null, 'recipe', s.name, pe.id, se.id, null, false);
    update public.step_executions x
    set details = jsonb_build_object('parameter_id', param.id, 'value', pcfg.value, 'version', param.version)
    where x.id = se.id
    returning * into se;
  end if;

  update public.process_execution_state x
  set current_step_id = s.id, current_step_execution_id = se.id, current_step_index = next_index,
      current_loop_iteration = advance_step.loop_iteration, completed_steps = st.completed_steps,
      progress_percent = least(100, round(100.0 * st.completed_steps / greatest(st.total_steps, 1), 2)),
      current_step_type = s.step_type, current_step_name = s.name, current_step_config = cfg,
      current_step_started_at = se.started_at,
      current_loop_count = (select l.iteration_count from public.loop_step_configs l where l.step_id = s.parent_step_id),
      elapsed_ms = greatest(0, round(extract(epoch from (t - x.started_at)) * 1000))::bigint,
      estimated_remaining_ms = private.estimate_remaining_ms(x.started_at, st.completed_steps, st.total_steps),
      updated_at = now()
  where x.process_id = pe.id
  returning * into st;

  return private.step_reply(st, se, cfg, param, false)
      || private.pending_command_json(pe.machine_id);
end;
$$;
comment on function public.advance_step(uuid, uuid, integer, integer, public.step_execution_status, jsonb, text, timestamptz) is
  'One controller step in one round trip: closes the open step_executions row (previous_status, details, error_message), opens step_index for step_id (default: next index), updates process_execution_state, and for a parameter step applies its setpoint with every check of set_parameter_value. step_id null only closes the open step. at (default null: now()) is when the controller did it, on its clock: the closed step''s ended_at and the new step''s started_at (and current_step_started_at, elapsed_ms); checked like a tick time (private.controller_time: the window of private.telemetry_settings, finite, else 22023) and taken as greatest(at, the open step''s started_at or the run''s started_at) so that clock skew between server and controller never ends a step before it began. A retry of a committed call (same step_index and step_id) replies again with replayed=true and applies nothing twice, and ignores at. The reply also carries pending_command ({id, command_type} of the machine''s oldest pending command, or null) and the call writes the live progress columns of process_execution_state and is the controller''s heartbeat. Errors: 22004, 22023 (bad previous_status, at not finite or outside the tick time window, step_index out of range or not increasing, foreign parameter), P0002 (process or step unknown), 42501, 55000 (process not running), 23505 (step_index already used by another step), and every set_parameter_value code for a parameter step.';
revoke execute on function public.advance_step(uuid, uuid, integer, integer, public.step_execution_status, jsonb, text, timestamptz) from public, anon;
grant execute on function public.advance_step(uuid, uuid, integer, integer, public.step_execution_status, jsonb, text, timestamptz) to authenticated, service_role;

-- Closed by default: nothing in private is executable by PUBLIC; these run only inside the
-- definer RPCs and triggers (as their owner).
revoke execute on function
  private.step_config(uuid, public.step_type),
  private.step_reply(public.process_execution_state, public.step_executions, jsonb, public.component_parameters, boolean)
from public;
