-- The permission matrix: for each of six identities, every public table (select, insert, update,
-- delete) and every public function (execute), tried on machine A's data (ALD Reactor A). Each
-- check runs in its own subtransaction that is always rolled back, so every check sees the same
-- fixture, and its outcome is one of:
--   allowed   the statement succeeded and read or changed at least one row of machine A
--   filtered  no error, but RLS hid machine A's rows: 0 rows read or changed, or P0002 from a
--             function that looks the machine up through RLS (it is "not found" for the caller)
--   refused   42501: no privilege on the table, column or function, an RLS WITH CHECK violation,
--             or a definer function's own role check
-- docs/security.md is generated from this file's TAP output by scripts/security-matrix.ts, which
-- parses the descriptions 'matrix: <identity> | <object> | <action> | <outcome>'.
begin;

-- Identities: a role and the JWT claims PostgREST would set for it.
create temp table identities (ord integer primary key, name text not null, role text not null, claims text not null);
insert into identities values
  (1, 'anon', 'anon', '{"role":"anon"}'),
  (2, 'viewer of A', 'authenticated', '{"sub":"00000000-0000-4000-8000-000000000101","role":"authenticated"}'),
  (3, 'operator of A', 'authenticated', '{"sub":"00000000-0000-4000-8000-000000000102","role":"authenticated"}'),
  (4, 'admin of A', 'authenticated', '{"sub":"00000000-0000-4000-8000-000000000103","role":"authenticated"}'),
  (5, 'operator of B', 'authenticated', '{"sub":"00000000-0000-4000-8000-000000000201","role":"authenticated"}'),
  (6, 'service_role', 'service_role', '{"role":"service_role"}');

-- One row per (object, action). expected holds one letter per identity in the order above:
-- a = allowed, f = filtered, r = refused. kind: count = a query returning one count; dml = a
-- statement whose row count is taken. setup runs as postgres inside the same rolled-back
-- subtransaction, before switching identity. @pid is the fixture's running process on machine A.
create temp table checks (
  ord serial primary key,
  object text not null,
  object_kind text not null check (object_kind in ('table', 'function')),
  action text not null,
  expected text not null check (expected ~ '^[afr]{6}$'),
  kind text not null check (kind in ('count', 'dml')),
  sql text not null,
  setup text
);

