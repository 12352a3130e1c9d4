-- Starting a run in one round trip: creates the execution (with a snapshot of the recipe) and
-- its progress row, marks the machine running and the command executing, and returns the whole
-- plan: the recipe's steps in order with their configs, loop children nested, and the machine's
-- parameters, so the controller needs nothing else before its first step. The call is also the
-- controller's heartbeat (private.note_controller_seen, 20261204300100_run_control_schema.sql), a
-- paused run counts as open (issue 13), and starting clears the machine's status_reason (a machine
-- in error after a lost run can run again). The nested steps come from private.recipe_steps_json
-- (20261204100100_same_machine_references.sql: a sql body is checked when it is created, and it
-- reads recipe_steps.machine_id, added there).

-- How many advance_step calls the nested steps make: 1 per step, plus for a loop
-- iteration_count times its children.
create function private.count_executed_steps(steps jsonb)
returns bigint
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(sum(
    1 + case when s ->> 'step_type' = 'loop'
             then coalesce((s -> 'config' ->> 'iteration_count')::bigint, 0) * private.count_executed_steps(coalesce(s -> 'children', '[]'::jsonb))
             else 0 end), 0)::bigint
  from jsonb_array_elements(steps) s;
$$;
comment on function private.count_executed_steps(jsonb) is 'Number of steps executed by a nested plan once loops are unrolled (a loop counts once, plus its children per iteration).';

-- The reply of start_process for an execution (also used when a retried start replays).
create function private.process_plan(process_id uuid, replayed boolean)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object(
    'process_id', e.id,
    'machine_id', e.machine_id,
    'recipe_id', e.recipe_id,
    'command_id', e.command_id,
    'status', e.status,
    'started_at', e.started_at,
    'replayed', replayed,
    'total_steps', st.total_steps,
    'recipe', e.recipe_snapshot -> 'recipe',
    'steps', e.recipe_snapshot -> 'steps',
    'parameters', coalesce((
      select jsonb_agg(to_jsonb(p) order by p.component_id, p.name)
      from public.component_parameters p
      where p.machine_id = e.machine_id and p.is_active and p.component_activated), '[]'::jsonb))
  from public.process_executions e
  join public.process_execution_state st on st.process_id = e.id
  where e.id = process_plan.process_id;
$$;
comment on function private.process_plan(uuid, boolean) is 'The plan returned by start_process: execution ids, recipe, nested steps with configs, total_steps and the machine''s active parameters.';

