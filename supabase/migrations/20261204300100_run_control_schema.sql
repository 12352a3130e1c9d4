-- Running a recipe as operators drive it (issue 13): the command life cycle with named checks
-- and hints, a paused state for runs, registered controllers with a liveness clock, and live
-- progress a screen can show without joins. The RPCs that use all this are claim_next_command,
-- start_process, advance_step and complete_process (20261126001300..001600) and those in the
-- files after this one (one RPC per file).
--
-- Stable error codes added here (the README lists them with the others):
--   RC001 no open run to control (pause or stop on a machine without a running or paused run)
--   RC002 run is not paused (resume)
--   RC003 run is already paused (pause)
--   RC004 the machine has a live controller (register without takeover)
--   RC005 controller is not alive (heartbeat or re-registration of a dead or replaced controller)
--   RC006 illegal command transition (a finished command changed, or executing sent back)

-- machines: why the machine is in error / offline ------------------------------------------------
alter table public.machines add column status_reason text check (length(status_reason) <= 2000);
comment on column public.machines.status_reason is 'Why the machine is in error or offline (e.g. controller lost: silent since ...); null otherwise.';
comment on column public.machines.status is 'idle, running (a process execution is open), paused (its run is paused between steps), error (a run was lost: see status_reason), maintenance or offline (its controller died while idle: see status_reason).';

-- process_executions: paused runs are open runs ---------------------------------------------------
alter table public.process_executions add column paused_at timestamptz;
comment on column public.process_executions.paused_at is 'When the run was paused; null unless status is paused.';
alter table public.process_executions drop constraint process_executions_check;
alter table public.process_executions
  add constraint process_executions_open_until_ended check ((status in ('running', 'paused')) = (ended_at is null)),
  add constraint process_executions_paused_at_only_when_paused check ((status = 'paused') = (paused_at is not null));
alter table public.process_executions rename constraint process_executions_check1 to process_executions_ends_after_start;
-- At most one open (running or paused) execution per machine.
drop index public.process_executions_one_running_per_machine;
create unique index process_executions_one_open_per_machine on public.process_executions (machine_id) where status in ('running', 'paused');
comment on column public.process_executions.status is 'running, paused (between steps, by a pause_recipe command), completed, failed or aborted.';

-- controllers -------------------------------------------------------------------------------------
create table public.controllers (
  id uuid primary key default gen_random_uuid(),
  machine_id uuid not null references public.machines (id) on delete cascade,
  host text check (length(host) <= 255),
  version text check (length(version) <= 100),
  status public.controller_status not null default 'alive',
  timeout_ms integer not null default 30000 check (timeout_ms between 1000 and 3600000),
  started_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  ended_at timestamptz,
  ended_reason text check (length(ended_reason) <= 2000),
  replaced_by uuid references public.controllers (id) on delete set null,
  constraint controllers_alive_until_ended check ((status = 'alive') = (ended_at is null))
);
comment on table public.controllers is 'Controller instances, one alive per machine: registered by register_controller, kept alive by the calls a controller already makes (private.note_controller_seen) and by controller_heartbeat, marked dead by private.reap_dead_controllers after timeout_ms of silence.';
comment on column public.controllers.id is 'Controller instance id (one per process start of a controller).';
comment on column public.controllers.machine_id is 'The machine it drives.';
comment on column public.controllers.host is 'Host name the controller runs on, as it reported it.';
comment on column public.controllers.version is 'Controller software version, as it reported it.';
comment on column public.controllers.status is 'alive, dead (silent past timeout_ms), replaced (another controller took over) or stopped.';
comment on column public.controllers.timeout_ms is 'Silence after which the controller is declared dead (default 30000 ms).';
comment on column public.controllers.started_at is 'When it registered.';
comment on column public.controllers.last_seen_at is 'Last call from it: any claim, start, step, completion or run command of its machine (at most one write per second), or a heartbeat.';
comment on column public.controllers.ended_at is 'When it stopped being alive; null while alive.';
comment on column public.controllers.ended_reason is 'Why it is no longer alive.';
comment on column public.controllers.replaced_by is 'The controller that took its machine over.';
create unique index controllers_one_alive_per_machine on public.controllers (machine_id) where status = 'alive';
create index controllers_machine_id_idx on public.controllers (machine_id, started_at desc);
create index controllers_replaced_by_idx on public.controllers (replaced_by);
alter table public.controllers enable row level security;
create policy controllers_viewer_select on public.controllers for select to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('viewer'))::uuid[]));
revoke all on public.controllers from public, anon, authenticated;
grant select on public.controllers to authenticated;
grant all on public.controllers to service_role;

