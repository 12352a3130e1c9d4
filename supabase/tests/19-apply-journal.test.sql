-- apply_journal: a controller journal's backlog in one round trip. Steps, ticks (as slices of the
-- row arrays, a run's rows and a machine's whole ticks), setpoint acks, run-control commands and
-- the end of a run, applied in order with one outcome each; a refused call does not stop the calls
-- after it; a resent batch applies nothing twice; 42501 fails the whole call; malformed batches
-- change nothing.
begin;
select plan(51);
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
-- Readings of the seed reactor at the given tick times (one row per tick).
create function pg_temp.ticks_at(times timestamptz[]) returns bigint language sql stable security definer set search_path = '' as $$
  select count(*) from public.readings r where r.machine_id = '00000000-0000-4000-8000-000000000001' and r.ts = any (times)
$$;
create function pg_temp.tick_vals(t timestamptz) returns text language sql stable security definer set search_path = '' as $$
  select r.vals::text || coalesce(' ' || r.set_points::text, '') from public.readings r
  where r.machine_id = '00000000-0000-4000-8000-000000000001' and r.ts = t
$$;
create function pg_temp.req(id uuid) returns public.setpoint_requests language sql stable security definer set search_path = '' as $$
  select * from public.setpoint_requests r where r.id = req.id
$$;
create function pg_temp.applied(parameter uuid) returns double precision language sql stable security definer set search_path = '' as $$
  select p.applied_value from public.component_parameters p where p.id = applied.parameter
$$;
create function pg_temp.run_status() returns text language sql stable security definer set search_path = '' as $$
  select e.status::text || '/' || m.status::text from public.process_executions e join public.machines m on m.id = e.machine_id
  where e.id = pg_temp.run_id()
$$;
create function pg_temp.command_status(id uuid) returns text language sql stable security definer set search_path = '' as $$
  select c.status::text from public.recipe_commands c where c.id = command_status.id
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

-- A machine's ticks (record_readings): whole ticks as a slice of the row arrays, beside a run's rows --------
create temp table tick_times as select now() - interval '20 seconds' as t1, now() - interval '19 seconds' as t2, now() - interval '18 seconds' as t3;
grant select on tick_times to public;
insert into outcome select 4, public.apply_journal(
  jsonb_build_array(
    jsonb_build_object('kind', 'record_readings', 'args', jsonb_build_object('machine_id', '00000000-0000-4000-8000-000000000001', 'from', 1, 'to', 4, 'np', 2)),
    jsonb_build_object('kind', 'record_process_data', 'args', jsonb_build_object('process_id', pg_temp.run_id(), 'from', 5, 'to', 5))),
  array[pg_temp.param('chamber_heater', 'temperature_read'), pg_temp.param('chamber_heater', 'kp'),
        pg_temp.param('chamber_heater', 'temperature_read'), pg_temp.param('chamber_heater', 'kp'),
        pg_temp.param('chamber_heater', 'temperature_read')],
  array[20.0, 1.5, 21.0, null, 22.0],
  (select array[t1, t1, t2, t2, t3] from tick_times));
select is((select o from outcome where n = 4), '[{"ok": true, "result": 2}, {"ok": true, "result": 1}]'::jsonb,
  'two whole ticks of a machine and a run''s row in one batch: record_readings stores two ticks, record_process_data one row');
select is((select pg_temp.ticks_at(array[t1, t2, t3]) from tick_times), 3::bigint, 'three ticks are in the readings');
select ok((select pg_temp.tick_vals(t2) from tick_times) like '%21%', 'the second tick holds its own values (sliced tick by tick)');
select ok((select pg_temp.tick_vals(t1) from tick_times) not like '% %', 'ticks without set points are stored without set points');
select is((select public.apply_journal(
  jsonb_build_array(jsonb_build_object('kind', 'record_readings', 'args', jsonb_build_object('machine_id', '00000000-0000-4000-8000-000000000001', 'from', 1, 'to', 4, 'np', 2))),
  array[pg_temp.param('chamber_heater', 'temperature_read'), pg_temp.param('chamber_heater', 'kp'),
        pg_temp.param('chamber_heater', 'temperature_read'), pg_temp.param('chamber_heater', 'kp')],
  array[20.0, 1.5, 21.0, null],
  (select array[t1, t1, t2, t2] from tick_times)) from tick_times),
  '[{"ok": true, "result": 0}]'::jsonb, 'the same ticks resent store nothing (idempotent on machine and tick time)');
