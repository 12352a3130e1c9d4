-- The controller's command queue, process executions with their progress, the audit of every
-- executed step and of every setpoint change.

create table public.recipe_commands (
  id uuid primary key default gen_random_uuid(),
  machine_id uuid not null references public.machines (id) on delete cascade,
  command_type public.command_type not null,
  recipe_id uuid references public.recipes (id) on delete set null,
  parameters jsonb not null default '{}'::jsonb check (jsonb_typeof(parameters) = 'object'),
  status public.command_status not null default 'pending',
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  claimed_at timestamptz,
  claimed_by text,
  completed_at timestamptz,
  process_id uuid,
  error_message text,
  -- a finished command may outlive its recipe (recipe_id set null on delete); an open one may not
  check (command_type <> 'start_recipe' or recipe_id is not null or status in ('completed', 'failed', 'cancelled')),
  check (status <> 'pending' or claimed_at is null),
  check (status not in ('claimed', 'executing') or claimed_at is not null),
  check (completed_at is null or status in ('completed', 'failed', 'cancelled'))
);
comment on table public.recipe_commands is 'The controller''s queue: operators insert commands, a controller claims each exactly once (claim_next_command).';
comment on column public.recipe_commands.id is 'Command id.';
comment on column public.recipe_commands.machine_id is 'The machine that must execute the command.';
comment on column public.recipe_commands.command_type is 'What to do: start_recipe, stop_recipe, pause_recipe, resume_recipe or set_parameter.';
comment on column public.recipe_commands.recipe_id is 'The recipe to start (required for start_recipe until the command is finished; a recipe with open commands cannot be deleted).';
comment on column public.recipe_commands.parameters is 'Command arguments as a JSON object.';
comment on column public.recipe_commands.status is 'pending, claimed, executing, completed, failed or cancelled.';
comment on column public.recipe_commands.created_by is 'Auth user who issued the command.';
comment on column public.recipe_commands.created_at is 'When the command was issued; claims go oldest first.';
comment on column public.recipe_commands.claimed_at is 'When a controller claimed it; null while pending.';
comment on column public.recipe_commands.claimed_by is 'Free-form id of the claiming controller.';
comment on column public.recipe_commands.completed_at is 'When it reached completed, failed or cancelled.';
comment on column public.recipe_commands.process_id is 'The process execution started by this command.';
comment on column public.recipe_commands.error_message is 'Why it failed.';
create index recipe_commands_machine_id_idx on public.recipe_commands (machine_id);
-- (recipe_id, machine_id): also the columns of the composite foreign key to recipes (id,
-- machine_id) that keeps a command's recipe on its machine (20261204100100_same_machine_references.sql).
create index recipe_commands_recipe_id_idx on public.recipe_commands (recipe_id, machine_id);
create index recipe_commands_created_by_idx on public.recipe_commands (created_by);

create table public.process_executions (
  id uuid primary key default gen_random_uuid(),
  machine_id uuid not null references public.machines (id) on delete cascade,
  recipe_id uuid references public.recipes (id) on delete set null,
  command_id uuid references public.recipe_commands (id) on delete set null,
  recipe_snapshot jsonb not null check (jsonb_typeof(recipe_snapshot) = 'object'),
  status public.execution_status not null default 'running',
  operator_id uuid references auth.users (id) on delete set null,
  started_at timestamptz not null default now(),
  ended_at timestamptz,
  error_message text,
  request_id uuid unique,
  check ((status = 'running') = (ended_at is null)),
  check (ended_at >= started_at)
);
comment on table public.process_executions is 'One run of a recipe on a machine, with a snapshot of the recipe as it was started.';
comment on column public.process_executions.id is 'Process execution id (the process_id of data points).';
comment on column public.process_executions.machine_id is 'The machine.';
comment on column public.process_executions.recipe_id is 'The recipe run (null if deleted since; the snapshot remains).';
comment on column public.process_executions.command_id is 'The command that started it, if any.';
comment on column public.process_executions.recipe_snapshot is 'The recipe and its nested steps with configs, frozen at start.';
comment on column public.process_executions.status is 'running, completed, failed or aborted.';
comment on column public.process_executions.operator_id is 'Auth user responsible for the run.';
comment on column public.process_executions.started_at is 'Start of the run.';
comment on column public.process_executions.ended_at is 'End of the run; null while running.';
comment on column public.process_executions.error_message is 'Why the run failed or was aborted.';
comment on column public.process_executions.request_id is 'Idempotency key of the start_process call: a retried start returns this execution instead of failing.';
create index process_executions_machine_id_idx on public.process_executions (machine_id, started_at desc);
create index process_executions_recipe_id_idx on public.process_executions (recipe_id);
create index process_executions_command_id_idx on public.process_executions (command_id);
create index process_executions_operator_id_idx on public.process_executions (operator_id);
-- At most one running execution per machine: a second start is refused by the database itself.
create unique index process_executions_one_running_per_machine on public.process_executions (machine_id) where status = 'running';

alter table public.recipe_commands
  add foreign key (process_id) references public.process_executions (id) on delete set null;
create index recipe_commands_process_id_idx on public.recipe_commands (process_id);

alter table public.machines
  add foreign key (current_process_id) references public.process_executions (id) on delete set null;
create index machines_current_process_id_idx on public.machines (current_process_id);