-- recipe_commands: named checks, claim key, attempts, the claiming controller ----------------------
alter table public.recipe_commands rename constraint recipe_commands_check to recipe_commands_start_recipe_names_recipe;
alter table public.recipe_commands rename constraint recipe_commands_check1 to recipe_commands_pending_is_unclaimed;
alter table public.recipe_commands rename constraint recipe_commands_check2 to recipe_commands_claimed_has_claimed_at;
alter table public.recipe_commands rename constraint recipe_commands_check3 to recipe_commands_completed_at_only_when_finished;
alter table public.recipe_commands rename constraint recipe_commands_parameters_check to recipe_commands_parameters_is_object;
alter table public.recipe_commands
  add column claim_key uuid unique,
  add column request_id uuid unique,
  add column attempts integer not null default 0 check (attempts >= 0),
  add column controller_id uuid references public.controllers (id) on delete set null;
alter table public.recipe_commands
  add constraint recipe_commands_finished_has_completed_at check (status not in ('completed', 'failed', 'cancelled') or completed_at is not null),
  add constraint recipe_commands_failed_has_reason check (status <> 'failed' or error_message is not null);
comment on column public.recipe_commands.claim_key is 'Idempotency key of the claim_next_command call that claimed it: a retried claim with the same key returns this command again.';
comment on column public.recipe_commands.request_id is 'Idempotency key of the issue_run_command call that created it.';
comment on column public.recipe_commands.attempts is 'How many times it was claimed; a claim lost with its controller is re-queued while attempts < 3, then failed.';
comment on column public.recipe_commands.controller_id is 'The registered controller that claimed it (null when claimed by an unregistered caller).';
comment on column public.recipe_commands.machine_id is 'The machine that must execute the command. May be left out on insert when the command names a recipe (recipe_id, or parameters.recipe_id): the recipe''s machine is taken.';
comment on column public.recipe_commands.error_message is 'Why it failed (always set for failed commands).';
comment on column public.recipe_commands.status is 'pending, claimed, executing, then completed, failed (with error_message) or cancelled; finished commands never change status again.';
create index recipe_commands_controller_id_idx on public.recipe_commands (controller_id);

-- What a valid command looks like, said before the row reaches the checks (with a hint), and the
-- old web UI's shapes normalised: recipe_id inside parameters, machine_id left to the recipe.
create function private.recipe_command_before_insert()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  from_parameters uuid;
  recipe_machine uuid;
begin
  if new.parameters is null or jsonb_typeof(new.parameters) <> 'object' then
    raise exception using errcode = '23514', schema = 'public', table = 'recipe_commands',
      constraint = 'recipe_commands_parameters_is_object',
      message = 'command parameters must be a JSON object',
      detail = format('got %s', coalesce(jsonb_typeof(new.parameters), 'null')),
      hint = 'send {} or an object such as {"recipe_id": "<uuid>"}';
  end if;
  if new.parameters ? 'recipe_id' then
    begin
      from_parameters := (new.parameters ->> 'recipe_id')::uuid;
    exception when invalid_text_representation then
      raise exception using errcode = '22P02', message = 'parameters.recipe_id is not a uuid',
        detail = format('got %s', new.parameters -> 'recipe_id'),
        hint = 'a start_recipe command names its recipe by id: {"recipe_id": "<uuid>"} or the recipe_id column';
    end;
    if new.recipe_id is null then
      new.recipe_id := from_parameters;
    elsif from_parameters is distinct from new.recipe_id then
      raise exception using errcode = '23514', schema = 'public', table = 'recipe_commands',
        constraint = 'recipe_commands_recipe_id_matches_parameters',
        message = 'recipe_id and parameters.recipe_id name different recipes',
        detail = format('recipe_id %s, parameters.recipe_id %s', new.recipe_id, from_parameters),
        hint = 'give the recipe once, in recipe_id or in parameters.recipe_id';
    end if;
  end if;
  if new.command_type = 'start_recipe' and new.recipe_id is null and new.status not in ('completed', 'failed', 'cancelled') then
    raise exception using errcode = '23514', schema = 'public', table = 'recipe_commands',
      constraint = 'recipe_commands_start_recipe_names_recipe',
      message = 'a start_recipe command must name its recipe',
      hint = 'set recipe_id (or parameters.recipe_id) to the recipe to run';
  end if;
  if new.recipe_id is not null then
    select r.machine_id into recipe_machine from public.recipes r where r.id = new.recipe_id;
    -- (a recipe of another machine is refused when the command is run: start_process, 22023)
    new.machine_id := coalesce(new.machine_id, recipe_machine);
  end if;
  if new.machine_id is null then
    raise exception using errcode = '23514', schema = 'public', table = 'recipe_commands',
      constraint = 'recipe_commands_names_machine',
      message = 'a command must name its machine',
      detail = format('%s command without machine_id%s', new.command_type,
                      case when new.recipe_id is null then ' and without a recipe' else format(' and recipe %s is unknown', new.recipe_id) end),
      hint = 'set machine_id; a start_recipe command may instead name a recipe (recipe_id or parameters.recipe_id), whose machine is used';
  end if;
  new.created_by := coalesce(new.created_by, (select auth.uid()));
  if new.status in ('completed', 'failed', 'cancelled') then
    new.completed_at := coalesce(new.completed_at, now());
  end if;
  if new.status = 'failed' then
    new.error_message := coalesce(new.error_message, 'failed (no reason given)');
  end if;
  return new;