select is((select pg_temp.ticks_at(array[t1, t2, t3]) from tick_times), 3::bigint, 'still three ticks');
select is((select public.apply_journal(
  jsonb_build_array(jsonb_build_object('kind', 'record_readings', 'args', jsonb_build_object('machine_id', '00000000-0000-4000-8000-000000000001', 'from', 1, 'to', 3, 'np', 2))),
  array[pg_temp.param('chamber_heater', 'temperature_read'), pg_temp.param('chamber_heater', 'kp'), pg_temp.param('chamber_heater', 'kp')],
  array[1.0, 2.0, 3.0], array[now(), now(), now()]) -> 0 ->> 'code'),
  '22023', 'a slice that is not a whole number of ticks is refused (22023)');
select is((select public.apply_journal(
  jsonb_build_array(jsonb_build_object('kind', 'record_readings', 'args', jsonb_build_object('machine_id', '00000000-0000-4000-8000-000000000001', 'from', 1, 'to', 4, 'np', 2))),
  array[pg_temp.param('chamber_heater', 'temperature_read'), pg_temp.param('chamber_heater', 'kp'),
        pg_temp.param('chamber_heater', 'kp'), pg_temp.param('chamber_heater', 'temperature_read')],
  array[1.0, 2.0, 3.0, 4.0], array[now(), now(), now() - interval '1 second', now() - interval '1 second']) -> 0 ->> 'message'),
  'record_readings slice is not whole ticks', 'ticks that do not carry the same parameters in the same order are refused (22023)');

-- Setpoint acks (ack_setpoint_requests): the outcome of a PLC write, journaled -----------------------------
select is((public.set_parameter_value(pg_temp.param('chamber_heater', 'kp'), 7.5, source => 'operator', reason => 'journal test')).set_value, 7.5::float8,
  'an operator''s write (a setpoint request for the controller)');
create temp table claimed as select * from public.claim_setpoint_requests('00000000-0000-4000-8000-000000000001', 'journal');
grant select on claimed to public;
create function pg_temp.ack_call(ok boolean, val double precision, err text) returns jsonb language sql stable as $$
  select jsonb_build_array(jsonb_build_object('kind', 'ack_setpoint_requests', 'args', jsonb_build_object(
    'machine_id', '00000000-0000-4000-8000-000000000001',
    'request_ids', (select jsonb_agg(c.request_id order by c.request_id) from pg_temp.claimed c where c.parameter_id = pg_temp.param('chamber_heater', 'kp')),
    'ok', jsonb_build_array(ok), 'applied_values', jsonb_build_array(val), 'errors', jsonb_build_array(err))))
$$;
insert into outcome select 5, public.apply_journal(pg_temp.ack_call(true, 7.25, null));
select is((select o -> 0 -> 'result' -> 0 ->> 'status' from outcome where n = 5), 'applied', 'a journaled ack applies the request');
select is((select o -> 0 -> 'result' -> 0 ->> 'replayed' from outcome where n = 5), 'false', 'the first time, not replayed');
select is(pg_temp.applied(pg_temp.param('chamber_heater', 'kp')), 7.25::float8, 'applied_value is the value the PLC confirmed');
select is((select public.apply_journal(pg_temp.ack_call(true, 7.25, null)) -> 0 -> 'result' -> 0 ->> 'replayed'), 'true',
  'the identical ack resent (a lost reply) replays');
select is((select o -> 0 ->> 'code' from (select public.apply_journal(pg_temp.ack_call(false, null, 'plc timeout')) o) x), '23505',
  'an ack with another outcome is refused (23505)');