insert into checks (object, object_kind, action, expected, kind, sql, setup) values
  -- machines: read by anyone listed on the machine; only admins edit (name, model, serial, location)
  ('machines', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.machines where id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('machines', 'table', 'insert', 'rrrrra', 'dml', $q$ insert into public.machines (name) values ('Matrix machine') $q$, null),
  ('machines', 'table', 'update', 'rffafa', 'dml', $q$ update public.machines set location = location where id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('machines', 'table', 'delete', 'rrrrra', 'dml', $q$ delete from public.machines where id = '00000000-0000-4000-8000-000000000001' $q$, null),
  -- machine_operators: users see their own grants, admins manage the machine's
  ('machine_operators', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.machine_operators where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('machine_operators', 'table', 'insert', 'rrrara', 'dml', $q$ insert into public.machine_operators (machine_id, user_id, role) values ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000201', 'viewer') $q$, null),
  ('machine_operators', 'table', 'update', 'rffafa', 'dml', $q$ update public.machine_operators set role = role where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('machine_operators', 'table', 'delete', 'rffafa', 'dml', $q$ delete from public.machine_operators where machine_id = '00000000-0000-4000-8000-000000000001' and user_id = '00000000-0000-4000-8000-000000000101' $q$, null),
  -- components and parameters: viewers read, admins manage
  ('machine_components', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.machine_components where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('machine_components', 'table', 'insert', 'rrrara', 'dml', $q$ insert into public.machine_components (machine_id, name, component_type) values ('00000000-0000-4000-8000-000000000001', 'Matrix component', 'heater') $q$, null),
  ('machine_components', 'table', 'update', 'rffafa', 'dml', $q$ update public.machine_components set name = name where id = '00000000-0000-4000-8000-000000001021' $q$, null),
  ('machine_components', 'table', 'delete', 'rffafa', 'dml', $q$ delete from public.machine_components where id = '00000000-0000-4000-8000-000000001021' $q$, null),
  ('component_parameters', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.component_parameters where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('component_parameters', 'table', 'insert', 'rrrara', 'dml', $q$ insert into public.component_parameters (component_id, machine_id, name) values ('00000000-0000-4000-8000-000000001021', '00000000-0000-4000-8000-000000000001', 'matrix_parameter') $q$, null),
  ('component_parameters', 'table', 'update', 'rffafa', 'dml', $q$ update public.component_parameters set display_name = display_name where id = md5('ald-demo/vacuum_pump/power_on')::uuid $q$, null),
  ('component_parameters', 'table', 'delete', 'rffafa', 'dml', $q$ delete from public.component_parameters where id = md5('ald-demo/vacuum_pump/power_on')::uuid $q$, null),
  -- the per-machine epoch: read-only for users, written by triggers
  ('machine_parameter_epochs', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.machine_parameter_epochs where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('machine_parameter_epochs', 'table', 'insert', 'rrrrra', 'dml', $q$ insert into public.machine_parameter_epochs (machine_id) values ('00000000-0000-4000-8000-000000000001') $q$,
   $q$ delete from public.machine_parameter_epochs where machine_id = '00000000-0000-4000-8000-000000000001' $q$),
  ('machine_parameter_epochs', 'table', 'update', 'rrrrra', 'dml', $q$ update public.machine_parameter_epochs set epoch = epoch where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('machine_parameter_epochs', 'table', 'delete', 'rrrrra', 'dml', $q$ delete from public.machine_parameter_epochs where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  -- recipes, steps and step configs: viewers read, admins manage
  ('recipes', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.recipes where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('recipes', 'table', 'insert', 'rrrara', 'dml', $q$ insert into public.recipes (machine_id, name) values ('00000000-0000-4000-8000-000000000001', 'Matrix recipe, inserted') $q$, null),
  ('recipes', 'table', 'update', 'rffafa', 'dml', $q$ update public.recipes set description = description where id = '00000000-0000-4000-8000-000000003001' $q$, null),
  -- (the fixture's recipe without commands: a recipe a start_recipe command names cannot be deleted
  -- by anyone, 23514, because the command's recipe_id would be set null)
  ('recipes', 'table', 'delete', 'rffafa', 'dml', $q$ delete from public.recipes where id = '00000000-0000-4000-8000-000000003301' $q$, null),
  ('recipe_steps', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.recipe_steps where recipe_id = '00000000-0000-4000-8000-000000003001' $q$, null),
  ('recipe_steps', 'table', 'insert', 'rrrara', 'dml', $q$ insert into public.recipe_steps (recipe_id, sequence_number, step_type, name) values ('00000000-0000-4000-8000-000000003301', 99, 'purge', 'Matrix step, inserted') $q$, null),
  ('recipe_steps', 'table', 'update', 'rffafa', 'dml', $q$ update public.recipe_steps set name = name where id = '00000000-0000-4000-8000-000000003102' $q$, null),
  ('recipe_steps', 'table', 'delete', 'rffafa', 'dml', $q$ delete from public.recipe_steps where id = '00000000-0000-4000-8000-000000003108' $q$, null),
  ('valve_step_configs', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.valve_step_configs where step_id = '00000000-0000-4000-8000-000000003104' $q$, null),
  ('valve_step_configs', 'table', 'insert', 'rrrara', 'dml', $q$ insert into public.valve_step_configs (step_id, valve_number, duration_ms) values ('00000000-0000-4000-8000-000000003391', 1, 100) $q$, null),
  ('valve_step_configs', 'table', 'update', 'rffafa', 'dml', $q$ update public.valve_step_configs set duration_ms = duration_ms where step_id = '00000000-0000-4000-8000-000000003104' $q$, null),
  ('valve_step_configs', 'table', 'delete', 'rffafa', 'dml', $q$ delete from public.valve_step_configs where step_id = '00000000-0000-4000-8000-000000003104' $q$, null),
  ('purge_step_configs', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.purge_step_configs where step_id = '00000000-0000-4000-8000-000000003102' $q$, null),
  ('purge_step_configs', 'table', 'insert', 'rrrara', 'dml', $q$ insert into public.purge_step_configs (step_id, duration_ms) values ('00000000-0000-4000-8000-000000003392', 1000) $q$, null),
  ('purge_step_configs', 'table', 'update', 'rffafa', 'dml', $q$ update public.purge_step_configs set duration_ms = duration_ms where step_id = '00000000-0000-4000-8000-000000003102' $q$, null),
  ('purge_step_configs', 'table', 'delete', 'rffafa', 'dml', $q$ delete from public.purge_step_configs where step_id = '00000000-0000-4000-8000-000000003102' $q$, null),
  ('parameter_step_configs', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.parameter_step_configs where step_id = '00000000-0000-4000-8000-000000003101' $q$, null),
  ('parameter_step_configs', 'table', 'insert', 'rrrara', 'dml', $q$ insert into public.parameter_step_configs (step_id, parameter_id, value) values ('00000000-0000-4000-8000-000000003393', md5('ald-demo/chamber_heater/temperature_set')::uuid, 180) $q$, null),
  ('parameter_step_configs', 'table', 'update', 'rffafa', 'dml', $q$ update public.parameter_step_configs set value = value where step_id = '00000000-0000-4000-8000-000000003101' $q$, null),
  ('parameter_step_configs', 'table', 'delete', 'rffafa', 'dml', $q$ delete from public.parameter_step_configs where step_id = '00000000-0000-4000-8000-000000003101' $q$, null),
  ('loop_step_configs', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.loop_step_configs where step_id = '00000000-0000-4000-8000-000000003103' $q$, null),
  ('loop_step_configs', 'table', 'insert', 'rrrara', 'dml', $q$ insert into public.loop_step_configs (step_id, iteration_count) values ('00000000-0000-4000-8000-000000003394', 2) $q$, null),
  ('loop_step_configs', 'table', 'update', 'rffafa', 'dml', $q$ update public.loop_step_configs set iteration_count = iteration_count where step_id = '00000000-0000-4000-8000-000000003103' $q$, null),
  ('loop_step_configs', 'table', 'delete', 'rffafa', 'dml', $q$ delete from public.loop_step_configs where step_id = '00000000-0000-4000-8000-000000003103' $q$, null),
  -- commands: viewers read, operators issue and cancel pending ones, nobody but the controller deletes
  ('recipe_commands', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.recipe_commands where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('recipe_commands', 'table', 'insert', 'rraara', 'dml', $q$ insert into public.recipe_commands (machine_id, command_type, created_by) values ('00000000-0000-4000-8000-000000000001', 'stop_recipe', (select auth.uid())) $q$, null),
  ('recipe_commands', 'table', 'update', 'rfaafa', 'dml', $q$ update public.recipe_commands set status = 'cancelled' where id = 'e0000000-0000-4000-8000-000000000001' $q$, null),
  ('recipe_commands', 'table', 'delete', 'rrrrra', 'dml', $q$ delete from public.recipe_commands where id = 'e0000000-0000-4000-8000-000000000001' $q$, null),
  -- controllers: viewers read; written only by register_controller, the liveness clock and the job
  ('controllers', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.controllers where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('controllers', 'table', 'insert', 'rrrrra', 'dml', $q$ insert into public.controllers (machine_id, status, ended_at) values ('00000000-0000-4000-8000-000000000001', 'stopped', now()) $q$, null),
  ('controllers', 'table', 'update', 'rrrrra', 'dml', $q$ update public.controllers set host = host where id = 'f0000000-0000-4000-8000-000000000001' $q$, null),
  ('controllers', 'table', 'delete', 'rrrrra', 'dml', $q$ delete from public.controllers where id = 'f0000000-0000-4000-8000-000000000001' $q$, null),
  -- executions, progress, audits and data: read-only for users, written by the definer functions
  ('process_executions', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.process_executions where id = @pid $q$, null),
  ('process_executions', 'table', 'insert', 'rrrrra', 'dml', $q$ insert into public.process_executions (machine_id, recipe_snapshot, status, ended_at) values ('00000000-0000-4000-8000-000000000001', '{}', 'completed', now()) $q$, null),
  ('process_executions', 'table', 'update', 'rrrrra', 'dml', $q$ update public.process_executions set error_message = error_message where id = @pid $q$, null),
  ('process_executions', 'table', 'delete', 'rrrrra', 'dml', $q$ delete from public.process_executions where id = @pid $q$, null),
  ('process_execution_state', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.process_execution_state where process_id = @pid $q$, null),
  ('process_execution_state', 'table', 'insert', 'rrrrra', 'dml', $q$ insert into public.process_execution_state (process_id, total_steps) values (@pid, 45) $q$,
   $q$ delete from public.process_execution_state where process_id = @pid $q$),
  ('process_execution_state', 'table', 'update', 'rrrrra', 'dml', $q$ update public.process_execution_state set updated_at = updated_at where process_id = @pid $q$, null),
  ('process_execution_state', 'table', 'delete', 'rrrrra', 'dml', $q$ delete from public.process_execution_state where process_id = @pid $q$, null),
  ('step_executions', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.step_executions where process_id = @pid $q$, null),
  ('step_executions', 'table', 'insert', 'rrrrra', 'dml', $q$ insert into public.step_executions (process_id, step_id, step_index, step_type) values (@pid, '00000000-0000-4000-8000-000000003108', 44, 'purge') $q$, null),
  ('step_executions', 'table', 'update', 'rrrrra', 'dml', $q$ update public.step_executions set details = details where process_id = @pid $q$, null),
  ('step_executions', 'table', 'delete', 'rrrrra', 'dml', $q$ delete from public.step_executions where process_id = @pid $q$, null),
  ('parameter_changes', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.parameter_changes where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('parameter_changes', 'table', 'insert', 'rrrrra', 'dml', $q$ insert into public.parameter_changes (parameter_id, machine_id, old_version, new_version, changed_by_role, source) values (md5('ald-demo/chamber_heater/kp')::uuid, '00000000-0000-4000-8000-000000000001', 1, 2, 'matrix', 'system') $q$, null),
  ('parameter_changes', 'table', 'update', 'rrrrra', 'dml', $q$ update public.parameter_changes set reason = reason where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('parameter_changes', 'table', 'delete', 'rrrrra', 'dml', $q$ delete from public.parameter_changes where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  -- readings: one row per machine tick, read by the machine's viewers, written by the RPCs (and service_role)
  ('readings', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.readings where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('readings', 'table', 'insert', 'rrrrra', 'dml', $q$ insert into public.readings (machine_id, ts, layout_version, vals) values ('00000000-0000-4000-8000-000000000001', now() - interval '10 minutes', 1, array[1.0]) $q$, null),
  ('readings', 'table', 'update', 'rrrrra', 'dml', $q$ update public.readings set vals = vals where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('readings', 'table', 'delete', 'rrrrra', 'dml', $q$ delete from public.readings where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  -- setpoint requests: viewers read; created by the set_value trigger, moved by the controller's RPCs
  ('setpoint_requests', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.setpoint_requests where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('setpoint_requests', 'table', 'insert', 'rrrrra', 'dml', $q$ insert into public.setpoint_requests (machine_id, parameter_id, value, version, requested_by_role, source) values ('00000000-0000-4000-8000-000000000001', md5('ald-demo/chamber_heater/kd')::uuid, 1, 1, 'matrix', 'api') $q$, null),
  ('setpoint_requests', 'table', 'update', 'rrrrra', 'dml', $q$ update public.setpoint_requests set reason = reason where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('setpoint_requests', 'table', 'delete', 'rrrrra', 'dml', $q$ delete from public.setpoint_requests where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  -- a partition, reached directly (PostgREST exposes partitions as tables); the monthly partitions
  -- carry the same grants (asserted at the end)
  ('readings_default', 'table', 'select', 'rrrrra', 'count', $q$ select count(*) from public.readings_default where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('readings_default', 'table', 'insert', 'rrrrra', 'dml', $q$ insert into public.readings_default (machine_id, ts, layout_version, vals) values ('00000000-0000-4000-8000-000000000001', '2001-01-01 00:00:00+00', 1, array[1.0]) $q$, null),
  ('readings_default', 'table', 'update', 'rrrrra', 'dml', $q$ update public.readings_default set vals = vals where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('readings_default', 'table', 'delete', 'rrrrra', 'dml', $q$ delete from public.readings_default where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('reading_layouts', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.reading_layouts where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('reading_layouts', 'table', 'insert', 'rrrrra', 'dml', $q$ insert into public.reading_layouts (machine_id, version, parameter_ids) values ('00000000-0000-4000-8000-000000000001', 99, '{}') $q$, null),
  ('reading_layouts', 'table', 'update', 'rrrrra', 'dml', $q$ update public.reading_layouts set created_at = created_at where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('reading_layouts', 'table', 'delete', 'rrrrra', 'dml', $q$ delete from public.reading_layouts where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  -- reading_rollups: per-minute rollups, read by the machine's viewers, written by the rollup job (and service_role)
  ('reading_rollups', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.reading_rollups where machine_id = '00000000-0000-4000-8000-000000000001' $q$,
   $q$ insert into public.reading_rollups (machine_id, bucket, layout_version, ticks, mins, maxs, sums, counts) values ('00000000-0000-4000-8000-000000000001', '2026-01-01 00:00:00+00', 1, 1, '{1}', '{1}', '{1}', '{1}') $q$),
  ('reading_rollups', 'table', 'insert', 'rrrrra', 'dml', $q$ insert into public.reading_rollups (machine_id, bucket, layout_version, ticks, mins, maxs, sums, counts) values ('00000000-0000-4000-8000-000000000001', '2026-01-01 00:00:00+00', 1, 1, '{1}', '{1}', '{1}', '{1}') $q$, null),
  ('reading_rollups', 'table', 'update', 'rrrrra', 'dml', $q$ update public.reading_rollups set ticks = ticks where machine_id = '00000000-0000-4000-8000-000000000001' $q$,
   $q$ insert into public.reading_rollups (machine_id, bucket, layout_version, ticks, mins, maxs, sums, counts) values ('00000000-0000-4000-8000-000000000001', '2026-01-01 00:00:00+00', 1, 1, '{1}', '{1}', '{1}', '{1}') $q$),
  ('reading_rollups', 'table', 'delete', 'rrrrra', 'dml', $q$ delete from public.reading_rollups where machine_id = '00000000-0000-4000-8000-000000000001' $q$,
   $q$ insert into public.reading_rollups (machine_id, bucket, layout_version, ticks, mins, maxs, sums, counts) values ('00000000-0000-4000-8000-000000000001', '2026-01-01 00:00:00+00', 1, 1, '{1}', '{1}', '{1}', '{1}') $q$),
  ('latest_readings', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.latest_readings where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('latest_readings', 'table', 'insert', 'rrrrra', 'dml', $q$ insert into public.latest_readings (machine_id, ts, layout_version, vals) values ('00000000-0000-4000-8000-000000000001', now(), 1, '{}') $q$,
   $q$ delete from public.latest_readings where machine_id = '00000000-0000-4000-8000-000000000001' $q$),
  ('latest_readings', 'table', 'update', 'rrrrra', 'dml', $q$ update public.latest_readings set vals = vals where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  ('latest_readings', 'table', 'delete', 'rrrrra', 'dml', $q$ delete from public.latest_readings where machine_id = '00000000-0000-4000-8000-000000000001' $q$, null),
  -- the narrow view (security_invoker: the RLS of readings applies); not updatable (a write fails
  -- with 55000 before any privilege is looked at), so only its reads are in the matrix
  ('process_data_points', 'table', 'select', 'raaafa', 'count', $q$ select count(*) from public.process_data_points where process_id = @pid $q$, null),
  -- functions: the readers are invoker (RLS decides), the writers definer with a role check
  ('get_component_parameters_bulk', 'function', 'execute', 'raaafa', 'count', $q$ select count(*) from public.get_component_parameters_bulk(array['00000000-0000-4000-8000-000000001001', '00000000-0000-4000-8000-000000001021']::uuid[]) $q$, null),
  ('get_machine_parameters', 'function', 'execute', 'raaafa', 'count', $q$ select count(*) from public.get_machine_parameters('00000000-0000-4000-8000-000000000001') $q$, null),
  ('get_parameters', 'function', 'execute', 'raaafa', 'count', $q$ select count(*) from public.get_parameters(array[md5('ald-demo/chamber_heater/kp')::uuid]) $q$, null),
  ('get_parameter_epochs', 'function', 'execute', 'raaafa', 'count', $q$ select count(*) from public.get_parameter_epochs(array['00000000-0000-4000-8000-000000000001']::uuid[]) $q$, null),
  ('set_parameter_value', 'function', 'execute', 'rraara', 'count', $q$ select count(*) from public.set_parameter_value(md5('ald-demo/chamber_heater/kp')::uuid, 5) $q$, null),
  ('record_process_data', 'function', 'execute', 'rraara', 'count', $q$ select count(*) from public.record_process_data(@pid, array[md5('ald-demo/chamber_heater/temperature_read')::uuid], array[151.0], array[now() - interval '1 minute']) $q$, null),
  ('record_readings', 'function', 'execute', 'rraara', 'count', $q$ select count(*) from public.record_readings('00000000-0000-4000-8000-000000000001', array[md5('ald-demo/chamber_heater/temperature_read')::uuid], array[151.0], array[now() - interval '2 minutes']) $q$, null),
  ('get_latest_readings', 'function', 'execute', 'raaafa', 'count', $q$ select count(*) from public.get_latest_readings('00000000-0000-4000-8000-000000000001') $q$, null),
  ('get_readings', 'function', 'execute', 'raaafa', 'count', $q$ select count(*) from public.get_readings('00000000-0000-4000-8000-000000000001', array[md5('ald-demo/chamber_heater/temperature_read')::uuid], now() - interval '1 hour', now() + interval '1 second', 100) $q$, null),
  ('claim_next_command', 'function', 'execute', 'rraara', 'count', $q$ select count(*) from public.claim_next_command('00000000-0000-4000-8000-000000000001') $q$, null),
  ('start_process', 'function', 'execute', 'rraara', 'count', $q$ select count(*) from public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') $q$,
   $q$ select public.complete_process(@pid, 'aborted') $q$),
  ('advance_step', 'function', 'execute', 'rraara', 'count', $q$ select count(*) from public.advance_step(@pid, '00000000-0000-4000-8000-000000003102', 1) $q$, null),
  ('complete_process', 'function', 'execute', 'rraara', 'count', $q$ select count(*) from public.complete_process(@pid) $q$, null),
  -- security invoker: each journaled call runs through its RPC's own checks; 42501 fails the whole batch
  ('apply_journal', 'function', 'execute', 'rraara', 'count', $q$ select count(*) from public.apply_journal(jsonb_build_array(jsonb_build_object('kind', 'advance_step', 'args', jsonb_build_object('process_id', @pid, 'step_id', '00000000-0000-4000-8000-000000003102', 'step_index', 1)))) $q$, null),
  ('get_setpoint_requests', 'function', 'execute', 'raaafa', 'count', $q$ select count(*) from public.get_setpoint_requests('00000000-0000-4000-8000-000000000001') $q$, null),
  ('claim_setpoint_requests', 'function', 'execute', 'rraara', 'count', $q$ select count(*) from public.claim_setpoint_requests('00000000-0000-4000-8000-000000000001') $q$, null),
  ('ack_setpoint_requests', 'function', 'execute', 'rraara', 'count', $q$ select count(*) from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001', array['e0000000-0000-4000-8000-000000000011']::uuid[], array[true]) $q$,
   $q$ select count(*) from public.claim_setpoint_requests('00000000-0000-4000-8000-000000000001') $q$),
  ('report_plc_values', 'function', 'execute', 'rraara', 'count', $q$ select public.report_plc_values('00000000-0000-4000-8000-000000000001', array[md5('ald-demo/chamber_heater/kp')::uuid], array[4.5]) $q$, null),
  -- run control: operators issue pause/resume/stop, the controller applies and confirms commands
  ('issue_run_command', 'function', 'execute', 'rraara', 'count', $q$ select count(*) from public.issue_run_command('00000000-0000-4000-8000-000000000001', 'pause_recipe') $q$, null),
  ('apply_run_command', 'function', 'execute', 'rraara', 'count', $q$ select count(*) from (select public.apply_run_command('e0000000-0000-4000-8000-000000000002')) x $q$,
   $q$ insert into public.recipe_commands (id, machine_id, command_type) values ('e0000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'pause_recipe') $q$),
  ('complete_command', 'function', 'execute', 'rraara', 'count', $q$ select count(*) from public.complete_command('e0000000-0000-4000-8000-000000000003', 'cancelled') $q$,
   $q$ insert into public.recipe_commands (id, machine_id, command_type) values ('e0000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001', 'set_parameter') $q$),
  -- controllers: register (here with takeover of the fixture's controller) and heartbeat
  ('register_controller', 'function', 'execute', 'rraara', 'count', $q$ select count(*) from public.register_controller('00000000-0000-4000-8000-000000000001', 'matrix-host', null, true) $q$, null),
  ('controller_heartbeat', 'function', 'execute', 'rraara', 'count', $q$ select count(*) from public.controller_heartbeat('f0000000-0000-4000-8000-000000000001') $q$, null),
  -- Granted to service_role only; asked for more months ahead than exist, so it really creates
  -- partitions (as its definer: attaching a partition needs the owner of readings).
  ('maintain_readings', 'function', 'execute', 'rrrrra', 'count', $q$ select count(*) from public.maintain_readings(12) $q$, null);

select plan((select count(*)::int * 6 from checks) + 3);

-- The fixture, as postgres: the reactor idle with its recipe active, then a running process that
-- has executed its first step (a setpoint change), recorded one reading in a monthly partition and
-- one in the default partition; a pending command; a live controller; and a recipe with config-less steps to insert
-- configs into.
update public.process_executions set status = 'aborted', ended_at = greatest(now(), started_at)
  where machine_id = '00000000-0000-4000-8000-000000000001' and status = 'running';
update public.machines set status = 'idle', current_process_id = null where id = '00000000-0000-4000-8000-000000000001';
update public.recipes set is_active = true where id = '00000000-0000-4000-8000-000000003001';
insert into public.recipe_commands (id, machine_id, command_type, recipe_id, created_at) values
  ('e0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001', 'start_recipe', '00000000-0000-4000-8000-000000003001', '2000-01-01 00:00:00+00');
insert into public.recipes (id, machine_id, name) values
  ('00000000-0000-4000-8000-000000003301', '00000000-0000-4000-8000-000000000001', 'Matrix recipe');
insert into public.recipe_steps (id, recipe_id, sequence_number, step_type, name) values
  ('00000000-0000-4000-8000-000000003391', '00000000-0000-4000-8000-000000003301', 1, 'valve', 'Matrix valve'),
  ('00000000-0000-4000-8000-000000003392', '00000000-0000-4000-8000-000000003301', 2, 'purge', 'Matrix purge'),
  ('00000000-0000-4000-8000-000000003393', '00000000-0000-4000-8000-000000003301', 3, 'parameter', 'Matrix parameter'),
  ('00000000-0000-4000-8000-000000003394', '00000000-0000-4000-8000-000000003301', 4, 'loop', 'Matrix loop');
insert into public.controllers (id, machine_id, host, version) values
  ('f0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001', 'matrix-controller', '1.0');
create temp table fixture as
  select (public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') ->> 'process_id')::uuid as pid;
do $$
declare
  pid uuid := (select f.pid from fixture f);
begin
  perform public.advance_step(pid, '00000000-0000-4000-8000-000000003101', 0);
  perform public.record_process_data(pid, array[md5('ald-demo/chamber_heater/temperature_read')::uuid], array[150.0], array[now()]);
  -- a tick outside every monthly partition (the RPCs refuse its time; written directly)
  insert into public.readings (machine_id, ts, layout_version, process_id, vals)
  values ('00000000-0000-4000-8000-000000000001', '2000-01-01 00:00:00+00', 1, pid, array[150.5]);
end $$;

-- A pending setpoint request with a known id for the ack check (the recipe's first step made another).
insert into public.setpoint_requests (id, machine_id, parameter_id, value, version, requested_by_role, source) values
  ('e0000000-0000-4000-8000-000000000011', '00000000-0000-4000-8000-000000000001', md5('ald-demo/chamber_heater/ki')::uuid, 1, 1, 'matrix', 'api');

-- Run every check as every identity.
create temp table outcomes (check_ord integer, identity_ord integer, actual text, detail text, primary key (check_ord, identity_ord));
do $$
declare
  c record;
  i record;
  pid text := quote_literal((select f.pid from fixture f)::text);
  n bigint;
  outcome text;
  detail text;
begin
  for c in select * from checks order by ord loop
    for i in select * from identities order by ord loop
      n := null;
      detail := null;
      begin
        if c.setup is not null then
          execute replace(c.setup, '@pid', pid);
        end if;
        perform set_config('role', i.role, true);
        perform set_config('request.jwt.claims', i.claims, true);
        if c.kind = 'count' then
          execute replace(c.sql, '@pid', pid) into n;
        else
          execute replace(c.sql, '@pid', pid);
          get diagnostics n = row_count;
        end if;
        -- Undo whatever the check did (and the identity switch): every check sees the same fixture.
        raise exception using errcode = 'MX000', message = 'rollback';
      exception
        when sqlstate 'MX000' then
          outcome := case when n > 0 then 'allowed' else 'filtered' end;
          detail := format('%s rows', n);
        when insufficient_privilege then
          outcome := 'refused';
          detail := sqlerrm;
        when no_data_found then
          outcome := 'filtered';
          detail := sqlerrm;
        when others then
          outcome := 'error';
          detail := sqlstate || ': ' || sqlerrm;
      end;
      insert into outcomes values (c.ord, i.ord, outcome, detail);
    end loop;
  end loop;
end $$;

select is(
  o.actual || case when o.actual = e.expected then '' else ' (' || o.detail || ')' end,
  e.expected,
  format('matrix: %s | %s | %s | %s', i.name, c.object, c.action, e.expected))
from checks c
cross join identities i
join outcomes o on o.check_ord = c.ord and o.identity_ord = i.ord
cross join lateral (select case substr(c.expected, i.ord, 1) when 'a' then 'allowed' when 'f' then 'filtered' else 'refused' end as expected) e
order by c.ord, i.ord;

-- The matrix is complete ----------------------------------------------------------------------------------
select is_empty(
  $$ select c.relname::text from pg_catalog.pg_class c
     where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
       and (not c.relispartition or c.relname = 'readings_default')
       and c.relname not in (select object from checks where object_kind = 'table' group by object having count(distinct action) = 4) $$,
  'the matrix covers select, insert, update and delete on every table in public (and the default partition)');
select is_empty(
  $$ select p.proname::text from pg_catalog.pg_proc p
     where p.pronamespace = 'public'::regnamespace and p.prokind = 'f'
       and p.proname not in (select object from checks where object_kind = 'function') $$,
  'the matrix covers every function in public');
select is_empty(
  $$ select c.relname::text from pg_catalog.pg_class c
     where c.relnamespace = 'public'::regnamespace and c.relispartition and c.relkind = 'r'
       and c.relacl is distinct from (select d.relacl from pg_catalog.pg_class d where d.oid = 'public.readings_default'::regclass) $$,
  'every monthly partition of readings has the same grants as the default partition, so its row in the matrix holds for them');

select * from finish();
rollback;
