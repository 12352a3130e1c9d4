-- Issue 14, finding 7: what Supabase's linter (splinter) reported on the migrated schema: foreign
-- keys without a matching index, and functions executable by PUBLIC. (Its
-- multiple_permissive_policies finding is answered by the one-policy-per-action admin policies of
-- 20261126000800_row_level_security.sql.)

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
