-- The rules the schema enforces by itself, whoever writes: each constraint rejects a bad row with
-- its SQLSTATE (and, where the name is stable, the exact constraint in the message), and the
-- boundary values are accepted. Runs as the database owner on the seed (supabase/seed.sql).
--   reactor  00000000-0000-4000-8000-000000000001    bench B  00000000-0000-4000-8000-000000000002
--   chamber_heater 00000000-0000-4000-8000-000000001001, recipe 00000000-0000-4000-8000-000000003001,
--   steps: 3102 purge, 3103 loop, 3104 valve (TMA pulse), 3105 purge (inside the loop)
begin;
select plan(40);

-- component_parameters ----------------------------------------------------------------------------
-- A scratch parameter without limits isolates one rule at a time.
insert into public.component_parameters (id, component_id, machine_id, name)
values ('00000000-0000-4000-8000-00000000e001', '00000000-0000-4000-8000-000000001001',
        '00000000-0000-4000-8000-000000000001', 'scratch');

select throws_ok($$insert into public.component_parameters (component_id, machine_id, name, min_value, max_value)
                   values ('00000000-0000-4000-8000-000000001001', '00000000-0000-4000-8000-000000000001', 'bad_limits', 10, 5)$$,
  '23514', 'new row for relation "component_parameters" violates check constraint "component_parameters_min_le_max"',
  'a parameter whose min_value exceeds its max_value is rejected');
select throws_ok($$insert into public.component_parameters (component_id, machine_id, name, min_value, max_value)
                   values ('00000000-0000-4000-8000-000000001001', '00000000-0000-4000-8000-000000000001', 'bad_limits', '-Infinity', 5)$$,
  '23514', 'new row for relation "component_parameters" violates check constraint "component_parameters_limits_finite"',
  'an infinite limit is rejected');
select throws_ok($$update public.component_parameters set set_value = 400.5
                   where id = md5('ald-demo/chamber_heater/temperature_set')::uuid$$,
  '23514', 'new row for relation "component_parameters" violates check constraint "component_parameters_set_value_in_range"',
  'a setpoint above max_value is rejected');
select throws_ok($$update public.component_parameters set set_value = -0.5
                   where id = md5('ald-demo/chamber_heater/temperature_set')::uuid$$,
  '23514', 'new row for relation "component_parameters" violates check constraint "component_parameters_set_value_in_range"',
  'a setpoint below min_value is rejected');
select throws_ok($$update public.component_parameters set set_value = 'NaN' where id = '00000000-0000-4000-8000-00000000e001'$$,
  '23514', 'new row for relation "component_parameters" violates check constraint "component_parameters_set_value_finite"',
  'a NaN setpoint is rejected even without limits');
select throws_ok($$update public.component_parameters set set_value = 'Infinity' where id = '00000000-0000-4000-8000-00000000e001'$$,
  '23514', 'new row for relation "component_parameters" violates check constraint "component_parameters_set_value_finite"',
  'an infinite setpoint is rejected even without limits');
select throws_ok($$update public.component_parameters set set_value = 1000.5
                   where id = md5('ald-demo/chamber_heater/pid_period')::uuid$$,
  '23514', 'new row for relation "component_parameters" violates check constraint "component_parameters_integer_whole"',
  'a fractional setpoint of an integer parameter is rejected');
select throws_ok($$update public.component_parameters set data_type = 'binary', set_value = 2
                   where id = '00000000-0000-4000-8000-00000000e001'$$,
  '23514', 'new row for relation "component_parameters" violates check constraint "component_parameters_binary_01"',
  'a binary parameter set to 2 is rejected even without limits');
-- Real plant tables (issue 11): a binary flag with odd limits is stored, its value is still 0/1.
select lives_ok($$insert into public.component_parameters (component_id, machine_id, name, data_type, min_value, max_value, set_value)
                   values ('00000000-0000-4000-8000-000000001001', '00000000-0000-4000-8000-000000000001', 'odd_binary', 'binary', 0, 2, 1)$$,
  'a binary parameter with limits other than 0..1 (a real plant''s odd range) is stored');
select lives_ok($$update public.component_parameters set is_writable = true where id = '00000000-0000-4000-8000-00000000e001'$$,
  'a writable parameter not yet wired to a write address is stored (its requests are failed by the controller)');
select throws_ok($$update public.component_parameters set write_modbus_address = 5000, write_modbus_type = 'input_register'
                   where id = '00000000-0000-4000-8000-00000000e001'$$,
  '23514', 'new row for relation "component_parameters" violates check constraint "component_parameters_write_register_writable"',
  'a write address in a read-only Modbus table is rejected');