create function public.start_process(
  machine_id uuid,
  recipe_id uuid default null,
  command_id uuid default null,
  operator_id uuid default null,
  request_id uuid default null
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  m public.machines;
  r public.recipes;
  cmd public.recipe_commands;
  existing uuid;
  run_recipe uuid := start_process.recipe_id;
  steps jsonb;
  total bigint;
  pid uuid;
begin
  if start_process.machine_id is null then
    raise exception using errcode = '22004', message = 'machine_id is required';
  end if;
  if not private.has_machine_role(start_process.machine_id, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('starting a process needs the operator role on machine %s', start_process.machine_id);
  end if;

  -- Users run under their own name; only the controller may credit a run to someone else.
  if start_process.operator_id is not null and not private.is_service()
     and start_process.operator_id is distinct from (select auth.uid()) then
    raise exception using errcode = '42501', message = 'operator_id must be the caller',
      detail = 'only the controller (service_role) may start a process on behalf of another user';
  end if;

  -- Lock the machine: two starts for one machine queue here instead of racing.
  select * into m from public.machines x where x.id = start_process.machine_id for update;
  if not found then
    perform private.raise_error('P0002',
      'machine not found',
      format('no machine %s', start_process.machine_id));
  end if;

  -- The controller is alive: this call is its heartbeat (no extra round trip).
  perform private.note_controller_seen(m.id);

  -- A retried start whose first attempt committed returns the same execution. Looked up after the
  -- machine lock: a retry that overlaps its still-running first attempt waits for it here and then
  -- replays, instead of finding the machine running and failing with 23505.
  if start_process.request_id is not null then
    select e.id into existing from public.process_executions e
    where e.request_id = start_process.request_id and e.machine_id = start_process.machine_id;
    if found then
      return private.process_plan(existing, true);
    end if;
  end if;

  if start_process.command_id is not null then
    select * into cmd from public.recipe_commands c where c.id = start_process.command_id for update;
    if not found then
      perform private.raise_error('P0002',
        'command not found',
        format('no command %s', start_process.command_id));
    end if;
    if cmd.machine_id <> m.id then
      raise exception using errcode = '22023', message = 'command belongs to another machine',
        detail = format('command %s is for machine %s', cmd.id, cmd.machine_id);
    end if;
    if cmd.command_type <> 'start_recipe' then
      raise exception using errcode = '22023', message = 'command is not a start_recipe command',
        detail = format('command %s is %s', cmd.id, cmd.command_type);
    end if;
    if cmd.process_id is not null then
      if exists (select 1 from public.process_executions e where e.id = cmd.process_id and e.status in ('running', 'paused')) then
        return private.process_plan(cmd.process_id, true);
      end if;
      perform private.raise_error('55000',
        'command was already executed',
        format('command %s started process %s, which has ended', cmd.id, cmd.process_id));
    end if;
    if cmd.status not in ('pending', 'claimed', 'executing') then
      perform private.raise_error('55000',
        'command is not runnable',
        format('command %s is %s', cmd.id, cmd.status));
    end if;
    if run_recipe is not null and run_recipe is distinct from cmd.recipe_id then
      raise exception using errcode = '22023', message = 'recipe_id differs from the command''s recipe',
        detail = format('command %s is for recipe %s', cmd.id, cmd.recipe_id);
    end if;
    run_recipe := cmd.recipe_id;
  end if;

  if run_recipe is null then
    raise exception using errcode = '22004', message = 'recipe_id is required',
      hint = 'pass recipe_id, or the command_id of a start_recipe command';
  end if;
  if m.status in ('running', 'paused') or exists (
    select 1 from public.process_executions e where e.machine_id = m.id and e.status in ('running', 'paused')
  ) then
    raise exception using errcode = '23505', message = 'machine is already running a process',
      detail = format('machine %s is running process %s', m.id, m.current_process_id),
      hint = 'complete the running process first';
  end if;
  if m.status in ('maintenance', 'offline') then
    perform private.raise_error('55000',
      'machine is not available',
      format('machine %s is in status %s', m.id, m.status));
  end if;

  select * into r from public.recipes x where x.id = run_recipe;
  if not found or r.machine_id <> m.id then
    perform private.raise_error('P0002',
      'recipe not found',
      format('no recipe %s for machine %s', run_recipe, m.id));
  end if;
  if not r.is_active then
    perform private.raise_error('55000',
      'recipe is inactive',
      format('recipe %s (%s) is inactive', r.id, r.name));
  end if;

  steps := private.recipe_steps_json(r.id, null);
  total := private.count_executed_steps(steps);
  if total = 0 then
    raise exception using errcode = '22023', message = 'recipe has no steps',
      detail = format('recipe %s (%s) is empty', r.id, r.name);
  end if;
  if total > 1000000 then
    raise exception using errcode = '22023', message = 'recipe is too long',
      detail = format('recipe %s unrolls to %s steps, the limit is 1000000', r.id, total);
  end if;

  -- operator_id references auth.users: name an unknown user as P0002, not as a foreign key error.
  if coalesce(start_process.operator_id, (select auth.uid())) is not null and not exists (
    select 1 from auth.users u where u.id = coalesce(start_process.operator_id, (select auth.uid()))
  ) then
    perform private.raise_error('P0002',
      'operator not found',
      format('no user %s', coalesce(start_process.operator_id, (select auth.uid()))));
  end if;

  insert into public.process_executions (machine_id, recipe_id, command_id, recipe_snapshot, operator_id, request_id)
  values (m.id, r.id, cmd.id,
          jsonb_build_object('recipe', jsonb_build_object('id', r.id, 'name', r.name, 'version', r.version,
                                                          'description', r.description),
                             'steps', steps),
          coalesce(start_process.operator_id, (select auth.uid())),
          start_process.request_id)
  returning id into pid;

  insert into public.process_execution_state (process_id, total_steps) values (pid, total);
  update public.machines x set status = 'running', current_process_id = pid, status_reason = null where x.id = m.id;
  if cmd.id is not null then
    update public.recipe_commands c
    set status = 'executing', process_id = pid, claimed_at = coalesce(c.claimed_at, now()),
        claimed_by = coalesce(c.claimed_by, private.change_role())
    where c.id = cmd.id;
  end if;

  return private.process_plan(pid, false);
end;
$$;
comment on function public.start_process(uuid, uuid, uuid, uuid, uuid) is
  'Starts a recipe run in one round trip: creates the execution (with a recipe snapshot) and its progress row, sets the machine running, marks the command executing, and returns the plan (jsonb: process_id, total_steps, recipe, nested steps with configs, parameters). Pass recipe_id or the command_id of a start_recipe command. A repeated request_id, or a command that already started a running process, returns that execution with replayed=true. Errors: 22004, 22023, P0002 (machine, recipe, command or operator unknown), 42501 (also: a user naming another operator_id), 23505 (machine already running, or request_id already used on another machine), 55000 (machine unavailable, recipe inactive, command not runnable).';
revoke execute on function public.start_process(uuid, uuid, uuid, uuid, uuid) from public, anon;
grant execute on function public.start_process(uuid, uuid, uuid, uuid, uuid) to authenticated, service_role;

-- Closed by default: nothing in private is executable by PUBLIC; these run only inside the
-- definer RPCs and triggers (as their owner).
revoke execute on function
  private.count_executed_steps(jsonb),
  private.process_plan(uuid, boolean)
from public;
