-- Row level security and grants, seen through each identity of the seed (supabase/seed.sql):
--   anon                                                   no grants: every read is refused (42501)
--   viewer@ald.example          ...-000000000101  viewer   of ALD Reactor A (...-000000000001)
--   operator@ald.example        ...-000000000102  operator of ALD Reactor A
--   admin@ald.example           ...-000000000103  admin    of ALD Reactor A
--   bench-operator@ald.example  ...-000000000201  operator of Test Bench B (...-000000000002) only
--   service_role                                           the controller: sees everything
-- Identity is switched as PostgREST does it: set local role + request.jwt.claims. Writes that RLS
-- filters out (update/delete with a using clause) affect 0 rows without an error; inserts that a
-- with-check clause refuses, and anything without a grant, raise 42501.
begin;
select plan(69);

-- Rows the seed lacks: one setpoint audit row and one data point on each machine.
update public.component_parameters set set_value = 180 where id = md5('ald-demo/chamber_heater/temperature_set')::uuid;
update public.component_parameters set set_value = 30 where id = md5('ald-demo/bench_heater/temperature_set')::uuid;
insert into public.process_executions (id, machine_id, recipe_snapshot) values
  ('00000000-0000-4000-8000-00000000f201', '00000000-0000-4000-8000-000000000001', '{}'),
  ('00000000-0000-4000-8000-00000000f202', '00000000-0000-4000-8000-000000000002', '{}');
select public.record_process_data('00000000-0000-4000-8000-00000000f201', array[md5('ald-demo/chamber_heater/temperature_read')::uuid], array[151.5]),
       public.record_process_data('00000000-0000-4000-8000-00000000f202', array[md5('ald-demo/bench_heater/temperature_read')::uuid], array[29.5]);

-- How many rows a statement touched, as the current role (an update or delete that RLS filters
-- out is not an error, so the row count is what shows it).
-- Its pg_temp helper is called as authenticated: functions created in this rolled-back
-- transaction get PostgreSQL's usual EXECUTE for PUBLIC back (see helpers/identities.sql).
alter default privileges grant execute on functions to public;
create function pg_temp.rows_affected(statement text) returns bigint
language plpgsql
as $$
declare
  n bigint;
begin
  execute statement;
  get diagnostics n = row_count;
  return n;
end;
$$;

-- anon -----------------------------------------------------------------------------------------------
set local role anon;
set local request.jwt.claims = '{"role": "anon"}';
select throws_ok('select * from public.machines', '42501', 'permission denied for table machines',
  'anon cannot read machines');
select throws_ok('select * from public.machine_operators', '42501', 'permission denied for table machine_operators',
  'anon cannot read who operates which machine');
select throws_ok('select * from public.component_parameters', '42501', 'permission denied for table component_parameters',
  'anon cannot read parameters');
select throws_ok('select * from public.recipes', '42501', 'permission denied for table recipes',
  'anon cannot read recipes');
select throws_ok('select * from public.process_data_points', '42501', 'permission denied for view process_data_points',
  'anon cannot read recorded data');
select throws_ok('select * from public.latest_readings', '42501', 'permission denied for table latest_readings',
  'anon cannot read the latest readings');
select throws_ok($$insert into public.recipe_commands (machine_id, command_type) values ('00000000-0000-4000-8000-000000000001', 'stop_recipe')$$,
  '42501', 'permission denied for table recipe_commands',
  'anon cannot issue commands');
select throws_ok($$select private.machine_ids_with_role('viewer')$$, '42501', 'permission denied for schema private',
  'anon cannot reach the private access helpers');
reset role;

-- an authenticated token without a user ----------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = '{"role": "authenticated"}';
select is((select count(*) from public.machines), 0::bigint,
  'an authenticated token without a sub sees no machine');
reset role;

-- viewer of the reactor -------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = '{"sub": "00000000-0000-4000-8000-000000000101", "role": "authenticated"}';
select results_eq('select id from public.machines', $$values ('00000000-0000-4000-8000-000000000001'::uuid)$$,
  'a viewer of the reactor sees the reactor and no other machine');
select is((select count(*) from public.machine_components), 21::bigint,
  'a viewer of the reactor sees its 21 components');
select is((select count(*) from public.component_parameters where machine_id = '00000000-0000-4000-8000-000000000001'), 137::bigint,
  'a viewer of the reactor sees its 137 parameters');
