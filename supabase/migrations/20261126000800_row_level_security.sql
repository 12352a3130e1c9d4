-- Row level security on every table. service_role bypasses RLS (it is the controller); anon has
-- no grants at all (20261126000900_grants.sql) and no policies here. Policies call
-- private.machine_ids_with_role through (select ...) so it is evaluated once per statement,
-- and that function reads auth.uid() the same way.

alter table public.machines enable row level security;
alter table public.machine_operators enable row level security;
alter table public.machine_components enable row level security;
alter table public.component_parameters enable row level security;
alter table public.machine_parameter_epochs enable row level security;
alter table public.recipes enable row level security;
alter table public.recipe_steps enable row level security;
alter table public.valve_step_configs enable row level security;
alter table public.purge_step_configs enable row level security;
alter table public.parameter_step_configs enable row level security;
alter table public.loop_step_configs enable row level security;
alter table public.recipe_commands enable row level security;
alter table public.process_executions enable row level security;
alter table public.process_execution_state enable row level security;
alter table public.step_executions enable row level security;
alter table public.parameter_changes enable row level security;

-- machines -------------------------------------------------------------------------------------
create policy machines_viewer_select on public.machines for select to authenticated
  using (id = any ((select private.machine_ids_with_role('viewer'))::uuid[]));
create policy machines_admin_update on public.machines for update to authenticated
  using (id = any ((select private.machine_ids_with_role('admin'))::uuid[]))
  with check (id = any ((select private.machine_ids_with_role('admin'))::uuid[]));

-- machine_operators: users see their own grants; admins see and manage the machine's grants ----
create policy machine_operators_select on public.machine_operators for select to authenticated
  using (user_id = (select auth.uid()) or machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]));
create policy machine_operators_admin_insert on public.machine_operators for insert to authenticated
  with check (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]));
create policy machine_operators_admin_update on public.machine_operators for update to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]))
  with check (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]));
create policy machine_operators_admin_delete on public.machine_operators for delete to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]));

-- components and parameters: viewers read, admins manage; setpoints go through set_parameter_value
create policy machine_components_viewer_select on public.machine_components for select to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('viewer'))::uuid[]));
create policy machine_components_admin_insert on public.machine_components for insert to authenticated
  with check (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]));
create policy machine_components_admin_update on public.machine_components for update to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]))
  with check (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]));
create policy machine_components_admin_delete on public.machine_components for delete to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]));

create policy component_parameters_viewer_select on public.component_parameters for select to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('viewer'))::uuid[]));
create policy component_parameters_admin_insert on public.component_parameters for insert to authenticated
  with check (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]));
create policy component_parameters_admin_update on public.component_parameters for update to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]))
  with check (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]));
create policy component_parameters_admin_delete on public.component_parameters for delete to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]));

create policy machine_parameter_epochs_viewer_select on public.machine_parameter_epochs for select to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('viewer'))::uuid[]));

-- recipes and their steps: viewers read, admins manage ------------------------------------------
-- One permissive policy per (role, action): viewers select; admins insert, update and delete. A
-- `for all` admin policy would apply to SELECT too, beside the viewer policy, so every read would
-- evaluate both (splinter's multiple_permissive_policies, issue 14, finding 7).
create policy recipes_viewer_select on public.recipes for select to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('viewer'))::uuid[]));
create policy recipes_admin_insert on public.recipes for insert to authenticated
  with check (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]));
create policy recipes_admin_update on public.recipes for update to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]))
  with check (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]));
create policy recipes_admin_delete on public.recipes for delete to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[]));

create policy recipe_steps_viewer_select on public.recipe_steps for select to authenticated
  using (recipe_id in (select r.id from public.recipes r where r.machine_id = any ((select private.machine_ids_with_role('viewer'))::uuid[])));
create policy recipe_steps_admin_insert on public.recipe_steps for insert to authenticated
  with check (recipe_id in (select r.id from public.recipes r where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));
create policy recipe_steps_admin_update on public.recipe_steps for update to authenticated
  using (recipe_id in (select r.id from public.recipes r where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])))
  with check (recipe_id in (select r.id from public.recipes r where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));
create policy recipe_steps_admin_delete on public.recipe_steps for delete to authenticated
  using (recipe_id in (select r.id from public.recipes r where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));

create policy valve_step_configs_viewer_select on public.valve_step_configs for select to authenticated
  using (step_id in (select s.id from public.recipe_steps s));
create policy valve_step_configs_admin_insert on public.valve_step_configs for insert to authenticated
  with check (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));
create policy valve_step_configs_admin_update on public.valve_step_configs for update to authenticated
  using (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])))
  with check (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));
create policy valve_step_configs_admin_delete on public.valve_step_configs for delete to authenticated
  using (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));
create policy purge_step_configs_viewer_select on public.purge_step_configs for select to authenticated
  using (step_id in (select s.id from public.recipe_steps s));
create policy purge_step_configs_admin_insert on public.purge_step_configs for insert to authenticated
  with check (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));
create policy purge_step_configs_admin_update on public.purge_step_configs for update to authenticated
  using (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])))
  with check (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));
create policy purge_step_configs_admin_delete on public.purge_step_configs for delete to authenticated
  using (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));
create policy parameter_step_configs_viewer_select on public.parameter_step_configs for select to authenticated
  using (step_id in (select s.id from public.recipe_steps s));
create policy parameter_step_configs_admin_insert on public.parameter_step_configs for insert to authenticated
  with check (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));
create policy parameter_step_configs_admin_update on public.parameter_step_configs for update to authenticated
  using (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])))
  with check (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));
create policy parameter_step_configs_admin_delete on public.parameter_step_configs for delete to authenticated
  using (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));
create policy loop_step_configs_viewer_select on public.loop_step_configs for select to authenticated
  using (step_id in (select s.id from public.recipe_steps s));
create policy loop_step_configs_admin_insert on public.loop_step_configs for insert to authenticated
  with check (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));
create policy loop_step_configs_admin_update on public.loop_step_configs for update to authenticated
  using (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])))
  with check (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));
create policy loop_step_configs_admin_delete on public.loop_step_configs for delete to authenticated
  using (step_id in (select s.id from public.recipe_steps s join public.recipes r on r.id = s.recipe_id
                     where r.machine_id = any ((select private.machine_ids_with_role('admin'))::uuid[])));

-- commands: viewers read, operators issue and cancel ---------------------------------------------
create policy recipe_commands_viewer_select on public.recipe_commands for select to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('viewer'))::uuid[]));
create policy recipe_commands_operator_insert on public.recipe_commands for insert to authenticated
  with check (machine_id = any ((select private.machine_ids_with_role('operator'))::uuid[])
              and created_by = (select auth.uid()) and status = 'pending');
create policy recipe_commands_operator_cancel on public.recipe_commands for update to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('operator'))::uuid[]) and status = 'pending')
  with check (machine_id = any ((select private.machine_ids_with_role('operator'))::uuid[]) and status in ('pending', 'cancelled'));

-- executions, progress and audits: read-only for viewers; written by the controller's RPCs
create policy process_executions_viewer_select on public.process_executions for select to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('viewer'))::uuid[]));
create policy process_execution_state_viewer_select on public.process_execution_state for select to authenticated
  using (process_id in (select p.id from public.process_executions p));
create policy step_executions_viewer_select on public.step_executions for select to authenticated
  using (process_id in (select p.id from public.process_executions p));
create policy parameter_changes_viewer_select on public.parameter_changes for select to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('viewer'))::uuid[]));
