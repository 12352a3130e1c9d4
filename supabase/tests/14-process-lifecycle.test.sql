-- A recipe run from start to end: start_process, one advance_step per unrolled step, then
-- complete_process. The seed recipe 'Al2O3 (TMA/H2O) 10 cycles' unrolls to 45 steps
-- (parameter, purge, loop, 10 x 4 loop children, purge, parameter). Along the way: retried steps,
-- refused steps, a parameter step that fails without a trace, and what is refused after the end.
-- Refused starts and who may drive a run: 15-process-refusals.test.sql.
begin;
select plan(63);
\ir helpers/identities.sql
\ir helpers/process.sql

-- Read helpers that see the run whatever the current identity.
create function pg_temp.state() returns public.process_execution_state language sql stable security definer set search_path = '' as $$
  select * from public.process_execution_state s where s.process_id = pg_temp.run_id()
$$;
create function pg_temp.step_rows() returns bigint language sql stable security definer set search_path = '' as $$
  select count(*) from public.step_executions s where s.process_id = pg_temp.run_id()
$$;
create function pg_temp.chamber_setpoint() returns public.component_parameters language sql stable security definer set search_path = '' as $$
  select * from public.component_parameters p where p.id = md5('ald-demo/chamber_heater/temperature_set')::uuid
$$;

-- Definitions ------------------------------------------------------------------------------------------
select is(
  (select array_agg(p.proname::text || ':' || p.provolatile::text || ':' || p.prosecdef::text || ':' || array_to_string(p.proconfig, ',')
                    order by p.proname)
   from pg_catalog.pg_proc p
   where p.pronamespace = 'public'::regnamespace and p.proname in ('start_process', 'advance_step', 'complete_process')),
  array['advance_step:v:true:search_path=pg_catalog, pg_temp', 'complete_process:v:true:search_path=pg_catalog, pg_temp', 'start_process:v:true:search_path=pg_catalog, pg_temp'],
  'start_process, advance_step and complete_process are VOLATILE, SECURITY DEFINER and run with search_path = pg_catalog, pg_temp');
select ok(
  not has_function_privilege('anon', 'public.start_process(uuid, uuid, uuid, uuid, uuid)', 'execute')
  and not has_function_privilege('anon', 'public.advance_step(uuid, uuid, integer, integer, public.step_execution_status, jsonb, text, timestamptz)', 'execute')
  and not has_function_privilege('anon', 'public.complete_process(uuid, public.execution_status, text, timestamptz)', 'execute'),
  'anon may execute none of the three');
select ok(
  (select strpos(d, 'for update') between 1 and strpos(d, 'e.request_id = start_process.request_id')
   from pg_catalog.pg_get_functiondef('public.start_process(uuid, uuid, uuid, uuid, uuid)'::regprocedure) d),
  'start_process looks a request_id up only after locking the machine, so a retry that overlaps its first attempt waits and replays');
select is((select count(*)::int from pg_temp.sequence()), 45, 'the seed recipe unrolls to 45 steps');

-- Start from a command ---------------------------------------------------------------------------------
insert into public.recipe_commands (id, machine_id, command_type, recipe_id, created_by) values
  ('c0000000-0000-4000-8000-000000001401', '00000000-0000-4000-8000-000000000001', 'start_recipe',
   '00000000-0000-4000-8000-000000003001', '00000000-0000-4000-8000-000000000102');

select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
insert into run select (p ->> 'process_id')::uuid, p
  from public.start_process('00000000-0000-4000-8000-000000000001', command_id => 'c0000000-0000-4000-8000-000000001401') p;
select is((select (plan ->> 'total_steps')::int from run), 45, 'start_process returns a plan of 45 steps');
select is(
  (select jsonb_build_object('replayed', plan -> 'replayed', 'command_id', plan -> 'command_id', 'recipe_id', plan -> 'recipe_id', 'status', plan -> 'status') from run),
  jsonb_build_object('replayed', false, 'command_id', 'c0000000-0000-4000-8000-000000001401', 'recipe_id', '00000000-0000-4000-8000-000000003001', 'status', 'running'),
  'the plan names the command and the recipe, is running and is not a replay');
select is(
  (select array_agg(s ->> 'step_type' order by o) from run, jsonb_array_elements(plan -> 'steps') with ordinality t (s, o)),
  array['parameter', 'purge', 'loop', 'purge', 'parameter'],
  'the plan lists the five top-level steps in order');