select is((select count(*) from public.component_parameters where machine_id <> '00000000-0000-4000-8000-000000000001'), 0::bigint,
  'a viewer of the reactor sees none of machine B''s parameters');
select is((select count(*) from public.machine_parameter_epochs), 1::bigint,
  'a viewer sees the epoch of the reactor only');
select is((select count(*) from public.recipes), 1::bigint, 'a viewer of the reactor sees its recipe');
select is((select count(*) from public.recipe_steps), 9::bigint, 'a viewer sees the recipe''s 9 steps');
select results_eq(
  $$select (select count(*) from public.valve_step_configs), (select count(*) from public.purge_step_configs),
           (select count(*) from public.parameter_step_configs), (select count(*) from public.loop_step_configs)$$,
  $$values (2::bigint, 4::bigint, 2::bigint, 1::bigint)$$,
  'a viewer sees the step configs: 2 valve, 4 purge, 2 parameter, 1 loop');
select is((select count(*) from public.parameter_changes), 1::bigint,
  'a viewer sees the setpoint audit of the reactor, not machine B''s');
select is((select count(*) from public.process_executions), 1::bigint,
  'a viewer sees the reactor''s process executions only');
select is((select count(*) from public.process_data_points), 1::bigint,
  'a viewer sees the reactor''s data points only');
select results_eq('select machine_id from public.latest_readings', $$values ('00000000-0000-4000-8000-000000000001'::uuid)$$,
  'a viewer sees the reactor''s latest readings only');
select results_eq('select user_id, role::text from public.machine_operators',
  $$values ('00000000-0000-4000-8000-000000000101'::uuid, 'viewer')$$,
  'a viewer sees their own grant and nobody else''s');

select is(pg_temp.rows_affected($$update public.component_parameters set set_value = 190
                                   where id = md5('ald-demo/chamber_heater/temperature_set')::uuid$$), 0::bigint,
  'a viewer''s update of a setpoint affects 0 rows (RLS hides the row from the update)');
select is(pg_temp.rows_affected($$update public.machines set name = 'Renamed' where id = '00000000-0000-4000-8000-000000000001'$$), 0::bigint,
  'a viewer''s rename of the machine affects 0 rows');
select throws_ok($$update public.machines set status = 'maintenance' where id = '00000000-0000-4000-8000-000000000001'$$,
  '42501', 'permission denied for table machines',
  'a viewer cannot update machine status at all (no column grant; only the controller sets it)');
select is(pg_temp.rows_affected($$delete from public.machine_components where machine_id = '00000000-0000-4000-8000-000000000001'$$), 0::bigint,
  'a viewer''s delete of components affects 0 rows');
select is(pg_temp.rows_affected('delete from public.recipes'), 0::bigint,
  'a viewer''s delete of recipes affects 0 rows');
select throws_ok($$insert into public.machine_components (machine_id, name, component_type)
                   values ('00000000-0000-4000-8000-000000000001', 'extra_valve', 'valve')$$,
  '42501', 'new row violates row-level security policy for table "machine_components"',
  'a viewer cannot add a component');
select throws_ok($$insert into public.recipe_commands (machine_id, command_type, created_by)
                   values ('00000000-0000-4000-8000-000000000001', 'stop_recipe', '00000000-0000-4000-8000-000000000101')$$,
  '42501', 'new row violates row-level security policy for table "recipe_commands"',
  'a viewer cannot issue commands');
select throws_ok($$insert into public.readings (machine_id, ts, layout_version, vals)
                   values ('00000000-0000-4000-8000-000000000001', now() - interval '1 minute', 1, array[1.0])$$,
  '42501', 'permission denied for table readings',
  'a viewer cannot write recorded data');
select throws_ok($$insert into public.parameter_changes (parameter_id, machine_id, old_version, new_version, changed_by_role, source)
                   values (md5('ald-demo/chamber_heater/temperature_set')::uuid, '00000000-0000-4000-8000-000000000001', 1, 2, 'x', 'api')$$,
  '42501', 'permission denied for table parameter_changes',
  'a viewer cannot forge audit rows');
reset role;
select results_eq(
  $$select (select set_value from public.component_parameters where id = md5('ald-demo/chamber_heater/temperature_set')::uuid),
           (select name from public.machines where id = '00000000-0000-4000-8000-000000000001'),
           (select count(*) from public.machine_components where machine_id = '00000000-0000-4000-8000-000000000001'),
           (select count(*) from public.recipes)$$,
  $$values (180::float8, 'ALD Reactor A', 21::bigint, 1::bigint)$$,
  'nothing the viewer tried changed anything');

