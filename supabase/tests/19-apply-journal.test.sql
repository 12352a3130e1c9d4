-- apply_journal: a controller journal's backlog in one round trip. Steps, ticks (as slices of the
-- row arrays) and the end of a run, applied in order with one outcome each; a refused call does
-- not stop the calls after it; a resent batch applies nothing twice; 42501 fails the whole call;
-- malformed batches change nothing.
begin;
select plan(26);
\ir helpers/identities.sql
\ir helpers/process.sql

create function pg_temp.steps() returns bigint language sql stable security definer set search_path = '' as $$
  select count(*) from public.step_executions s where s.process_id = pg_temp.run_id()
$$;
create function pg_temp.points() returns bigint language sql stable security definer set search_path = '' as $$
  select count(*) from public.process_data_points d where d.process_id = pg_temp.run_id()
$$;
create function pg_temp.status() returns text language sql stable security definer set search_path = '' as $$
  select e.status::text from public.process_executions e where e.id = pg_temp.run_id()
$$;
-- The calls of steps first..last of the seed sequence as journal entries.
create function pg_temp.step_calls(first integer, last integer) returns jsonb language sql stable as $$
  select coalesce(jsonb_agg(jsonb_build_object('kind', 'advance_step', 'args', jsonb_build_object(
    'process_id', pg_temp.run_id(), 'step_id', q.step_id, 'step_index', q.step_index, 'loop_iteration', q.loop_iteration))
    order by q.step_index), '[]'::jsonb)
  from pg_temp.sequence() q where q.step_index between first and last
$$;
create temp table outcome (n integer, o jsonb);
grant select, insert, update, delete on outcome to public;

-- Definition -------------------------------------------------------------------------------------------
select is(
  (select p.provolatile::text || ':' || p.prosecdef::text || ':' || array_to_string(p.proconfig, ',')
   from pg_catalog.pg_proc p where p.oid = 'public.apply_journal(jsonb, uuid[], double precision[], timestamptz[], double precision[])'::regprocedure),
  'v:false:search_path=pg_catalog, pg_temp',
  'apply_journal is VOLATILE, SECURITY INVOKER (each call runs with the caller''s rights) with search_path pg_catalog, pg_temp');
select ok(not has_function_privilege('anon', 'public.apply_journal(jsonb, uuid[], double precision[], timestamptz[], double precision[])', 'execute'),
  'anon may not execute apply_journal');

-- A backlog: steps 0..4, a tick of two rows between them, in one call ---------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
insert into run select (p ->> 'process_id')::uuid, p from public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') p;

insert into outcome select 1, public.apply_journal(
  pg_temp.step_calls(0, 1)
  || jsonb_build_array(jsonb_build_object('kind', 'record_process_data', 'args', jsonb_build_object('process_id', pg_temp.run_id(), 'from', 1, 'to', 2)))
  || pg_temp.step_calls(2, 4),
  array[pg_temp.param('chamber_heater', 'temperature_read'), pg_temp.param('chamber_heater', 'temperature_read')],
  array[150.5, 151.5],
  array[now() - interval '2 seconds', now() - interval '1 second']);
select is((select jsonb_array_length(o) from outcome where n = 1), 6, 'one outcome per call');
select ok((select bool_and((e ->> 'ok')::boolean) from outcome, jsonb_array_elements(o) e where n = 1), 'every call of the backlog succeeded');
select is(pg_temp.steps(), 5::bigint, 'five steps are recorded');
select is(pg_temp.points(), 2::bigint, 'the tick''s two rows are stored');
select is((select o -> 2 -> 'result' from outcome where n = 1), '2'::jsonb, 'the tick''s outcome is record_process_data''s reply (rows inserted)');
select is((select (o -> 5 -> 'result' ->> 'step_index')::int from outcome where n = 1), 4, 'the step''s outcome is advance_step''s reply');

