-- Explicit grants. Nothing relies on Supabase's default grants (which are being phased out):
-- first everything is revoked from the API roles, then each right is given by name.
-- RLS (20261126000800) then narrows authenticated to its machines.

alter default privileges in schema public revoke all on tables from anon, authenticated;
alter default privileges in schema public revoke all on sequences from anon, authenticated;
alter default privileges in schema public revoke execute on functions from public, anon, authenticated;

revoke all on all tables in schema public from public, anon, authenticated;
revoke all on all sequences in schema public from public, anon, authenticated;
revoke execute on all functions in schema public from public, anon, authenticated;

grant usage on schema public to anon, authenticated, service_role;

-- the controller: everything
grant all on all tables in schema public to service_role;
grant all on all sequences in schema public to service_role;

-- authenticated users: read what RLS shows them
grant select on
  public.machines, public.machine_operators, public.machine_components, public.component_parameters,
  public.machine_parameter_epochs, public.recipes, public.recipe_steps, public.valve_step_configs,
  public.purge_step_configs, public.parameter_step_configs, public.loop_step_configs,
  public.recipe_commands, public.process_executions, public.process_execution_state,
  public.step_executions, public.parameter_changes
to authenticated;

-- admins manage machines' operators, components, parameters and recipes (RLS checks the role)
grant update (name, model, serial_number, location) on public.machines to authenticated;
grant insert, update, delete on
  public.machine_operators, public.machine_components, public.component_parameters,
  public.recipes, public.recipe_steps, public.valve_step_configs, public.purge_step_configs,
  public.parameter_step_configs, public.loop_step_configs
to authenticated;

-- operators issue and cancel commands (RLS checks the role)
grant insert (machine_id, command_type, recipe_id, parameters, created_by) on public.recipe_commands to authenticated;
grant update (status) on public.recipe_commands to authenticated;