select is(pg_temp.applied(pg_temp.param('chamber_heater', 'kp')), 7.25::float8, 'and changed nothing');
select is((select public.apply_journal(jsonb_build_array(jsonb_build_object('kind', 'ack_setpoint_requests', 'args', jsonb_build_object(
  'machine_id', '00000000-0000-4000-8000-000000000001', 'request_ids', jsonb_build_array(gen_random_uuid()), 'ok', '[true]'::jsonb)))) -> 0 ->> 'code'),
  'P0002', 'an ack of an unknown request is refused (P0002)');

-- Run control (apply_run_command): a pause drains after the steps before it, a resume before the steps after it -------
insert into outcome select 6, jsonb_build_array(to_jsonb(public.issue_run_command('00000000-0000-4000-8000-000000000001', 'pause_recipe', 'journal pause')));
insert into outcome select 7, jsonb_build_array(to_jsonb(public.issue_run_command('00000000-0000-4000-8000-000000000001', 'pause_recipe', 'second pause')));
insert into outcome select 8, public.apply_journal(
  pg_temp.step_calls(6, 6)
  || jsonb_build_array(jsonb_build_object('kind', 'apply_run_command', 'args', jsonb_build_object('command_id', (select o -> 0 ->> 'id' from outcome where n = 6))))
  || jsonb_build_array(jsonb_build_object('kind', 'apply_run_command', 'args', jsonb_build_object('command_id', (select o -> 0 ->> 'id' from outcome where n = 7)))));
select is((select jsonb_path_query_array(o, '$[*].ok') from outcome where n = 8), '[true, true, false]'::jsonb,
  'the step, then the pause, are applied; a second pause of the paused run is refused');
select is((select o -> 1 -> 'result' ->> 'process_status' from outcome where n = 8), 'paused', 'the pause''s outcome is apply_run_command''s reply');
select is((select o -> 2 ->> 'code' from outcome where n = 8), 'RC003', 'the second pause: RC003 (already paused)');
select is(pg_temp.run_status(), 'paused/paused', 'the run and the machine are paused');
select is(pg_temp.steps(), 7::bigint, 'the step before the pause was recorded first');
insert into outcome select 9, jsonb_build_array(to_jsonb(public.issue_run_command('00000000-0000-4000-8000-000000000001', 'resume_recipe')));
insert into outcome select 10, public.apply_journal(
  jsonb_build_array(jsonb_build_object('kind', 'apply_run_command', 'args', jsonb_build_object('command_id', (select o -> 0 ->> 'id' from outcome where n = 6))))
  || jsonb_build_array(jsonb_build_object('kind', 'apply_run_command', 'args', jsonb_build_object('command_id', (select o -> 0 ->> 'id' from outcome where n = 9))))
  || pg_temp.step_calls(7, 7));
select is((select jsonb_path_query_array(o, '$[0 to 1].result.replayed') from outcome where n = 10), '[true, false]'::jsonb,
  'the pause resent replays; the resume is applied');
select ok((select bool_and((e ->> 'ok')::boolean) from outcome, jsonb_array_elements(o) e where n = 10), 'and the step after the resume is applied');
select is(pg_temp.steps(), 8::bigint, 'eight steps');
select is(pg_temp.command_status((select (o -> 0 ->> 'id')::uuid from outcome where n = 9)), 'completed', 'the resume command is completed');

-- The end of the run, twice: idempotent ---------------------------------------------------------------------
select is((select public.apply_journal(jsonb_build_array(jsonb_build_object('kind', 'complete_process', 'args', jsonb_build_object('process_id', pg_temp.run_id()))))
  || public.apply_journal(jsonb_build_array(jsonb_build_object('kind', 'complete_process', 'args', jsonb_build_object('process_id', pg_temp.run_id()))))) -> 1 -> 'result' ->> 'replayed',
  'true', 'complete_process through the journal is idempotent');
select is(pg_temp.status(), 'completed', 'the run is completed');

select * from finish();
rollback;
