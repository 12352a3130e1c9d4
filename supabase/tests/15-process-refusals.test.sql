-- start_process refusals and idempotency, a run closed step by step and failed, and who may start,
-- advance and complete a process (14-process-lifecycle.test.sql runs the seed recipe end to end).
-- Every error code in the headers of 20261126001400_start_process.sql, ..1500_advance_step.sql and
-- ..1600_complete_process.sql that the lifecycle file does not reach is here.
begin;
select plan(33);
\ir helpers/identities.sql
\ir helpers/process.sql


-- A command that started a run which has ended: it may not start another.
insert into public.recipe_commands (id, machine_id, command_type, recipe_id, created_by) values
  ('c0000000-0000-4000-8000-000000001401', '00000000-0000-4000-8000-000000000001', 'start_recipe',
   '00000000-0000-4000-8000-000000003001', '00000000-0000-4000-8000-000000000102');
do $$ begin
  perform public.complete_process((public.start_process('00000000-0000-4000-8000-000000000001',
    command_id => 'c0000000-0000-4000-8000-000000001401') ->> 'process_id')::uuid);
end $$;
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');

-- start_process: request_id, refusals --------------------------------------------------------------------
delete from run;
insert into run select (p ->> 'process_id')::uuid, p
  from public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001',
                            request_id => 'd0000000-0000-4000-8000-000000000001') p;
select is(
  (select (p ->> 'process_id')::uuid || ' ' || (p ->> 'replayed')
   from public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001',
                             request_id => 'd0000000-0000-4000-8000-000000000001') p),
  pg_temp.run_id() || ' true',
  'start_process with the same request_id again returns the same process with replayed true');
select is(
  (select count(*)::int from public.process_executions where request_id = 'd0000000-0000-4000-8000-000000000001'),
  1,
  'the retried start created no second execution');

-- Closing the last step without opening another, then failing the run.
select is(pg_temp.advance_through(pg_temp.run_id(), 0, 1), 2, 'the second run advances two steps');
select is(
  (public.advance_step(pg_temp.run_id())) -> 'completed_steps',
  '2'::jsonb,
  'advance_step without a step_id closes the open step only');
select is(pg_temp.advance_through(pg_temp.run_id(), 2, 2), 1, 'the run goes on after a close-only call');
select is(
  (public.complete_process(pg_temp.run_id(), 'failed', 'pump tripped')) -> 'progress_percent',
  '6.67'::jsonb,
  'a failed run ends with the progress it reached (3 of 45 closed, 6.67 %)');
select pg_temp.logout();
select is(
  (select array_agg(status::text order by step_index) from public.step_executions where process_id = pg_temp.run_id()),
  array['completed', 'completed', 'aborted'],
  'failing a run aborts its open step');
select is(
  (select row(status::text, error_message) from public.process_executions where id = pg_temp.run_id()),
  row('failed'::text, 'pump tripped'::text),
  'the failed execution keeps its error message');

update public.recipes set is_active = false where id = '00000000-0000-4000-8000-000000003001';
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select throws_ok(
  $$ select public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') $$,
  '55000', 'recipe is inactive',
  'an inactive recipe cannot be started (55000)');
select pg_temp.logout();
update public.recipes set is_active = true where id = '00000000-0000-4000-8000-000000003001';

insert into public.recipes (id, machine_id, name) values ('00000000-0000-4000-8000-000000003202', '00000000-0000-4000-8000-000000000001', 'Empty recipe'),
  ('00000000-0000-4000-8000-000000003203', '00000000-0000-4000-8000-000000000002', 'Bench recipe');
insert into public.recipe_commands (id, machine_id, command_type, recipe_id, status, completed_at) values
  ('c0000000-0000-4000-8000-000000001402', '00000000-0000-4000-8000-000000000001', 'start_recipe', '00000000-0000-4000-8000-000000003001', 'cancelled', now()),
  ('c0000000-0000-4000-8000-000000001403', '00000000-0000-4000-8000-000000000001', 'stop_recipe', null, 'pending', null),
  ('c0000000-0000-4000-8000-000000001404', '00000000-0000-4000-8000-000000000002', 'start_recipe', '00000000-0000-4000-8000-000000003203', 'pending', null);
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select throws_ok(
  $$ select public.start_process(null, '00000000-0000-4000-8000-000000003001') $$,
  '22004', null,
  'start_process with a null machine id is refused with 22004');
select throws_ok(
  $$ select public.start_process('00000000-0000-4000-8000-000000000001') $$,
  '22004', null,
  'start_process with neither a recipe nor a command is refused with 22004');
select throws_ok(
  $$ select public.start_process('00000000-0000-4000-8000-000000000001', '6f1c1d6e-0000-4000-8000-00000000dead') $$,
  'P0002', null,
  'start_process with an unknown recipe raises P0002');