select throws_ok($$update public.component_parameters set read_modbus_address = 5000 where id = '00000000-0000-4000-8000-00000000e001'$$,
  '23514', 'new row for relation "component_parameters" violates check constraint "component_parameters_read_pair"',
  'a read address without its register type is rejected');
select throws_ok($$insert into public.component_parameters (component_id, machine_id, name)
                   values ('00000000-0000-4000-8000-000000001001', '00000000-0000-4000-8000-000000000002', 'wrong_machine')$$,
  '23503', 'insert or update on table "component_parameters" violates foreign key constraint "component_parameters_machine_id_component_id_fkey"',
  'a parameter cannot claim a machine other than its component''s');
select lives_ok($$update public.component_parameters set set_value = 400
                  where id = md5('ald-demo/chamber_heater/temperature_set')::uuid$$,
  'a setpoint equal to max_value is accepted (limits are inclusive)');

-- machine_components ------------------------------------------------------------------------------
select throws_ok($$insert into public.machine_components (machine_id, name, component_type)
                   values ('00000000-0000-4000-8000-000000000001', 'chamber_heater', 'heater')$$,
  '23505', 'duplicate key value violates unique constraint "machine_components_machine_id_name_key"',
  'a second component with the same name on a machine is rejected');
select lives_ok($$insert into public.machine_components (machine_id, name, component_type)
                  values ('00000000-0000-4000-8000-000000000002', 'chamber_heater', 'heater')$$,
  'the same component name on another machine is accepted');
select throws_ok($$insert into public.machine_components (machine_id, name, component_type)
                   values ('00000000-0000-4000-8000-000000000001', 'Mass Flow', 'Mass Flow')$$,
  '23514', 'new row for relation "machine_components" violates check constraint "machine_components_component_type_check"',
  'a component_type that is not snake_case is rejected');

-- recipe steps and their configs ------------------------------------------------------------------
select throws_ok($$update public.valve_step_configs set duration_ms = 0 where step_id = '00000000-0000-4000-8000-000000003104'$$,
  '23514', 'new row for relation "valve_step_configs" violates check constraint "valve_step_configs_duration_ms_check"',
  'a valve pulse of 0 ms is rejected');
select throws_ok($$update public.valve_step_configs set duration_ms = 3600001 where step_id = '00000000-0000-4000-8000-000000003104'$$,
  '23514', 'new row for relation "valve_step_configs" violates check constraint "valve_step_configs_duration_ms_check"',
  'a valve pulse longer than one hour is rejected');
select throws_ok($$update public.valve_step_configs set valve_number = 0 where step_id = '00000000-0000-4000-8000-000000003104'$$,
  '23514', 'new row for relation "valve_step_configs" violates check constraint "valve_step_configs_valve_number_check"',
  'valve number 0 is rejected');
select lives_ok($$update public.valve_step_configs set duration_ms = 1, valve_number = 64
                  where step_id = '00000000-0000-4000-8000-000000003104'$$,
  'a 1 ms pulse on valve 64 is accepted (bounds are inclusive)');
select throws_ok($$update public.loop_step_configs set iteration_count = 0 where step_id = '00000000-0000-4000-8000-000000003103'$$,
  '23514', 'new row for relation "loop_step_configs" violates check constraint "loop_step_configs_iteration_count_check"',
  'a loop of 0 iterations is rejected');
select throws_ok($$update public.purge_step_configs set duration_ms = -1 where step_id = '00000000-0000-4000-8000-000000003102'$$,
  '23514', 'new row for relation "purge_step_configs" violates check constraint "purge_step_configs_duration_ms_check"',
  'a negative purge duration is rejected');
select throws_ok($$update public.purge_step_configs set flow_rate_sccm = 'Infinity' where step_id = '00000000-0000-4000-8000-000000003102'$$,
  '23514', 'new row for relation "purge_step_configs" violates check constraint "purge_step_configs_flow_rate_sccm_check"',
  'an infinite purge flow is rejected');
select throws_ok($$insert into public.recipe_steps (recipe_id, parent_step_id, sequence_number, step_type, name)
                   values ('00000000-0000-4000-8000-000000003001', '00000000-0000-4000-8000-000000003102', 1, 'valve', 'child of a purge')$$,
  '23514', 'parent step must be a loop step',
  'a step whose parent is not a loop is rejected by the trigger');
select throws_ok($$update public.recipe_steps set step_type = 'purge' where id = '00000000-0000-4000-8000-000000003103'$$,
  '23514', 'a loop step with children cannot change type',
  'a loop that has children cannot become another type');
