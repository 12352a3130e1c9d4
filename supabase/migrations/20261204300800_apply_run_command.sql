-- The controller honours a claimed stop_recipe, pause_recipe or resume_recipe command between two
-- steps, in one round trip that also completes the command:
--   pause  running -> paused: the step it just finished is closed as completed; machine paused;
--   resume paused -> running: advance_step continues at the next step_index;
--   stop   running or paused -> aborted (private.end_process); machine idle.
-- An illegal one (the state moved since it was issued) changes nothing and raises RC001/RC002/
-- RC003; the controller then fails the command with complete_command. A retry of a command that
-- was already applied replies again with replayed=true.
-- A journaled command (issue 16) carries the controller's time, `at`: the pause or stop happened
-- when the controller applied it between two steps, not when its journal drained.

create function public.apply_run_command(command_id uuid, at timestamptz default null)
returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  cmd public.recipe_commands;
  run public.process_executions;
  st public.process_execution_state;
  closed integer := 0;
  reason text;
  t timestamptz;
begin
  if apply_run_command.command_id is null then
    raise exception using errcode = '22004', message = 'command_id is required';
  end if;
  t := private.controller_time(apply_run_command.at);
  select * into cmd from public.recipe_commands c where c.id = apply_run_command.command_id;
  if not found then
    perform private.raise_error('P0002', 'command not found', format('no command %s', apply_run_command.command_id));
  end if;
  if not private.has_machine_role(cmd.machine_id, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('applying command %s needs the operator role on machine %s', cmd.id, cmd.machine_id);
  end if;
  -- Locks in the order complete_process and the dead-controller job take them: run, machine,
  -- then the command (two applies of one machine queue on the run or the machine).
  select * into run from public.process_executions e
  where e.machine_id = cmd.machine_id and e.status in ('running', 'paused') for update;
  perform 1 from public.machines m where m.id = cmd.machine_id for update;
  select * into cmd from public.recipe_commands c where c.id = apply_run_command.command_id for update;
  if cmd.command_type not in ('stop_recipe', 'pause_recipe', 'resume_recipe') then
    raise exception using errcode = '22023', message = 'command is not a stop, pause or resume command',
      detail = format('command %s is %s', cmd.id, cmd.command_type),
      hint = 'start_recipe commands are run with start_process; others are confirmed with complete_command';
  end if;
  perform private.note_controller_seen(cmd.machine_id);
  if cmd.status = 'completed' then
    return jsonb_build_object('command_id', cmd.id, 'command_type', cmd.command_type, 'command_status', cmd.status,
      'process_id', cmd.process_id,
      'process_status', (select e.status from public.process_executions e where e.id = cmd.process_id),
      'machine_status', (select m.status from public.machines m where m.id = cmd.machine_id),
      'replayed', true);
  end if;
  if cmd.status not in ('pending', 'claimed', 'executing') then
    perform private.raise_error('55000', 'command is not runnable', format('command %s is %s', cmd.id, cmd.status));
  end if;

  if cmd.command_type = 'resume_recipe' and run.status is distinct from 'paused' then
    raise exception using errcode = 'RC002', message = 'run is not paused',
      detail = format('machine %s has %s', cmd.machine_id, coalesce(format('process %s %s', run.id, run.status), 'no open run')),
      hint = 'fail the command with complete_command(command_id, ''failed'', reason)';
  elsif run.id is null then
    raise exception using errcode = 'RC001', message = 'machine has no open run',
      detail = format('machine %s has no running or paused process', cmd.machine_id),
      hint = 'fail the command with complete_command(command_id, ''failed'', reason)';
  elsif cmd.command_type = 'pause_recipe' and run.status = 'paused' then
    raise exception using errcode = 'RC003', message = 'run is already paused',
      detail = format('process %s has been paused since %s', run.id, run.paused_at),
      hint = 'fail the command with complete_command(command_id, ''failed'', reason)';
  end if;

  if cmd.command_type = 'pause_recipe' then
    -- The controller finished the step it was in: close it, keep the numbering; at t, when the
    -- controller paused (never before the step or the run began).
    t := private.run_time(run.id, t);
    update public.step_executions x set status = 'completed', ended_at = t
    where x.process_id = run.id and x.status = 'running';
    get diagnostics closed = row_count;
    update public.process_executions e set status = 'paused', paused_at = t where e.id = run.id;
    update public.process_execution_state x
    set completed_steps = x.completed_steps + closed,
        progress_percent = least(100, round(100.0 * (x.completed_steps + closed) / greatest(x.total_steps, 1), 2)),
        current_step_id = null, current_step_execution_id = null,
        current_step_type = null, current_step_name = null, current_step_config = null, current_step_started_at = null,
        run_status = 'paused',
        elapsed_ms = greatest(0, round(extract(epoch from (t - x.started_at)) * 1000))::bigint,
        updated_at = now()
    where x.process_id = run.id;
    update public.machines m set status = 'paused' where m.id = cmd.machine_id;
  elsif cmd.command_type = 'resume_recipe' then
    update public.process_executions e set status = 'running', paused_at = null where e.id = run.id;
    update public.process_execution_state x set run_status = 'running', updated_at = now() where x.process_id = run.id;
    update public.machines m set status = 'running' where m.id = cmd.machine_id;
  else
    reason := coalesce(cmd.parameters ->> 'reason', 'stopped by operator');
    -- the run and its open step end at t (private.end_process keeps them after their start)
    perform private.end_process(run.id, 'aborted', reason, p_at => t);
  end if;

  update public.recipe_commands c
  set status = 'completed', completed_at = now(), process_id = run.id,
      claimed_at = coalesce(c.claimed_at, now()), claimed_by = coalesce(c.claimed_by, private.change_role())
  where c.id = cmd.id;

  return jsonb_build_object('command_id', cmd.id, 'command_type', cmd.command_type, 'command_status', 'completed',
    'process_id', run.id,
    'process_status', (select e.status from public.process_executions e where e.id = run.id),
    'machine_status', (select m.status from public.machines m where m.id = cmd.machine_id),
    'replayed', false);
end;
$$;
comment on function public.apply_run_command(uuid, timestamptz) is
  'Controller: applies a stop_recipe, pause_recipe or resume_recipe command between two steps and completes it, in one round trip. pause: the open step is closed as completed, the run and machine become paused; resume: both running again, advance_step continues at the next step_index; stop: the run ends aborted (reason: parameters.reason or "stopped by operator"), the machine idle. Returns jsonb {command_id, command_type, command_status, process_id, process_status, machine_status, replayed}; a retry of an applied command replays (and ignores at). at (default null: now()) is when the controller applied it, on its clock: a pause''s paused_at and the closed step''s ended_at, a stop''s ended_at of the run and its open step (a resume stamps nothing); checked like a tick time (private.controller_time: the window of private.telemetry_settings, finite, else 22023) and taken as greatest(at, the open step''s started_at or the run''s started_at) so that clock skew never ends a step before it began. Errors: 22004, 22023 (another command type; at not finite or outside the tick time window), P0002, 42501, 55000 (command failed or cancelled), RC001 (no open run), RC002 (resume, run not paused), RC003 (pause, run already paused).';
revoke execute on function public.apply_run_command(uuid, timestamptz) from public, anon;
grant execute on function public.apply_run_command(uuid, timestamptz) to authenticated, service_role;
