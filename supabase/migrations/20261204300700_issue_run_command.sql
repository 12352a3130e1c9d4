-- An operator pauses, resumes or stops the run of a machine in one round trip: the state is checked
-- here (an illegal request changes nothing and gets a stable code) and the command is queued for
-- the controller, which honours it between two steps (claim_next_command, then apply_run_command).

create function public.issue_run_command(
  machine_id uuid,
  command_type public.command_type,
  reason text default null,
  request_id uuid default null
) returns public.recipe_commands
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  m public.machines;
  run public.process_executions;
  cmd public.recipe_commands;
begin
  if issue_run_command.machine_id is null then
    raise exception using errcode = '22004', message = 'machine_id is required';
  end if;
  if issue_run_command.command_type is null or issue_run_command.command_type not in ('stop_recipe', 'pause_recipe', 'resume_recipe') then
    raise exception using errcode = '22023', message = 'command_type must be stop_recipe, pause_recipe or resume_recipe',
      detail = format('got %s', coalesce(issue_run_command.command_type::text, 'null')),
      hint = 'start a run by inserting a start_recipe command or with start_process';
  end if;
  if length(issue_run_command.reason) > 1000 then
    raise exception using errcode = '22023', message = 'reason is too long',
      detail = format('%s characters, the limit is 1000', length(issue_run_command.reason));
  end if;
  if not private.has_machine_role(issue_run_command.machine_id, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('%s needs the operator role on machine %s', issue_run_command.command_type, issue_run_command.machine_id);
  end if;
  -- The machine lock orders this request after a start, step boundary or other request in flight.
  select * into m from public.machines x where x.id = issue_run_command.machine_id for update;
  if not found then
    perform private.raise_error('P0002', 'machine not found', format('no machine %s', issue_run_command.machine_id));
  end if;

  if issue_run_command.request_id is not null then
    select * into cmd from public.recipe_commands c where c.request_id = issue_run_command.request_id;
    if found then
      if cmd.machine_id <> m.id or cmd.command_type <> issue_run_command.command_type then
        raise exception using errcode = '23505', message = 'request_id was used for another command',
          detail = format('request_id %s created %s command %s on machine %s', issue_run_command.request_id, cmd.command_type, cmd.id, cmd.machine_id);
      end if;
      return cmd;
    end if;
  end if;

  select * into run from public.process_executions e where e.machine_id = m.id and e.status in ('running', 'paused');
  if issue_run_command.command_type = 'resume_recipe' then
    if run.status is distinct from 'paused' then
      raise exception using errcode = 'RC002', message = 'run is not paused',
        detail = format('machine %s is %s%s', m.id, m.status, coalesce(format(', process %s is %s', run.id, run.status), '')),
        hint = 'resume only a paused run';
    end if;
  elsif run.id is null then
    raise exception using errcode = 'RC001', message = 'machine has no open run',
      detail = format('machine %s is %s', m.id, m.status),
      hint = case when issue_run_command.command_type = 'pause_recipe' then 'pause only a running run' else 'stop only a running or paused run' end;
  elsif issue_run_command.command_type = 'pause_recipe' and run.status = 'paused' then
    raise exception using errcode = 'RC003', message = 'run is already paused',
      detail = format('process %s has been paused since %s', run.id, run.paused_at),
      hint = 'resume it with resume_recipe, or stop it';
  end if;

  insert into public.recipe_commands (machine_id, command_type, parameters, created_by, request_id, process_id)
  values (m.id, issue_run_command.command_type,
          case when issue_run_command.reason is null then '{}'::jsonb else jsonb_build_object('reason', issue_run_command.reason) end,
          (select auth.uid()), issue_run_command.request_id, run.id)
  returning * into cmd;
  return cmd;
end;
$$;
comment on function public.issue_run_command(uuid, public.command_type, text, uuid) is
  'Operator: queues a stop_recipe, pause_recipe or resume_recipe command for the machine''s open run (one round trip) after checking that the run is in a state that allows it; returns the pending command (process_id names the run). A repeated request_id returns the same command. Errors: 22004, 22023 (other command type, reason > 1000 characters), P0002, 42501, 23505 (request_id used for another command), RC001 (pause or stop without an open run), RC002 (resume of a run that is not paused), RC003 (pause of a paused run).';
revoke execute on function public.issue_run_command(uuid, public.command_type, text, uuid) from public, anon;
grant execute on function public.issue_run_command(uuid, public.command_type, text, uuid) to authenticated, service_role;
