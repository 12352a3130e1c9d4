-- Recipes: ordered steps (valve, purge, parameter, loop), loops nesting their children,
-- and one config table per step type. The composite foreign keys (step_id, step_type)
-- make a config row impossible on a step of another type.

create table public.recipes (
  id uuid primary key default gen_random_uuid(),
  machine_id uuid not null references public.machines (id) on delete cascade,
  name text not null check (length(btrim(name)) between 1 and 200),
  description text,
  version integer not null default 1 check (version >= 1),
  is_active boolean not null default true,
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (machine_id, name)
);
comment on table public.recipes is 'A deposition recipe for one machine.';
comment on column public.recipes.id is 'Recipe id.';
comment on column public.recipes.machine_id is 'The machine the recipe runs on.';
comment on column public.recipes.name is 'Name, unique per machine.';
comment on column public.recipes.description is 'Free text: film, target thickness, notes.';
comment on column public.recipes.version is 'Recipe revision, for the humans; executions keep a snapshot anyway.';
comment on column public.recipes.is_active is 'Inactive recipes cannot be started.';
comment on column public.recipes.created_by is 'Auth user who created the recipe.';
comment on column public.recipes.created_at is 'When the row was created.';
comment on column public.recipes.updated_at is 'When the row last changed.';
create index recipes_created_by_idx on public.recipes (created_by);

create table public.recipe_steps (
  id uuid primary key default gen_random_uuid(),
  recipe_id uuid not null references public.recipes (id) on delete cascade,
  parent_step_id uuid,
  sequence_number integer not null check (sequence_number > 0),
  step_type public.step_type not null,
  name text not null check (length(btrim(name)) between 1 and 200),
  description text,
  created_at timestamptz not null default now(),
  unique (id, recipe_id),
  unique (id, step_type),
  unique nulls not distinct (recipe_id, parent_step_id, sequence_number),
  foreign key (parent_step_id, recipe_id) references public.recipe_steps (id, recipe_id) on delete cascade,
  check (parent_step_id is distinct from id)
);
comment on table public.recipe_steps is 'One step of a recipe. Top-level steps have no parent; the children of a loop step point to it with parent_step_id.';
comment on column public.recipe_steps.id is 'Step id.';
comment on column public.recipe_steps.recipe_id is 'The recipe.';
comment on column public.recipe_steps.parent_step_id is 'The enclosing loop step, or null at top level; must be a loop of the same recipe.';
comment on column public.recipe_steps.sequence_number is 'Order among siblings, from 1.';
comment on column public.recipe_steps.step_type is 'valve, purge, parameter or loop; selects the config table.';
comment on column public.recipe_steps.name is 'Human name of the step.';
comment on column public.recipe_steps.description is 'Free text.';
comment on column public.recipe_steps.created_at is 'When the row was created.';
-- unique (recipe_id, parent_step_id, sequence_number) leads with recipe_id: covers the recipe foreign key.
create index recipe_steps_parent_step_id_idx on public.recipe_steps (parent_step_id, recipe_id);

-- A parent must be a loop step. A check constraint cannot look at another row, so a trigger does it.
create function private.recipe_steps_parent_is_loop() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if new.parent_step_id is not null and not exists (
    select 1 from public.recipe_steps s where s.id = new.parent_step_id and s.step_type = 'loop'
  ) then
    raise exception using errcode = '23514',
      message = 'parent step must be a loop step',
      detail = format('step %s has parent %s, which is not a loop', new.id, new.parent_step_id);
  end if;
  if tg_op = 'UPDATE' and new.step_type <> 'loop' and old.step_type = 'loop' and exists (
    select 1 from public.recipe_steps s where s.parent_step_id = new.id
  ) then
    raise exception using errcode = '23514', message = 'a loop step with children cannot change type';
  end if;
  return new;
end;
$$;
comment on function private.recipe_steps_parent_is_loop() is 'Trigger: rejects (23514) a step whose parent is not a loop, and a loop with children turned into another type.';

