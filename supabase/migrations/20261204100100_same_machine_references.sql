-- Issue 14, finding 2 (and 6, first item): a row of one machine may only reference rows of the
-- same machine. Before, an admin of machine A could point a parameter step config of A's recipe
-- at a parameter of machine B (RLS only looked at the step), and advance_step's replay and
-- start_process's plan then returned B's row to a user who cannot read B; an operator could
-- issue a command naming B's recipe. Now composite foreign keys carry the machine along:
--
--   recipes (id, machine_id)  <-  recipe_steps (recipe_id, machine_id)
--   recipe_steps (id, step_type, machine_id)  <-  parameter_step_configs (step_id, step_type, machine_id)
--   component_parameters (id, machine_id)  <-  parameter_step_configs (parameter_id, machine_id)
--   recipes (id, machine_id)  <-  recipe_commands (recipe_id, machine_id)
--
-- recipe_steps.machine_id and parameter_step_configs.machine_id are filled by triggers from the
-- recipe and the step (writers never name them), so existing inserts keep working. A foreign
-- reference fails with 23503 whether or not the other machine's row exists: no existence oracle.
-- Moving a recipe to another machine cascades to its steps and configs and is refused (23503)
-- when a parameter step would then point at another machine's parameter, or when commands name it.
-- Also here: private.recipe_steps_json, the nested steps of start_process's plan, which reads
-- recipe_steps.machine_id.

-- Targets of the composite keys.
alter table public.recipes add constraint recipes_id_machine_id_key unique (id, machine_id);
alter table public.component_parameters add constraint component_parameters_id_machine_id_key unique (id, machine_id);

-- recipe_steps ------------------------------------------------------------------------------------
alter table public.recipe_steps add column machine_id uuid;
comment on column public.recipe_steps.machine_id is
  'The recipe''s machine, set by a trigger from recipe_id and kept equal by the composite foreign key (recipe_id, machine_id); parameter steps reference parameters of this machine only.';
update public.recipe_steps s set machine_id = r.machine_id from public.recipes r where r.id = s.recipe_id;
alter table public.recipe_steps alter column machine_id set not null;

