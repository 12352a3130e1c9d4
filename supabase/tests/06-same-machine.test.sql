-- Finding 2 of issue 14 (and the first lesser finding): a row of one machine references rows of
-- the same machine only. Before, an admin of machine A could point a parameter step of A's recipe
-- at a parameter of machine B, and advance_step's replay then returned B's full row (setpoint,
-- limits, Modbus addresses), start_process's plan B's parameter name, unit and component; an
-- operator of A could issue a command naming B's recipe. Composite foreign keys refuse all of it
-- (23503, the same whether the foreign row exists or not), and the RPC answers show only rows
-- of the process's machine even if such a row was written around the keys.
begin;
select plan(14);
\ir helpers/identities.sql
\ir helpers/process.sql

-- Machine B's rows the attacks point at.
insert into public.recipes (id, machine_id, name) values
  ('00000000-0000-4000-8000-000000003601', '00000000-0000-4000-8000-000000000002', 'Bench recipe');

-- Step configs --------------------------------------------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000103');  -- admin of A, nothing on B
select throws_ok(
  $$ update public.parameter_step_configs set parameter_id = md5('ald-demo/bench_heater/temperature_set')::uuid
     where step_id = '00000000-0000-4000-8000-000000003101' $$,
  '23503', null,
  'an admin of A cannot point a parameter step of A''s recipe at a parameter of B (23503)');
insert into public.recipe_steps (id, recipe_id, sequence_number, step_type, name) values
  ('00000000-0000-4000-8000-000000003602', '00000000-0000-4000-8000-000000003001', 90, 'parameter', 'Foreign parameter step');
select throws_ok(
  $$ insert into public.parameter_step_configs (step_id, parameter_id, value)
     values ('00000000-0000-4000-8000-000000003602', md5('ald-demo/bench_heater/temperature_set')::uuid, 20) $$,
  '23503', null,
  'nor insert a parameter step config naming a parameter of B (23503)');
select throws_ok(
  $$ insert into public.parameter_step_configs (step_id, parameter_id, value)
     values ('00000000-0000-4000-8000-000000003602', '00000000-0000-4000-8000-00000000dead', 20) $$,
  '23503', null,
  'a parameter that exists nowhere gives the same 23503: the refusal says nothing about B');
select throws_ok(
  $$ insert into public.parameter_step_configs (step_id, parameter_id, value, machine_id)
     values ('00000000-0000-4000-8000-000000003602', md5('ald-demo/bench_heater/temperature_set')::uuid, 20,
             '00000000-0000-4000-8000-000000000002') $$,
  '23503', null,
  'naming B as the config''s machine does not help: the trigger takes the machine from the step');
select lives_ok(
  $$ insert into public.parameter_step_configs (step_id, parameter_id, value)
     values ('00000000-0000-4000-8000-000000003602', md5('ald-demo/chamber_heater/temperature_set')::uuid, 180) $$,
  'a parameter of the recipe''s own machine is accepted');
select is((select machine_id from public.parameter_step_configs where step_id = '00000000-0000-4000-8000-000000003602'),
  '00000000-0000-4000-8000-000000000001'::uuid, 'the config carries its step''s machine');

-- Commands ------------------------------------------------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');  -- operator of A
select throws_ok(
  $$ insert into public.recipe_commands (machine_id, command_type, recipe_id, created_by)
     values ('00000000-0000-4000-8000-000000000001', 'start_recipe', '00000000-0000-4000-8000-000000003601',
             '00000000-0000-4000-8000-000000000102') $$,
  '23503', null,
  'an operator of A cannot issue a command for A naming B''s recipe (23503)');
select pg_temp.logout();

-- Recipes ---------------------------------------------------------------------------------------------
select throws_ok(
  $$ update public.recipes set machine_id = '00000000-0000-4000-8000-000000000002' where id = '00000000-0000-4000-8000-000000003001' $$,
  '23503', null,
  'a recipe whose parameter steps name A''s parameters cannot move to B, even for the owner');
update public.recipes set machine_id = '00000000-0000-4000-8000-000000000001' where id = '00000000-0000-4000-8000-000000003601';
select is((select count(*)::integer from public.recipe_steps where machine_id <> '00000000-0000-4000-8000-000000000001'
             and recipe_id = '00000000-0000-4000-8000-000000003001'), 0,
  'the steps of A''s recipe all carry machine A');
update public.recipes set machine_id = '00000000-0000-4000-8000-000000000002' where id = '00000000-0000-4000-8000-000000003601';
delete from public.recipe_steps where id = '00000000-0000-4000-8000-000000003602';

-- The RPC answers, for a row written around the keys (by a superuser with triggers off) ------------------
set local session_replication_role = replica;
update public.parameter_step_configs set parameter_id = md5('ald-demo/bench_heater/temperature_set')::uuid
where step_id = '00000000-0000-4000-8000-000000003109';
set local session_replication_role = origin;

select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
insert into run select (p ->> 'process_id')::uuid, p
  from public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') p;
select is(
  (select s -> 'config' from run, jsonb_array_elements(plan -> 'steps') s where s ->> 'id' = '00000000-0000-4000-8000-000000003109'),
  jsonb_build_object('parameter_id', md5('ald-demo/bench_heater/temperature_set')::uuid, 'value', 150),
  'start_process''s plan names no name, unit or component of a parameter of B');
select is((select count(*)::integer from run, jsonb_array_elements(plan -> 'parameters') p
           where p ->> 'machine_id' <> '00000000-0000-4000-8000-000000000001'), 0,
  'the plan''s parameters are the machine''s own');

select lives_ok(
  $$ select public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003101', 0) $$,
  'the first parameter step (of A) runs');
select pg_temp.logout();
set local session_replication_role = replica;
update public.parameter_step_configs set parameter_id = md5('ald-demo/bench_heater/temperature_set')::uuid
where step_id = '00000000-0000-4000-8000-000000003101';
set local session_replication_role = origin;
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is(
  (select r -> 'parameter' from public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003101', 0) r),
  'null'::jsonb,
  'advance_step''s replay of that step does not return the parameter row of B');
select is(
  (select r ->> 'replayed' from public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003101', 0) r),
  'true', 'and it is the replay path that answered');
select pg_temp.logout();

select * from finish();
rollback;