select throws_ok($$insert into public.valve_step_configs (step_id, valve_number, duration_ms)
                   values ('00000000-0000-4000-8000-000000003102', 1, 50)$$,
  '23503', 'insert or update on table "valve_step_configs" violates foreign key constraint "valve_step_configs_step_id_step_type_fkey"',
  'a valve config on a purge step is rejected by the composite foreign key');
select throws_ok($$insert into public.valve_step_configs (step_id, step_type, valve_number, duration_ms)
                   values ('00000000-0000-4000-8000-000000003102', 'purge', 1, 50)$$,
  '23514', 'new row for relation "valve_step_configs" violates check constraint "valve_step_configs_step_type_check"',
  'a valve config cannot pretend to be of another step type');
select throws_ok($$insert into public.recipe_steps (recipe_id, parent_step_id, sequence_number, step_type, name)
                   values ('00000000-0000-4000-8000-000000003001', null, 1, 'purge', 'second step one')$$,
  '23505', 'duplicate key value violates unique constraint "recipe_steps_recipe_id_parent_step_id_sequence_number_key"',
  'two top-level steps with the same sequence number are rejected (nulls not distinct)');

-- machines, commands and executions ---------------------------------------------------------------
select throws_ok($$insert into public.recipe_commands (machine_id, command_type)
                   values ('00000000-0000-4000-8000-000000000001', 'start_recipe')$$,
  '23514', 'a start_recipe command must name its recipe',
  'a start_recipe command without a recipe is rejected');
select throws_ok($$insert into public.recipe_commands (machine_id, command_type, parameters)
                   values ('00000000-0000-4000-8000-000000000001', 'stop_recipe', '[]')$$,
  '23514', 'command parameters must be a JSON object',
  'command parameters that are not a JSON object are rejected');

select lives_ok($$insert into public.process_executions (id, machine_id, recipe_id, recipe_snapshot)
                  values ('00000000-0000-4000-8000-00000000f001', '00000000-0000-4000-8000-000000000001',
                          '00000000-0000-4000-8000-000000003001', '{}')$$,
  'a first running execution on the reactor is accepted');
select throws_ok($$insert into public.process_executions (machine_id, recipe_id, recipe_snapshot)
                   values ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001', '{}')$$,
  '23505', 'duplicate key value violates unique constraint "process_executions_one_open_per_machine"',
  'a second running execution on the same machine is rejected');
select throws_ok($$insert into public.process_executions (machine_id, recipe_snapshot, status)
                   values ('00000000-0000-4000-8000-000000000002', '{}', 'completed')$$,
  '23514', 'new row for relation "process_executions" violates check constraint "process_executions_open_until_ended"',
  'a finished execution without ended_at is rejected');
select throws_ok($$update public.machines set current_process_id = '00000000-0000-4000-8000-00000000f001'
                   where id = '00000000-0000-4000-8000-000000000001'$$,
  '23514', 'new row for relation "machines" violates check constraint "machines_current_process_only_when_running"',
  'an idle machine cannot point at a current process');

-- readings (partitioned: the message names the partition, so only the code is checked)
insert into public.reading_layouts (machine_id, version, parameter_ids)
values ('00000000-0000-4000-8000-000000000001', 1, array[md5('ald-demo/chamber_heater/temperature_read')::uuid]);
select lives_ok($$insert into public.readings (machine_id, ts, layout_version, process_id, vals, set_points)
                  values ('00000000-0000-4000-8000-000000000001', now() - interval '1 minute', 1,
                          '00000000-0000-4000-8000-00000000f001', array[151.5], array[150])$$,
  'a tick is accepted');
select throws_ok($$insert into public.readings (machine_id, ts, layout_version, vals)
                   values ('00000000-0000-4000-8000-000000000001', now() - interval '1 minute', 1, array[152])$$,
  '23505', null,
  'a second tick of the same machine at the same time is rejected');
select throws_ok($$insert into public.readings (machine_id, ts, layout_version, vals)
                   values ('00000000-0000-4000-8000-000000000001', now() - interval '2 minutes', 1, array['NaN'::float8])$$,
  '23514', null,
  'a NaN reading is rejected');
select throws_ok($$insert into public.readings (machine_id, ts, layout_version, vals, set_points)
                   values ('00000000-0000-4000-8000-000000000001', now() - interval '3 minutes', 1, array[150], array['-Infinity'::float8])$$,
  '23514', null,
  'an infinite set point in a tick is rejected');
select throws_ok($$insert into public.readings (machine_id, ts, layout_version, vals)
                   values ('00000000-0000-4000-8000-000000000001', now() - interval '4 minutes', 2, array[150])$$,
  '23503', null,
  'a tick in a layout version the machine does not have is rejected');

select * from finish();
rollback;