select is(
  (select jsonb_array_length(plan -> 'steps' -> 2 -> 'children') || ' children, ' || (plan -> 'steps' -> 2 -> 'config' ->> 'iteration_count') || ' iterations' from run),
  '4 children, 10 iterations',
  'the loop step carries its four children and its iteration count');
select is(
  (select plan -> 'steps' -> 0 -> 'config' ->> 'value' from run), '200',
  'the first parameter step carries its setpoint in the plan');
select is((select jsonb_array_length(plan -> 'parameters') from run), 137, 'the plan carries the 137 active parameters of the reactor');
select pg_temp.logout();

select is(
  (select row(status::text, process_id) from public.recipe_commands where id = 'c0000000-0000-4000-8000-000000001401'),
  row('executing'::text, pg_temp.run_id()),
  'starting from a command marks the command executing and links the process');
select is(
  (select row(status::text, current_process_id) from public.machines where id = '00000000-0000-4000-8000-000000000001'),
  row('running'::text, pg_temp.run_id()),
  'the machine is running the new process');
select is(
  (select row(total_steps, completed_steps, progress_percent, current_step_id) from pg_temp.state()),
  row(45, 0, 0.00::numeric(5, 2), null::uuid),
  'the progress row starts at 0 of 45');
select is(
  (select row(operator_id, command_id, recipe_snapshot -> 'recipe' ->> 'name') from public.process_executions where id = pg_temp.run_id()),
  row('00000000-0000-4000-8000-000000000102'::uuid, 'c0000000-0000-4000-8000-000000001401'::uuid, 'Al2O3 (TMA/H2O) 10 cycles'::text),
  'the execution records its operator, its command and a snapshot of the recipe');

select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is(
  (select (p ->> 'process_id')::uuid || ' ' || (p ->> 'replayed')
   from public.start_process('00000000-0000-4000-8000-000000000001', command_id => 'c0000000-0000-4000-8000-000000001401') p),
  pg_temp.run_id() || ' true',
  'starting the same command again replays the running process');
select throws_ok(
  $$ select public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') $$,
  '23505', null,
  'starting a second process on a running machine is refused with 23505');

-- The first step: a parameter step applies its setpoint -----------------------------------------------
create temp table first_reply as select public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003101', 0) as reply;
select is(
  (select jsonb_build_object('step_index', reply -> 'step_index', 'step_type', reply -> 'step_type', 'replayed', reply -> 'replayed',
                             'value', reply -> 'config' -> 'value', 'set_value', reply -> 'parameter' -> 'set_value') from first_reply),
  '{"step_index": 0, "step_type": "parameter", "replayed": false, "value": 200, "set_value": 200}'::jsonb,
  'advancing to the first step replies with its config and the parameter it set');
select is((pg_temp.chamber_setpoint()).set_value, 200::float8, 'the parameter step wrote its setpoint (chamber heater to 200)');
select is((pg_temp.chamber_setpoint()).version, 2::bigint, 'the parameter step moved the parameter''s version once');
select pg_temp.logout();
select is(
  (select row(c.source::text, c.old_value, c.new_value, c.changed_by, c.process_id, c.step_execution_id)
   from public.parameter_changes c where c.parameter_id = md5('ald-demo/chamber_heater/temperature_set')::uuid),
  (select row('recipe'::text, 150::float8, 200::float8, '00000000-0000-4000-8000-000000000102'::uuid, pg_temp.run_id(), s.id)
   from public.step_executions s where s.process_id = pg_temp.run_id() and s.step_index = 0),
  'the setpoint write is audited as source recipe with the process, the step execution and the operator');
select is(
  (select (details ->> 'version')::int from public.step_executions where process_id = pg_temp.run_id() and step_index = 0),
  2,
  'the step execution records the version it set');

