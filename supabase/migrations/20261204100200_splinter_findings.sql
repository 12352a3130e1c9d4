-- Issue 14, finding 7: what Supabase's linter (splinter) reported on the migrated schema.

-- multiple_permissive_policies: the `for all` admin policies of recipe_steps and the four step
-- config tables also applied to SELECT, beside the viewer policy, so every read evaluated both.
-- One permissive policy per (role, action), as for recipes: viewers select, admins insert,
-- update and delete.
drop policy recipe_steps_admin_all on public.recipe_steps;
create policy recipe_steps_admin_insert on public.recipe_steps for insert to authenticated
  with check (recipe_id in (select r.id from public.recipes r where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));
create policy recipe_steps_admin_update on public.recipe_steps for update to authenticated
  using (recipe_id in (select r.id from public.recipes r where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])))
  with check (recipe_id in (select r.id from public.recipes r where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));
create policy recipe_steps_admin_delete on public.recipe_steps for delete to authenticated
  using (recipe_id in (select r.id from public.recipes r where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));

do $$
declare
  t text;
  admin_steps constant text := '(step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id '
    'where r.machine_id = any ((select private.machine_ids_with_role(''admin''))::uuid[])))';
begin
  foreach t in array array['valve_step_configs', 'purge_step_configs', 'parameter_step_configs', 'loop_step_configs'] loop
    execute format('drop policy %I on public.%I', t || '_admin_all', t);
    execute format('create policy %I on public.%I for insert to authenticated with check %s', t || '_admin_insert', t, admin_steps);
    execute format('create policy %I on public.%I for update to authenticated using %s with check %s', t || '_admin_update', t, admin_steps, admin_steps);
    execute format('create policy %I on public.%I for delete to authenticated using %s', t || '_admin_delete', t, admin_steps);
  end loop;
end
$$;

-- unindexed_foreign_keys: splinter wants an index whose leading columns are the foreign key's, in
-- the key's order. component_parameters' key to its component was (component_id, machine_id),
-- covered only in the other order by (machine_id, component_id, name); the key now lists its
-- columns in that order (against a new unique (machine_id, id) of the small components table),
-- so the existing index covers it and the big table gets no extra index.
alter table public.machine_components add constraint machine_components_machine_id_id_key unique (machine_id, id);
alter table public.component_parameters drop constraint component_parameters_component_id_machine_id_fkey;
alter table public.component_parameters add constraint component_parameters_machine_id_component_id_fkey
  foreign key (machine_id, component_id) references public.machine_components (machine_id, id) on delete cascade;
-- The three config tables left with their (step_id, step_type) key (parameter_step_configs has its
-- own, indexed in 20261204100100): the step_id primary key is unique, but splinter counts only an
-- index leading with both columns. The tables hold a few rows per recipe.
create index valve_step_configs_step_id_step_type_idx on public.valve_step_configs (step_id, step_type);
create index purge_step_configs_step_id_step_type_idx on public.purge_step_configs (step_id, step_type);
create index loop_step_configs_step_id_step_type_idx on public.loop_step_configs (step_id, step_type);

-- `alter default privileges in schema public revoke execute on functions from public` (in
-- 20261126000900_grants.sql) does nothing: a per-schema default can only add to the global
-- default, which gives EXECUTE to PUBLIC. So a function created later in public was executable by
-- anon. The global form takes it away for every function the migration role creates from now on;
-- each RPC grants execute to authenticated and service_role itself. Extensions (pgTAP in the test
-- harness) live in the extensions schema and keep PostgreSQL's usual default there.
alter default privileges revoke execute on functions from public;
alter default privileges in schema extensions grant execute on functions to public;