end;
$$;
comment on function private.recipe_command_before_insert() is
  'Before insert on recipe_commands: takes recipe_id from parameters.recipe_id and machine_id from the recipe (the old web UI''s shapes), fills created_by, completed_at and a failure reason, and refuses an invalid command with 23514 naming the rule (constraint) and a hint.';
create trigger recipe_commands_before_insert before insert on public.recipe_commands
  for each row execute function private.recipe_command_before_insert();

-- The life cycle: pending -> claimed -> executing -> completed | failed | cancelled; a claim may go
-- back to pending (its controller was lost); finished commands are final.
create function private.recipe_command_before_update()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if new.status is distinct from old.status then
    if old.status in ('completed', 'failed', 'cancelled')
       or (old.status = 'executing' and new.status in ('pending', 'claimed'))
       or (old.status = 'claimed' and new.status = 'claimed') then
      raise exception using errcode = 'RC006', message = 'illegal command transition',
        detail = format('command %s cannot go from %s to %s', old.id, old.status, new.status),
        hint = 'commands go pending -> claimed -> executing -> completed, failed or cancelled; completed, failed and cancelled are final';
    end if;
    if new.status = 'pending' then
      new.claimed_at := null;
      new.claimed_by := null;
      new.claim_key := null;
      new.controller_id := null;
    end if;
    if new.status in ('completed', 'failed', 'cancelled') then
      new.completed_at := coalesce(new.completed_at, now());
    end if;
  end if;
  if new.status = 'failed' then
    new.error_message := coalesce(new.error_message, 'failed (no reason given)');
  end if;
  return new;
end;
$$;
comment on function private.recipe_command_before_update() is
  'Before update on recipe_commands: refuses illegal status transitions (RC006: finished commands are final, executing never goes back), clears the claim when a command is re-queued, stamps completed_at and a failure reason.';
create trigger recipe_commands_before_update before update on public.recipe_commands
  for each row execute function private.recipe_command_before_update();

-- live progress -------------------------------------------------------------------------------------
alter table public.process_execution_state
  add column run_status public.execution_status not null default 'running',
  add column current_step_type public.step_type,
  add column current_step_name text,
  add column current_step_config jsonb,
  add column current_step_started_at timestamptz,
  add column current_loop_count integer check (current_loop_count >= 1),
  add column started_at timestamptz not null default now(),
  add column elapsed_ms bigint not null default 0 check (elapsed_ms >= 0),
  add column estimated_remaining_ms bigint check (estimated_remaining_ms >= 0);
comment on column public.process_execution_state.run_status is 'The execution''s status (running, paused, completed, failed, aborted), copied here so a progress screen subscribed to this table alone sees pauses and the end.';
comment on column public.process_execution_state.current_step_type is 'Type of the running step (valve, purge, parameter, loop).';
comment on column public.process_execution_state.current_step_name is 'Name of the running step.';
comment on column public.process_execution_state.current_step_config is 'Config of the running step: valve_number and duration_ms, duration_ms/gas_type/flow_rate_sccm, parameter_id and value, or iteration_count.';
comment on column public.process_execution_state.current_step_started_at is 'When the running step began.';
comment on column public.process_execution_state.current_loop_count is 'iteration_count of the loop the running step is in (current_loop_iteration of current_loop_count); null outside loops.';
comment on column public.process_execution_state.started_at is 'When the run started.';
comment on column public.process_execution_state.elapsed_ms is 'Wall time from the start of the run to the last progress update (pauses included), in ms.';
comment on column public.process_execution_state.estimated_remaining_ms is 'elapsed_ms per completed step times the steps left; null before the first step completes, 0 once ended.';