create function private.recipe_steps_set_machine_id() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  -- definer: the recipe is looked up whatever the writer may read; the RLS check on the new row
  -- (admin of the recipe's machine) comes after this trigger and refuses a foreign recipe (42501).
  select r.machine_id into new.machine_id from public.recipes r where r.id = new.recipe_id;
  return new;
end;
$$;
comment on function private.recipe_steps_set_machine_id() is
  'Trigger: sets recipe_steps.machine_id from the step''s recipe on insert and when recipe_id changes (the foreign key then checks the pair).';
revoke all on function private.recipe_steps_set_machine_id() from public, anon, authenticated, service_role;
create trigger recipe_steps_set_machine_id
  before insert or update of recipe_id on public.recipe_steps
  for each row execute function private.recipe_steps_set_machine_id();

alter table public.recipe_steps drop constraint recipe_steps_recipe_id_fkey;
alter table public.recipe_steps add constraint recipe_steps_recipe_id_machine_id_fkey
  foreign key (recipe_id, machine_id) references public.recipes (id, machine_id) on update cascade on delete cascade;
create index recipe_steps_recipe_id_machine_id_idx on public.recipe_steps (recipe_id, machine_id);
alter table public.recipe_steps add constraint recipe_steps_id_step_type_machine_id_key unique (id, step_type, machine_id);

-- parameter_step_configs --------------------------------------------------------------------------
alter table public.parameter_step_configs add column machine_id uuid;
comment on column public.parameter_step_configs.machine_id is
  'The step''s machine, set by a trigger from step_id; both composite foreign keys use it, so the parameter belongs to the machine of the recipe.';
update public.parameter_step_configs c set machine_id = s.machine_id from public.recipe_steps s where s.id = c.step_id;
-- A config already pointing at another machine's parameter (what the review did) cannot be kept:
-- it would fail the new key. Remove it rather than fail the migration; the step then has no config
-- and advance_step refuses it (P0002) until an admin sets a parameter of its own machine.
delete from public.parameter_step_configs c
where not exists (select 1 from public.component_parameters p where p.id = c.parameter_id and p.machine_id = c.machine_id);
alter table public.parameter_step_configs alter column machine_id set not null;

create function private.parameter_step_configs_set_machine_id() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  select s.machine_id into new.machine_id from public.recipe_steps s where s.id = new.step_id;
  return new;
end;
$$;
comment on function private.parameter_step_configs_set_machine_id() is
  'Trigger: sets parameter_step_configs.machine_id from the step on every insert and update, so a writer cannot choose it; the composite foreign keys then refuse a parameter of another machine (23503).';
revoke all on function private.parameter_step_configs_set_machine_id() from public, anon, authenticated, service_role;
create trigger parameter_step_configs_set_machine_id
  before insert or update on public.parameter_step_configs
  for each row execute function private.parameter_step_configs_set_machine_id();

alter table public.parameter_step_configs drop constraint parameter_step_configs_step_id_step_type_fkey;
alter table public.parameter_step_configs add constraint parameter_step_configs_step_fkey
  foreign key (step_id, step_type, machine_id) references public.recipe_steps (id, step_type, machine_id)
  on update cascade on delete cascade;
create index parameter_step_configs_step_id_step_type_machine_id_idx
  on public.parameter_step_configs (step_id, step_type, machine_id);
alter table public.parameter_step_configs drop constraint parameter_step_configs_parameter_id_fkey;
alter table public.parameter_step_configs add constraint parameter_step_configs_parameter_fkey
  foreign key (parameter_id, machine_id) references public.component_parameters (id, machine_id) on delete cascade;
drop index public.parameter_step_configs_parameter_id_idx;
create index parameter_step_configs_parameter_id_machine_id_idx on public.parameter_step_configs (parameter_id, machine_id);

-- recipe_commands: the recipe of a command is a recipe of the commanded machine ---------------------
-- (a finished command outlives its recipe: on delete only recipe_id is set null, machine_id stays)
update public.recipe_commands c set recipe_id = null, status = 'cancelled', completed_at = coalesce(c.completed_at, now()),
  error_message = coalesce(c.error_message, 'cancelled by migration 20261204100100: its recipe belongs to another machine')
where c.recipe_id is not null
  and not exists (select 1 from public.recipes r where r.id = c.recipe_id and r.machine_id = c.machine_id)
  and c.status = 'pending';
update public.recipe_commands c set recipe_id = null
where c.recipe_id is not null
  and not exists (select 1 from public.recipes r where r.id = c.recipe_id and r.machine_id = c.machine_id)
  and c.status in ('completed', 'failed', 'cancelled');
alter table public.recipe_commands drop constraint recipe_commands_recipe_id_fkey;
alter table public.recipe_commands add constraint recipe_commands_recipe_id_fkey
  foreign key (recipe_id, machine_id) references public.recipes (id, machine_id) on delete set null (recipe_id);
-- (covered by recipe_commands_recipe_id_idx (recipe_id, machine_id), 20261126000400_process.sql)

-- start_process's plan (20261126001400_start_process.sql): the nested steps below parent_step_id
-- (null: top level) as a jsonb array, in sequence order. Each step: {id, name, step_type,
-- sequence_number, config, children?}. Here rather than beside start_process because a sql body is
-- checked when it is created and reads recipe_steps.machine_id, added above. Every RPC answers
-- only what the caller may read: a parameter step's parameter details come from the recipe's own
-- machine (the keys above make anything else impossible; the join condition keeps it so for rows
-- written before them or by a superuser bypassing the keys). advance_step's reply filters its
-- parameter row the same way (private.step_reply, 20261126001500_advance_step.sql).
create function private.recipe_steps_json(recipe_id uuid, parent_step_id uuid)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(jsonb_agg(step order by seq), '[]'::jsonb)
  from (
    select s.sequence_number as seq,
           jsonb_strip_nulls(jsonb_build_object(
             'id', s.id,
             'name', s.name,
             'step_type', s.step_type,
             'sequence_number', s.sequence_number,
             'config', case s.step_type
               when 'valve' then (select jsonb_build_object('valve_number', v.valve_number, 'duration_ms', v.duration_ms)
                                  from public.valve_step_configs v where v.step_id = s.id)
               when 'purge' then (select jsonb_build_object('duration_ms', g.duration_ms, 'gas_type', g.gas_type, 'flow_rate_sccm', g.flow_rate_sccm)
                                  from public.purge_step_configs g where g.step_id = s.id)
               when 'parameter' then (select jsonb_build_object('parameter_id', c.parameter_id, 'value', c.value,
                                                                'parameter_name', p.name, 'component_id', p.component_id, 'unit', p.unit)
                                      from public.parameter_step_configs c
                                      left join public.component_parameters p on p.id = c.parameter_id and p.machine_id = s.machine_id
                                      where c.step_id = s.id)
               when 'loop' then (select jsonb_build_object('iteration_count', l.iteration_count)
                                 from public.loop_step_configs l where l.step_id = s.id)
             end,
             'children', case when s.step_type = 'loop' then private.recipe_steps_json(recipe_id, s.id) end
           )) as step
    from public.recipe_steps s
    where s.recipe_id = recipe_steps_json.recipe_id
      and s.parent_step_id is not distinct from recipe_steps_json.parent_step_id
  ) t;
$$;
comment on function private.recipe_steps_json(uuid, uuid) is 'The steps of a recipe below a parent (null: top level) as nested jsonb with configs, in sequence order; a parameter step shows only a parameter of the recipe''s own machine.';
-- Closed by default: nothing in private is executable by PUBLIC; it runs only inside the definer
-- RPCs (as their owner).
revoke execute on function private.recipe_steps_json(uuid, uuid) from public;
