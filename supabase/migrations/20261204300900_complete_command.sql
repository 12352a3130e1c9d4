-- The controller confirms a command it handled itself (set_parameter), or fails one it cannot
-- honour (a pause that arrived after the run ended), so that no command stays claimed: every
-- command ends completed, failed (with a reason) or cancelled. Idempotent: confirming again with
-- the same status returns the command unchanged.

create function public.complete_command(
  command_id uuid,
  status public.command_status default 'completed',
  error_message text default null
) returns public.recipe_commands
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  cmd public.recipe_commands;
begin
  if complete_command.command_id is null then
    raise exception using errcode = '22004', message = 'command_id is required';
  end if;
  if complete_command.status is null or complete_command.status not in ('completed', 'failed', 'cancelled') then
    raise exception using errcode = '22023', message = 'status must be completed, failed or cancelled',
      detail = format('got %s', coalesce(complete_command.status::text, 'null'));
  end if;
  if complete_command.status = 'failed' and nullif(btrim(complete_command.error_message), '') is null then
    raise exception using errcode = '22004', message = 'error_message is required to fail a command',
      hint = 'say why the command failed; operators read it';
  end if;
  if length(complete_command.error_message) > 2000 then
    raise exception using errcode = '22023', message = 'error_message is too long',
      detail = format('%s characters, the limit is 2000', length(complete_command.error_message));
  end if;
  select * into cmd from public.recipe_commands c where c.id = complete_command.command_id for update;
  if not found then
    perform private.raise_error('P0002', 'command not found', format('no command %s', complete_command.command_id));
  end if;
  if not private.has_machine_role(cmd.machine_id, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('completing command %s needs the operator role on machine %s', cmd.id, cmd.machine_id);
  end if;
  perform private.note_controller_seen(cmd.machine_id);
  if cmd.status = complete_command.status then
    return cmd;
  end if;
  if cmd.status in ('completed', 'failed', 'cancelled') then
    raise exception using errcode = 'RC006', message = 'illegal command transition',
      detail = format('command %s is already %s', cmd.id, cmd.status),
      hint = 'completed, failed and cancelled are final';
  end if;
  if cmd.command_type = 'start_recipe' and exists (
    select 1 from public.process_executions e where e.id = cmd.process_id and e.status in ('running', 'paused')) then
    perform private.raise_error('55000', 'command is running a process', format('command %s started process %s, which is still open', cmd.id, cmd.process_id), 'end the run with complete_process; it finishes the command');
  end if;

  update public.recipe_commands c
  set status = complete_command.status, completed_at = now(),
      error_message = complete_command.error_message,
      claimed_at = case when complete_command.status = 'cancelled' then c.claimed_at else coalesce(c.claimed_at, now()) end
  where c.id = cmd.id
  returning * into cmd;
  return cmd;
end;
$$;
comment on function public.complete_command(uuid, public.command_status, text) is
  'Controller: ends a command as completed, failed (error_message required) or cancelled and returns it; the same status again returns it unchanged. Errors: 22004 (null command_id, failing without error_message), 22023 (status not final, error_message > 2000 characters), P0002, 42501, 55000 (a start_recipe command whose run is still open: complete_process ends it), RC006 (already ended with another status).';
revoke execute on function public.complete_command(uuid, public.command_status, text) from public, anon;
grant execute on function public.complete_command(uuid, public.command_status, text) to authenticated, service_role;