-- The liveness clock -------------------------------------------------------------------------------
-- Called by every RPC a controller already makes for its machine, so a working controller costs
-- no extra round trip to stay alive. At most one write per controller per second (per tenth of its
-- timeout when that is shorter, so a short timeout is never outrun by the throttle), and it never
-- waits: a row another call is touching right now is skipped (skip locked).
create function private.note_controller_seen(p_machine_id uuid)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  update public.controllers c
  set last_seen_at = now()
  where c.id = (
    select x.id from public.controllers x
    where x.machine_id = p_machine_id and x.status = 'alive'
      and x.last_seen_at < now() - least(interval '1 second', x.timeout_ms * interval '100 microseconds')
    for update skip locked);
end;
$$;
comment on function private.note_controller_seen(uuid) is
  'Moves last_seen_at of the machine''s alive controller to now (at most once a second, or a tenth of its timeout if shorter; never waiting on a lock); a no-op when none is registered. Called by claim_next_command, start_process, advance_step, complete_process, apply_run_command and complete_command; the recording RPCs should call it too.';

-- Ending a run: shared by complete_process, a stop command and the dead-controller job. Closes the
-- open step, ends the execution, moves the progress, sets the machine (idle, or error with a
-- reason) and finishes the command that started the run. The caller has locked the execution.
-- The step and the run end at p_at (a journaled end: the controller's time) or now().
create function private.end_process(p_process_id uuid, p_status public.execution_status, p_error_message text,
                                   p_machine_status public.machine_status default 'idle', p_machine_reason text default null,
                                   p_at timestamptz default null)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  pe public.process_executions;
  closed integer;
  t timestamptz;
begin
  select * into pe from public.process_executions e where e.id = p_process_id;
  -- The end's time: p_at (the controller's, checked by private.controller_time) or now(), never
  -- before the run or its open step began (private.run_time, 20261126001500_advance_step.sql).
  t := private.run_time(pe.id, coalesce(p_at, now()));

  update public.step_executions x
  set status = case when p_status = 'completed' then 'completed'::public.step_execution_status
                    else 'aborted'::public.step_execution_status end,
      ended_at = t,
      error_message = coalesce(p_error_message, x.error_message)
  where x.process_id = pe.id and x.status = 'running';
  get diagnostics closed = row_count;

  update public.process_executions e
  set status = p_status, ended_at = t, paused_at = null,
      error_message = p_error_message
  where e.id = pe.id;

  update public.process_execution_state x
  set current_step_id = null, current_step_execution_id = null,
      completed_steps = x.completed_steps + closed,
      progress_percent = least(100, round(100.0 * (x.completed_steps + closed) / greatest(x.total_steps, 1), 2)),
      run_status = p_status,
      current_step_type = null, current_step_name = null, current_step_config = null, current_step_started_at = null,
      elapsed_ms = greatest(0, round(extract(epoch from (t - x.started_at)) * 1000))::bigint,
      estimated_remaining_ms = 0,
      updated_at = now()
  where x.process_id = pe.id;

  update public.machines m
  set status = p_machine_status, current_process_id = null, status_reason = p_machine_reason
  where m.id = pe.machine_id and m.current_process_id is not distinct from pe.id;

  if pe.command_id is not null then
    update public.recipe_commands c
    set status = case when p_status = 'completed' then 'completed'::public.command_status
                      else 'failed'::public.command_status end,
        completed_at = now(),
        error_message = case when p_status = 'completed' then p_error_message
                             else coalesce(p_error_message, format('process %s ended %s', pe.id, p_status)) end
    where c.id = pe.command_id and c.status in ('pending', 'claimed', 'executing');
  end if;
end;
$$;
comment on function private.end_process(uuid, public.execution_status, text, public.machine_status, text, timestamptz) is
  'Ends a locked, open process execution: closes its open step (completed or aborted), sets status/ended_at (both at p_at, default now(), never before the run or the step began: private.run_time), moves the progress, sets the machine (idle, or error with a reason) and finishes its start command (failed with a reason unless completed).';

revoke execute on function private.recipe_command_before_insert() from public, anon, authenticated, service_role;
revoke execute on function private.recipe_command_before_update() from public, anon, authenticated, service_role;
revoke execute on function private.note_controller_seen(uuid) from public, anon, authenticated, service_role;
revoke execute on function private.end_process(uuid, public.execution_status, text, public.machine_status, text, timestamptz) from public, anon, authenticated, service_role;