-- The same batch again (its reply was lost): nothing twice --------------------------------------------------
insert into outcome select 2, public.apply_journal(
  pg_temp.step_calls(0, 1)
  || jsonb_build_array(jsonb_build_object('kind', 'record_process_data', 'args', jsonb_build_object('process_id', pg_temp.run_id(), 'from', 1, 'to', 2)))
  || pg_temp.step_calls(2, 4),
  array[pg_temp.param('chamber_heater', 'temperature_read'), pg_temp.param('chamber_heater', 'temperature_read')],
  array[150.5, 151.5],
  (select array[ (select min(ts) from public.process_data_points where process_id = pg_temp.run_id()), (select max(ts) from public.process_data_points where process_id = pg_temp.run_id())]));
select ok((select bool_and((e ->> 'ok')::boolean) from outcome, jsonb_array_elements(o) e where n = 2), 'a resent batch succeeds call by call');
select is((select o -> 0 -> 'result' ->> 'replayed' from outcome where n = 2), 'true', 'an already applied step that is no longer open is answered replayed');
select is((select o -> 2 -> 'result' from outcome where n = 2), '0'::jsonb, 'the resent tick inserts no row');
select is(pg_temp.steps(), 5::bigint, 'still five steps');
select is(pg_temp.points(), 2::bigint, 'still two rows');

-- A refused call does not stop the calls after it ----------------------------------------------------------
insert into outcome select 3, public.apply_journal(
  jsonb_build_array(jsonb_build_object('kind', 'advance_step', 'args', jsonb_build_object(
    'process_id', pg_temp.run_id(), 'step_id', (select step_id from pg_temp.sequence() where step_index = 6), 'step_index', 99)))
  || pg_temp.step_calls(5, 5));
select is((select o -> 0 ->> 'code' from outcome where n = 3), '22023', 'a step_index out of range is refused with its SQLSTATE');
select is((select o -> 0 ->> 'transient' from outcome where n = 3), 'false', 'a refusal is not transient');
select is((select o -> 1 ->> 'ok' from outcome where n = 3), 'true', 'the next call is still applied');
select is(pg_temp.steps(), 6::bigint, 'six steps: the refused one changed nothing');

-- Unknown kinds and bad slices are refusals ---------------------------------------------------------------
select is((select public.apply_journal('[{"kind":"drop_table","args":{}}]') -> 0 ->> 'code'), '22023', 'an unknown kind is refused (22023)');
select is((select public.apply_journal(jsonb_build_array(jsonb_build_object('kind', 'record_process_data',
  'args', jsonb_build_object('process_id', pg_temp.run_id(), 'from', 1, 'to', 3))), array[pg_temp.param('chamber_heater', 'temperature_read')], array[1.0], array[now()]) -> 0 ->> 'code'),
  '22023', 'a slice beyond the row arrays is refused (22023)');

-- Malformed batches: the whole call fails, nothing changes -------------------------------------------------
select throws_ok($$ select public.apply_journal(null) $$, '22004', 'calls is required', 'null calls: 22004');
select throws_ok($$ select public.apply_journal('{"kind":"advance_step"}') $$, '22023', 'calls must be a JSON array', 'calls not an array: 22023');
select throws_ok($$ select public.apply_journal('[]', array[gen_random_uuid()], array[1.0, 2.0], array[now()]) $$, '22023', 'row arrays must have equal lengths', 'unequal row arrays: 22023');

-- Who may: a viewer's batch fails as a whole with 42501, nothing applied ---------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000101');
select throws_ok(format($$ select public.apply_journal(%L) $$, pg_temp.step_calls(6, 6)), '42501', null, 'a viewer''s batch is refused as a whole (42501)');
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is(pg_temp.steps(), 6::bigint, 'and applied nothing');

-- The end of the run, twice: idempotent ---------------------------------------------------------------------
select is((select public.apply_journal(jsonb_build_array(jsonb_build_object('kind', 'complete_process', 'args', jsonb_build_object('process_id', pg_temp.run_id()))))
  || public.apply_journal(jsonb_build_array(jsonb_build_object('kind', 'complete_process', 'args', jsonb_build_object('process_id', pg_temp.run_id()))))) -> 1 -> 'result' ->> 'replayed',
  'true', 'complete_process through the journal is idempotent');
select is(pg_temp.status(), 'completed', 'the run is completed');

select * from finish();
rollback;