-- A retried step applies nothing twice ----------------------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is(
  (public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003101', 0)) -> 'replayed',
  'true'::jsonb,
  'advance_step with the same step_index and step_id again replies with replayed true');
select is(pg_temp.step_rows(), 1::bigint, 'the retried step made no second step row');
select is((pg_temp.chamber_setpoint()).version, 2::bigint, 'the retried parameter step did not write its setpoint again');
select pg_temp.logout();
select is(
  (select count(*)::int from public.parameter_changes where process_id = pg_temp.run_id()),
  1,
  'the retried parameter step wrote no second audit row');

-- Refused steps ---------------------------------------------------------------------------------------------
insert into public.recipes (id, machine_id, name) values ('00000000-0000-4000-8000-000000003201', '00000000-0000-4000-8000-000000000001', 'Other recipe');
insert into public.recipe_steps (id, recipe_id, sequence_number, step_type, name) values
  ('00000000-0000-4000-8000-000000003211', '00000000-0000-4000-8000-000000003201', 1, 'purge', 'Other purge');
insert into public.purge_step_configs (step_id, duration_ms) values ('00000000-0000-4000-8000-000000003211', 1000);

select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is(pg_temp.advance_through(pg_temp.run_id(), 1, 1), 1, 'the operator advances to the second step');
select throws_ok(
  $$ select public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003103', 1) $$,
  '23505', null,
  'another step at a step_index already executed is refused with 23505');
select throws_ok(
  $$ do $x$ begin
       perform pg_temp.advance_through(pg_temp.run_id(), 3, 3);
       perform public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003103', 2);
     end $x$ $$,
  '22023', 'step_index must increase',
  'a step_index lower than the current one (2 after 3) is refused with 22023');
select throws_ok(
  $$ select public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003103', 45) $$,
  '22023', 'step_index out of range',
  'a step_index past the end of the plan (45 of 45) is refused with 22023');
select throws_ok(
  $$ select public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003103', -1) $$,
  '22023', 'step_index out of range',
  'a negative step_index is refused with 22023');
select throws_ok(
  $$ select public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003211', 2) $$,
  'P0002', null,
  'a step of another recipe is refused with P0002');
select throws_ok(
  $$ select public.advance_step(pg_temp.run_id(), '6f1c1d6e-0000-4000-8000-00000000dead', 2) $$,
  'P0002', null,
  'an unknown step is refused with P0002');
select throws_ok(
  $$ select public.advance_step('6f1c1d6e-0000-4000-8000-00000000dead', '00000000-0000-4000-8000-000000003103', 2) $$,
  'P0002', null,
  'an unknown process is refused with P0002');
select throws_ok(
  $$ select public.advance_step(null, '00000000-0000-4000-8000-000000003103', 2) $$,
  '22004', null,
  'a null process id is refused with 22004');
select throws_ok(
  $$ select public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003103', 2, previous_status => 'running') $$,
  '22023', 'previous_status must be completed, failed, skipped or aborted',
  'previous_status running is refused with 22023');
select throws_ok(
  $$ select public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003104', 3, loop_iteration => 0) $$,
  '22023', 'loop_iteration must be 1 or more',
  'loop_iteration 0 is refused with 22023');
select throws_ok(
  $$ select public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003103', 2, details => '[1]') $$,
  '22023', 'details must be a JSON object',
  'details that are not a JSON object are refused with 22023');
select is(
  (select row(current_step_index, completed_steps) from pg_temp.state()),
  row(1, 1),
  'the refused steps left the progress at step 1 with one step completed');
select is(pg_temp.step_rows(), 2::bigint, 'the refused steps left no step row');

-- The rest of the run, one call per step -------------------------------------------------------------
select is(pg_temp.advance_through(pg_temp.run_id(), 2, 43), 42, 'the operator advances through steps 2 to 43, one call each');
select is(
  (select row(current_step_index, completed_steps, progress_percent, current_loop_iteration) from pg_temp.state()),
  row(43, 43, 95.56::numeric(5, 2), null::integer),
  'after step 43 the progress is 43 of 45 (95.56 %) and no loop is running');
select pg_temp.logout();

-- The last step is a parameter step; make its setpoint out of range (the config table checks only
-- that it is finite) and it must fail without a trace.
update public.parameter_step_configs set value = 999 where step_id = '00000000-0000-4000-8000-000000003109';
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select throws_ok(
  $$ select public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003109', 44) $$,
  '22003', null,
  'a parameter step whose setpoint is out of range fails with 22003');
select is(pg_temp.step_rows(), 44::bigint, 'the failed parameter step left no step row');
select is(
  (select row(current_step_index, completed_steps, progress_percent) from pg_temp.state()),
  row(43, 43, 95.56::numeric(5, 2)),
  'the failed parameter step left the progress as it was');
select is(
  (select status::text from public.step_executions where process_id = pg_temp.run_id() and step_index = 43),
  'running',
  'the failed parameter step did not close the step before it');
select is((pg_temp.chamber_setpoint()).set_value, 200::float8, 'the failed parameter step left the setpoint alone');
select pg_temp.logout();
update public.parameter_step_configs set value = 150 where step_id = '00000000-0000-4000-8000-000000003109';

select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is(pg_temp.advance_through(pg_temp.run_id(), 44, 44), 1, 'with its setpoint back in range the last step runs');
select is((pg_temp.chamber_setpoint()).set_value, 150::float8, 'the last step set the chamber heater back to 150');
create temp table summary as select public.complete_process(pg_temp.run_id()) as reply;
select is(
  (select jsonb_build_object('status', reply -> 'status', 'replayed', reply -> 'replayed', 'completed_steps', reply -> 'completed_steps',
                             'total_steps', reply -> 'total_steps', 'progress_percent', reply -> 'progress_percent') from summary),
  '{"status": "completed", "replayed": false, "completed_steps": 45, "total_steps": 45, "progress_percent": 100}'::jsonb,
  'complete_process replies with the completed run: 45 of 45 steps, 100 %');
select pg_temp.logout();

-- What the run left behind ---------------------------------------------------------------------------------
select results_eq(
  $$ select step_index, step_id, loop_iteration from public.step_executions where process_id = pg_temp.run_id() order by step_index $$,
  $$ select * from pg_temp.sequence() $$,
  'the 45 step executions follow the unrolled recipe: index, step and loop iteration');
select is(
  (select count(*)::int from public.step_executions where process_id = pg_temp.run_id() and status = 'completed' and ended_at is not null),
  45,
  'all 45 step executions are closed as completed');
select is(
  (select array_agg(step_type::text order by step_index) from public.step_executions where process_id = pg_temp.run_id() and step_index in (0, 2, 3, 44)),
  array['parameter', 'loop', 'valve', 'parameter'],
  'step executions copy their step types');
select is(
  (select row(completed_steps, progress_percent, current_step_id, current_step_execution_id) from pg_temp.state()),
  row(45, 100.00::numeric(5, 2), null::uuid, null::uuid),
  'the progress row ends at 45 of 45, 100 %, with no current step');
select is(
  (select row(status::text, ended_at is not null) from public.process_executions where id = pg_temp.run_id()),
  row('completed'::text, true),
  'the execution is completed and has ended');
select is(
  (select row(status::text, current_process_id) from public.machines where id = '00000000-0000-4000-8000-000000000001'),
  row('idle'::text, null::uuid),
  'the machine is idle again with no current process');
select is(
  (select row(status::text, completed_at is not null) from public.recipe_commands where id = 'c0000000-0000-4000-8000-000000001401'),
  row('completed'::text, true),
  'the command that started the run is completed');
select results_eq(
  $$ select c.source::text, c.new_value, s.step_index
     from public.parameter_changes c join public.step_executions s on s.id = c.step_execution_id
     where c.process_id = pg_temp.run_id() order by c.id $$,
  $$ values ('recipe'::text, 200::float8, 0), ('recipe', 150, 44) $$,
  'the run wrote exactly its two setpoints, each audited with its step execution');

-- After the end ---------------------------------------------------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is(
  (public.complete_process(pg_temp.run_id(), 'completed')) -> 'replayed',
  'true'::jsonb,
  'completing again with the same status replies with replayed true');
select throws_ok(
  $$ select public.complete_process(pg_temp.run_id(), 'failed') $$,
  '55000', null,
  'completing again with another status is refused with 55000');
select throws_ok(
  $$ select public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003109', 44) $$,
  '55000', null,
  'advancing a completed process is refused with 55000');
select throws_ok(
  $$ select public.complete_process(pg_temp.run_id(), 'running') $$,
  '22023', 'status must be completed, failed or aborted',
  'complete_process with status running is refused with 22023');
select throws_ok(
  $$ select public.complete_process(null) $$,
  '22004', null,
  'complete_process with a null process id is refused with 22004');
select throws_ok(
  $$ select public.complete_process('6f1c1d6e-0000-4000-8000-00000000dead') $$,
  'P0002', null,
  'complete_process with an unknown process raises P0002');

select pg_temp.logout();

select * from finish();
rollback;