-- operator of the reactor -----------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = '{"sub": "00000000-0000-4000-8000-000000000102", "role": "authenticated"}';
select lives_ok($$insert into public.recipe_commands (machine_id, command_type, recipe_id, created_by)
                  values ('00000000-0000-4000-8000-000000000001', 'start_recipe',
                          '00000000-0000-4000-8000-000000003001', '00000000-0000-4000-8000-000000000102')$$,
  'an operator can issue a command to their machine');
select throws_ok($$insert into public.recipe_commands (machine_id, command_type, created_by)
                   values ('00000000-0000-4000-8000-000000000002', 'stop_recipe', '00000000-0000-4000-8000-000000000102')$$,
  '42501', 'new row violates row-level security policy for table "recipe_commands"',
  'an operator of the reactor cannot issue commands to machine B');
select throws_ok($$insert into public.recipe_commands (machine_id, command_type, created_by)
                   values ('00000000-0000-4000-8000-000000000001', 'stop_recipe', '00000000-0000-4000-8000-000000000101')$$,
  '42501', 'new row violates row-level security policy for table "recipe_commands"',
  'an operator cannot issue a command in someone else''s name');
select throws_ok($$insert into public.recipe_commands (machine_id, command_type, status, claimed_at, created_by)
                   values ('00000000-0000-4000-8000-000000000001', 'stop_recipe', 'claimed', now(), '00000000-0000-4000-8000-000000000102')$$,
  '42501', 'permission denied for table recipe_commands',
  'an operator cannot insert a command already claimed (status, claim and id columns are not granted)');
select throws_ok($$update public.recipe_commands set status = 'completed' where created_by = '00000000-0000-4000-8000-000000000102'$$,
  '42501', 'new row violates row-level security policy for table "recipe_commands"',
  'an operator cannot mark a command completed (only the controller does)');
select is(pg_temp.rows_affected($$update public.recipe_commands set status = 'cancelled' where created_by = '00000000-0000-4000-8000-000000000102'$$), 1::bigint,
  'an operator can cancel a pending command');
select throws_ok($$insert into public.machine_components (machine_id, name, component_type)
                   values ('00000000-0000-4000-8000-000000000001', 'extra_valve', 'valve')$$,
  '42501', 'new row violates row-level security policy for table "machine_components"',
  'an operator cannot add a component (admins manage components)');
select is(pg_temp.rows_affected($$update public.component_parameters set max_value = 500
                                   where id = md5('ald-demo/chamber_heater/temperature_set')::uuid$$), 0::bigint,
  'an operator cannot change parameter limits (0 rows; setpoints go through set_parameter_value)');
reset role;

-- operator of machine B: nothing of the reactor --------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = '{"sub": "00000000-0000-4000-8000-000000000201", "role": "authenticated"}';
select results_eq('select id from public.machines', $$values ('00000000-0000-4000-8000-000000000002'::uuid)$$,
  'the operator of machine B sees machine B and not the reactor');
select is((select count(*) from public.machine_components where machine_id = '00000000-0000-4000-8000-000000000001'), 0::bigint,
  'the operator of machine B sees none of the reactor''s components');
select is((select count(*) from public.component_parameters where machine_id = '00000000-0000-4000-8000-000000000001'), 0::bigint,
  'the operator of machine B sees none of the reactor''s parameters');
select is((select count(*) from public.component_parameters), 4::bigint,
  'the operator of machine B sees the 4 parameters of machine B');
select is((select count(*) from public.recipes), 0::bigint,
  'the operator of machine B sees none of the reactor''s recipes');
select is((select count(*) from public.recipe_steps) + (select count(*) from public.valve_step_configs)
          + (select count(*) from public.parameter_step_configs), 0::bigint,
  'the operator of machine B sees none of the reactor''s steps or configs');
select is((select count(*) from public.machine_parameter_epochs where machine_id = '00000000-0000-4000-8000-000000000001'), 0::bigint,
  'the operator of machine B cannot see the reactor''s epoch');
select results_eq($$select machine_id from public.parameter_changes$$, $$values ('00000000-0000-4000-8000-000000000002'::uuid)$$,
  'the operator of machine B sees machine B''s setpoint audit only');
select results_eq($$select process_id from public.process_data_points$$, $$values ('00000000-0000-4000-8000-00000000f202'::uuid)$$,
  'the operator of machine B sees machine B''s data points only');