create trigger recipe_steps_parent_is_loop
  before insert or update of parent_step_id, step_type on public.recipe_steps
  for each row execute function private.recipe_steps_parent_is_loop();

create table public.valve_step_configs (
  step_id uuid primary key,
  step_type public.step_type not null default 'valve' check (step_type = 'valve'),
  valve_number integer not null check (valve_number between 1 and 64),
  duration_ms integer not null check (duration_ms > 0 and duration_ms <= 3600000),
  foreign key (step_id, step_type) references public.recipe_steps (id, step_type) on delete cascade
);
comment on table public.valve_step_configs is 'Config of a valve step: which valve opens, for how long.';
comment on column public.valve_step_configs.step_id is 'The valve step.';
comment on column public.valve_step_configs.step_type is 'Always valve; part of the foreign key that pins the step type.';
comment on column public.valve_step_configs.valve_number is 'Valve number on the machine, from 1.';
comment on column public.valve_step_configs.duration_ms is 'Pulse length in milliseconds (> 0, at most one hour).';

create table public.purge_step_configs (
  step_id uuid primary key,
  step_type public.step_type not null default 'purge' check (step_type = 'purge'),
  duration_ms integer not null check (duration_ms > 0 and duration_ms <= 3600000),
  gas_type text not null default 'N2' check (length(btrim(gas_type)) between 1 and 50),
  flow_rate_sccm double precision check (flow_rate_sccm >= 0 and flow_rate_sccm < 'Infinity'),
  foreign key (step_id, step_type) references public.recipe_steps (id, step_type) on delete cascade
);
comment on table public.purge_step_configs is 'Config of a purge step: gas, flow and duration.';
comment on column public.purge_step_configs.step_id is 'The purge step.';
comment on column public.purge_step_configs.step_type is 'Always purge; part of the foreign key that pins the step type.';
comment on column public.purge_step_configs.duration_ms is 'Purge length in milliseconds (> 0, at most one hour).';
comment on column public.purge_step_configs.gas_type is 'Purge gas, N2 by default.';
comment on column public.purge_step_configs.flow_rate_sccm is 'Purge flow in sccm, null to keep the current flow.';

create table public.parameter_step_configs (
  step_id uuid primary key,
  step_type public.step_type not null default 'parameter' check (step_type = 'parameter'),
  parameter_id uuid not null references public.component_parameters (id) on delete cascade,
  value double precision not null check (value not in ('NaN', 'Infinity', '-Infinity')),
  foreign key (step_id, step_type) references public.recipe_steps (id, step_type) on delete cascade
);
comment on table public.parameter_step_configs is 'Config of a parameter step: the setpoint it writes (validated again when the step runs).';
comment on column public.parameter_step_configs.step_id is 'The parameter step.';
comment on column public.parameter_step_configs.step_type is 'Always parameter; part of the foreign key that pins the step type.';
comment on column public.parameter_step_configs.parameter_id is 'The parameter to set.';
comment on column public.parameter_step_configs.value is 'The setpoint to write; finite.';
create index parameter_step_configs_parameter_id_idx on public.parameter_step_configs (parameter_id);

create table public.loop_step_configs (
  step_id uuid primary key,
  step_type public.step_type not null default 'loop' check (step_type = 'loop'),
  iteration_count integer not null check (iteration_count > 0 and iteration_count <= 100000),
  foreign key (step_id, step_type) references public.recipe_steps (id, step_type) on delete cascade
);
comment on table public.loop_step_configs is 'Config of a loop step: how many times its children run.';
comment on column public.loop_step_configs.step_id is 'The loop step.';
comment on column public.loop_step_configs.step_type is 'Always loop; part of the foreign key that pins the step type.';
comment on column public.loop_step_configs.iteration_count is 'Number of iterations (1 to 100000).';

-- The (step_id, step_type) foreign keys of the config tables are covered by their primary keys (leading step_id).

-- Closed by default: nothing in private is executable by PUBLIC; these run only inside the
-- definer RPCs and triggers (as their owner).
revoke execute on function
  private.recipe_steps_parent_is_loop()
from public;