select throws_ok(
  $$ select public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003202') $$,
  '22023', 'recipe has no steps',
  'a recipe without steps cannot be started (22023)');
select throws_ok(
  $$ select public.start_process('00000000-0000-4000-8000-000000000001', command_id => '6f1c1d6e-0000-4000-8000-00000000dead') $$,
  'P0002', null,
  'start_process with an unknown command raises P0002');
select throws_ok(
  $$ select public.start_process('00000000-0000-4000-8000-000000000001', command_id => 'c0000000-0000-4000-8000-000000001402') $$,
  '55000', 'command is not runnable',
  'a cancelled command cannot start a process (55000)');
select throws_ok(
  $$ select public.start_process('00000000-0000-4000-8000-000000000001', command_id => 'c0000000-0000-4000-8000-000000001403') $$,
  '22023', 'command is not a start_recipe command',
  'a command that is not start_recipe cannot start a process (22023)');
select throws_ok(
  $$ select public.start_process('00000000-0000-4000-8000-000000000001', command_id => 'c0000000-0000-4000-8000-000000001404') $$,
  '22023', 'command belongs to another machine',
  'a command of machine B cannot start a process on the reactor (22023)');
select throws_ok(
  $$ select public.start_process('00000000-0000-4000-8000-000000000001', command_id => 'c0000000-0000-4000-8000-000000001401') $$,
  '55000', 'command was already executed',
  'a command whose process has ended cannot start again (55000)');
select pg_temp.logout();
update public.machines set status = 'maintenance' where id = '00000000-0000-4000-8000-000000000001';
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select throws_ok(
  $$ select public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') $$,
  '55000', 'machine is not available',
  'a machine in maintenance cannot start a process (55000)');
select pg_temp.logout();
update public.machines set status = 'idle' where id = '00000000-0000-4000-8000-000000000001';
select pg_temp.login_as_service();
select throws_ok(
  $$ select public.start_process('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000003001') $$,
  'P0002', null,
  'a recipe of the reactor is not found for machine B (P0002)');
select pg_temp.logout();

-- Who may drive a run ---------------------------------------------------------------------------------------
delete from run;
insert into run select (p ->> 'process_id')::uuid, p
  from public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') p;
select pg_temp.logout();

select pg_temp.login_as_anon();
select throws_ok($$ select public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003101', 0) $$,
  '42501', null, 'anon may not advance a process (42501)');
select throws_ok($$ select public.complete_process(pg_temp.run_id()) $$,
  '42501', null, 'anon may not complete a process (42501)');
select pg_temp.login_as('00000000-0000-4000-8000-000000000101');
select throws_ok($$ select public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003101', 0) $$,
  '42501', null, 'viewers of the reactor may not advance its process (42501)');
select throws_ok($$ select public.complete_process(pg_temp.run_id()) $$,
  '42501', null, 'viewers of the reactor may not complete its process (42501)');
select pg_temp.login_as('00000000-0000-4000-8000-000000000201');
select throws_ok($$ select public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003101', 0) $$,
  '42501', null, 'operators of machine B may not advance a process of the reactor (42501)');
select throws_ok($$ select public.complete_process(pg_temp.run_id()) $$,
  '42501', null, 'operators of machine B may not complete a process of the reactor (42501)');
select pg_temp.login_as_service();
select is(
  (public.advance_step(pg_temp.run_id(), '00000000-0000-4000-8000-000000003101', 0)) ->> 'step_index',
  '0',
  'service_role (the controller) advances a process');
select is(
  (public.complete_process(pg_temp.run_id(), 'aborted')) ->> 'status',
  'aborted',
  'service_role completes a process');
select pg_temp.login_as_anon();
select throws_ok($$ select public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') $$,
  '42501', null, 'anon may not start a process (42501)');
select pg_temp.login_as('00000000-0000-4000-8000-000000000101');
select throws_ok($$ select public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') $$,
  '42501', null, 'viewers of the reactor may not start a process on it (42501)');
select pg_temp.login_as('00000000-0000-4000-8000-000000000201');
select throws_ok($$ select public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') $$,
  '42501', null, 'operators of machine B may not start a process on the reactor (42501)');
select pg_temp.logout();
select is(
  (select count(*)::int from public.process_executions where machine_id = '00000000-0000-4000-8000-000000000001' and status = 'running'),
  0,
  'the refused starts left the reactor without a running process');
select pg_temp.login_as('00000000-0000-4000-8000-000000000103');
select is(
  (select p ->> 'status' from public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') p),
  'running',
  'admins of the reactor start a process on it');
select pg_temp.logout();

select * from finish();
rollback;