create table public.step_executions (
  id uuid primary key default gen_random_uuid(),
  process_id uuid not null references public.process_executions (id) on delete cascade,
  step_id uuid references public.recipe_steps (id) on delete set null,
  step_index integer not null check (step_index >= 0),
  step_type public.step_type not null,
  loop_iteration integer check (loop_iteration >= 1),
  status public.step_execution_status not null default 'running',
  started_at timestamptz not null default now(),
  ended_at timestamptz,
  details jsonb,
  error_message text,
  unique (process_id, step_index),
  check ((status = 'running') = (ended_at is null)),
  check (ended_at >= started_at)
);
comment on table public.step_executions is 'Audit of every executed step of a process: one row per step_index, opened and closed by advance_step.';
comment on column public.step_executions.id is 'Step execution id.';
comment on column public.step_executions.process_id is 'The process execution.';
comment on column public.step_executions.step_id is 'The recipe step executed.';
comment on column public.step_executions.step_index is 'Position in the executed sequence, from 0 (loops unrolled).';
comment on column public.step_executions.step_type is 'Type of the step, copied so the audit survives recipe edits.';
comment on column public.step_executions.loop_iteration is 'Iteration of the innermost enclosing loop, from 1; null outside loops.';
comment on column public.step_executions.status is 'running until closed; then completed, failed, skipped or aborted.';
comment on column public.step_executions.started_at is 'When the step began.';
comment on column public.step_executions.ended_at is 'When the step ended; null while running.';
comment on column public.step_executions.details is 'What the step did (for a parameter step: parameter, old and new value, version).';
comment on column public.step_executions.error_message is 'Why the step failed.';
create index step_executions_step_id_idx on public.step_executions (step_id);
-- unique (process_id, step_index) leads with process_id: covers the process foreign key.

create table public.process_execution_state (
  process_id uuid primary key references public.process_executions (id) on delete cascade,
  current_step_id uuid references public.recipe_steps (id) on delete set null,
  current_step_execution_id uuid references public.step_executions (id) on delete set null,
  current_step_index integer check (current_step_index >= 0),
  total_steps integer not null check (total_steps >= 0),
  completed_steps integer not null default 0 check (completed_steps >= 0),
  current_loop_iteration integer check (current_loop_iteration >= 1),
  progress_percent numeric(5, 2) not null default 0 check (progress_percent between 0 and 100),
  updated_at timestamptz not null default now()
);
comment on table public.process_execution_state is 'Live progress of a process execution; written only by advance_step and complete_process, in the same transaction as the step audit.';
comment on column public.process_execution_state.process_id is 'The process execution.';
comment on column public.process_execution_state.current_step_id is 'The step running now; null before the first and after the last.';
comment on column public.process_execution_state.current_step_execution_id is 'The open step_executions row.';
comment on column public.process_execution_state.current_step_index is 'step_index of the running step.';
comment on column public.process_execution_state.total_steps is 'Number of steps once loops are unrolled.';
comment on column public.process_execution_state.completed_steps is 'Steps closed so far.';
comment on column public.process_execution_state.current_loop_iteration is 'Iteration of the innermost loop, from 1.';
comment on column public.process_execution_state.progress_percent is 'completed_steps / total_steps, in percent.';
comment on column public.process_execution_state.updated_at is 'When progress last moved.';
create index process_execution_state_current_step_id_idx on public.process_execution_state (current_step_id);
create index process_execution_state_current_step_execution_id_idx on public.process_execution_state (current_step_execution_id);

create table public.parameter_changes (
  id bigint generated always as identity primary key,
  parameter_id uuid not null references public.component_parameters (id) on delete cascade,
  machine_id uuid not null references public.machines (id) on delete cascade,
  old_value double precision,
  new_value double precision,
  old_version bigint not null,
  new_version bigint not null check (new_version > old_version),
  changed_by uuid references auth.users (id) on delete set null,
  changed_by_role text not null,
  source public.change_source not null,
  reason text check (length(reason) <= 1000),
  process_id uuid references public.process_executions (id) on delete set null,
  step_execution_id uuid references public.step_executions (id) on delete set null,
  request_id uuid unique,
  changed_at timestamptz not null default now()
);
comment on table public.parameter_changes is 'Audit of every setpoint change, written by a trigger whoever makes it.';
comment on column public.parameter_changes.id is 'Change id, increasing.';
comment on column public.parameter_changes.parameter_id is 'The parameter.';
comment on column public.parameter_changes.machine_id is 'Its machine (for RLS and per-machine history).';
comment on column public.parameter_changes.old_value is 'Setpoint before.';
comment on column public.parameter_changes.new_value is 'Setpoint after.';
comment on column public.parameter_changes.old_version is 'Parameter version before.';
comment on column public.parameter_changes.new_version is 'Parameter version after.';
comment on column public.parameter_changes.changed_by is 'Auth user who made the change (null for the controller or a direct database session).';
comment on column public.parameter_changes.changed_by_role is 'Database role or JWT role that made the change (authenticated, service_role, postgres ...).';
comment on column public.parameter_changes.source is 'operator, recipe, controller, api or system.';
comment on column public.parameter_changes.reason is 'Why, in words (at most 1000 characters).';
comment on column public.parameter_changes.process_id is 'The process execution during which a recipe changed it.';
comment on column public.parameter_changes.step_execution_id is 'The step execution that changed it.';
comment on column public.parameter_changes.request_id is 'Idempotency key of the set_parameter_value call: a retried call with the same key writes nothing twice.';
comment on column public.parameter_changes.changed_at is 'When (transaction time).';
create index parameter_changes_parameter_id_idx on public.parameter_changes (parameter_id, changed_at desc);
create index parameter_changes_machine_id_idx on public.parameter_changes (machine_id, changed_at desc);
create index parameter_changes_changed_by_idx on public.parameter_changes (changed_by);
create index parameter_changes_process_id_idx on public.parameter_changes (process_id);
create index parameter_changes_step_execution_id_idx on public.parameter_changes (step_execution_id);