select results_eq('select machine_id from public.readings', $$values ('00000000-0000-4000-8000-000000000002'::uuid)$$,
  'the operator of machine B sees machine B''s ticks only');
select is((select count(*) from public.recipe_commands), 0::bigint,
  'the operator of machine B sees none of the reactor''s commands');
select is(pg_temp.rows_affected($$update public.machine_components set is_activated = false
                                   where machine_id = '00000000-0000-4000-8000-000000000001'$$), 0::bigint,
  'the operator of machine B cannot switch off the reactor''s components');
reset role;

-- admin of the reactor ----------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = '{"sub": "00000000-0000-4000-8000-000000000103", "role": "authenticated"}';
select lives_ok($$insert into public.machine_components (id, machine_id, name, component_type)
                  values ('00000000-0000-4000-8000-00000000d001', '00000000-0000-4000-8000-000000000001', 'valve_7', 'valve')$$,
  'an admin can add a component to their machine');
select throws_ok($$insert into public.machine_components (machine_id, name, component_type)
                   values ('00000000-0000-4000-8000-000000000002', 'valve_7', 'valve')$$,
  '42501', 'new row violates row-level security policy for table "machine_components"',
  'an admin of the reactor cannot add a component to machine B');
select is(pg_temp.rows_affected($$update public.machine_components set name = 'valve_7_tma'
                                   where id = '00000000-0000-4000-8000-00000000d001'$$), 1::bigint,
  'an admin can rename a component of their machine');
select is(pg_temp.rows_affected($$update public.machine_components set name = 'renamed'
                                   where machine_id = '00000000-0000-4000-8000-000000000002'$$), 0::bigint,
  'an admin of the reactor cannot rename machine B''s components (0 rows)');
select is(pg_temp.rows_affected($$delete from public.component_parameters
                                   where machine_id = '00000000-0000-4000-8000-000000000002'$$), 0::bigint,
  'an admin of the reactor cannot delete machine B''s parameters (0 rows)');
select throws_ok($$update public.machine_components set machine_id = '00000000-0000-4000-8000-000000000002'
                   where id = '00000000-0000-4000-8000-00000000d001'$$,
  '42501', 'new row violates row-level security policy for table "machine_components"',
  'an admin cannot move a component to a machine they do not administer');
select is((select count(*) from public.machine_operators), 3::bigint,
  'an admin sees the three grants of the reactor and none of machine B''s');
select throws_ok($$insert into public.machine_operators (machine_id, user_id, role)
                   values ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000103', 'admin')$$,
  '42501', 'new row violates row-level security policy for table "machine_operators"',
  'an admin of the reactor cannot grant themselves a role on machine B');
select lives_ok($$insert into public.machine_operators (machine_id, user_id, role)
                  values ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000201', 'viewer')$$,
  'an admin can grant a user a role on their machine');
select throws_ok($$update public.machines set status = 'maintenance' where id = '00000000-0000-4000-8000-000000000001'$$,
  '42501', 'permission denied for table machines',
  'even an admin cannot set the machine status directly');
reset role;

-- the new grant takes effect at once for the grantee
set local role authenticated;
set local request.jwt.claims = '{"sub": "00000000-0000-4000-8000-000000000201", "role": "authenticated"}';
select is((select count(*) from public.component_parameters where machine_id = '00000000-0000-4000-8000-000000000001'), 137::bigint,
  'once granted viewer on the reactor, the operator of machine B sees its 137 parameters');
reset role;

-- service_role -----------------------------------------------------------------------------------------
set local role service_role;
set local request.jwt.claims = '{"role": "service_role"}';
select is((select count(*) from public.machines), 2::bigint, 'service_role sees both machines');
select is((select count(*) from public.machine_components), 24::bigint,
  'service_role sees every component (21 + 2 + the admin''s new one)');
select is((select count(*) from public.component_parameters), 141::bigint,
  'service_role sees the 137 + 4 parameters of both machines');
select is((select count(*) from public.parameter_changes), 2::bigint, 'service_role sees the audit of both machines');
select is((select count(*) from public.process_data_points), 2::bigint, 'service_role sees the data points of both machines');
select is(pg_temp.rows_affected($$update public.machines set status = 'maintenance' where id = '00000000-0000-4000-8000-000000000002'$$), 1::bigint,
  'service_role can set a machine''s status');
reset role;

select * from finish();
rollback;
