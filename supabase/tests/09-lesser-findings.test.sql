-- Issue 14, finding 6: the lesser findings the schema closes (the Edge Functions' ones are Deno
-- tests, the accepted ones are listed in docs/security.md).
begin;
select plan(9);
\ir helpers/identities.sql

-- Size limits ---------------------------------------------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');  -- operator of A
select throws_ok(
  $$ insert into public.recipe_commands (machine_id, command_type, parameters, created_by)
     values ('00000000-0000-4000-8000-000000000001', 'stop_recipe',
             jsonb_build_object('blob', repeat(md5(random()::text), 4000)), '00000000-0000-4000-8000-000000000102') $$,
  '23514', null,
  'an operator cannot store a command whose parameters exceed 64 kB (23514)');
select lives_ok(
  $$ insert into public.recipe_commands (machine_id, command_type, parameters, created_by)
     values ('00000000-0000-4000-8000-000000000001', 'stop_recipe', '{"reason": "normal size"}',
             '00000000-0000-4000-8000-000000000102') $$,
  'a command of ordinary size is accepted');
select pg_temp.logout();
select throws_ok(
  $$ insert into public.process_executions (machine_id, recipe_snapshot, status, ended_at, error_message)
     values ('00000000-0000-4000-8000-000000000002', '{}', 'failed', now(), repeat('x', 10001)) $$,
  '23514', null,
  'a process error_message longer than 10000 characters is refused (23514)');
select throws_ok(
  $$ with p as (insert into public.process_executions (machine_id, recipe_snapshot, status, ended_at)
                values ('00000000-0000-4000-8000-000000000002', '{}', 'completed', now()) returning id)
     insert into public.step_executions (process_id, step_index, step_type, status, ended_at, details)
     select p.id, 0, 'valve', 'completed', now(), jsonb_build_object('blob', repeat(md5(random()::text), 4000)) from p $$,
  '23514', null,
  'step details larger than 64 kB are refused (23514)');

-- A binary setpoint is never -0 ---------------------------------------------------------------------
update public.component_parameters set set_value = 1 where id = pg_temp.param('chamber_heater', 'power_on');
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('chamber_heater', 'power_on'), '-0'::float8) $$,
  '23514', null,
  'set_parameter_value refuses -0 for a binary parameter (23514)');
select pg_temp.logout();
select is((select set_value::text from public.component_parameters where id = pg_temp.param('chamber_heater', 'power_on')), '1',
  'and the setpoint stays 1');

-- is_service(): a login that switches between the API roles is not the service ------------------------
create function pg_temp.is_service_here() returns boolean language sql security definer
set search_path = pg_catalog, pg_temp as $$ select private.is_service() $$;
grant execute on function pg_temp.is_service_here() to public;
select ok(pg_temp.is_service_here(), 'a superuser session without claims is the service');
set local session authorization authenticator;
select set_config('ald_test.authenticator_is_service', pg_temp.is_service_here()::text, true);
reset session authorization;
select is(current_setting('ald_test.authenticator_is_service'), 'false',
  'a session of authenticator (PostgREST''s login, a member of anon, authenticated and service_role) without claims is not');
select is(session_user::text, 'postgres', 'back to the test''s own session');

select * from finish();
rollback;
