-- Steps keep the controller's times (issue 16): advance_step, complete_process and
-- apply_run_command take `at`, when the controller did it on the clock its tick times use, and stamp
-- the step, pause or end with it instead of now(); apply_journal passes it from the journaled args.
-- null is now(); a time before the open step (or the run) began is taken as that start; a time
-- outside the tick time window (private.telemetry_settings) or not finite is refused with 22023 and
-- changes nothing; a replayed call ignores it.
--
-- now() is the transaction's start and the same in every statement here, so every stored time is
-- compared exactly. Each run is backdated an hour (as a run started an hour ago), so that times of
-- the past hour are after its start.
begin;
select plan(54);
\ir helpers/identities.sql
\ir helpers/process.sql

create function pg_temp.started(i integer) returns timestamptz language sql stable as $$
  select s.started_at from public.step_executions s where s.process_id = pg_temp.run_id() and s.step_index = i
$$;
create function pg_temp.ended(i integer) returns timestamptz language sql stable as $$
  select s.ended_at from public.step_executions s where s.process_id = pg_temp.run_id() and s.step_index = i
$$;
create function pg_temp.step(i integer) returns uuid language sql stable as $$
  select q.step_id from pg_temp.sequence() q where q.step_index = i
$$;
create function pg_temp.loop_iteration(i integer) returns integer language sql stable as $$
  select q.loop_iteration from pg_temp.sequence() q where q.step_index = i
$$;
-- advance_step with at, as the controller calls it.
create function pg_temp.advance(i integer, at timestamptz) returns jsonb language sql as $$
  select public.advance_step(pg_temp.run_id(), pg_temp.step(i), i, pg_temp.loop_iteration(i), at => advance.at)
$$;
create function pg_temp.go(i integer, at timestamptz) returns void language plpgsql as $$
begin
  perform pg_temp.advance(i, at);
end $$;
-- The journal entry of step i, journaled at `at` (null: an entry without at, as an older SDK wrote).
create function pg_temp.step_call(i integer, at timestamptz) returns jsonb language sql stable as $$
  select jsonb_build_object('kind', 'advance_step', 'args', jsonb_strip_nulls(jsonb_build_object(
    'process_id', pg_temp.run_id(), 'step_id', pg_temp.step(i), 'step_index', i, 'loop_iteration', pg_temp.loop_iteration(i),
    'at', step_call.at)))
$$;
create function pg_temp.command_call(id uuid, at timestamptz) returns jsonb language sql stable as $$
  select jsonb_build_object('kind', 'apply_run_command', 'args', jsonb_build_object('command_id', id, 'at', at))
$$;
-- Everything a refused call could have changed on machine A.
create function pg_temp.snapshot() returns text language sql stable as $$
  select md5(concat_ws('|',
    (select string_agg(concat_ws(',', e.id, e.status, e.ended_at, e.paused_at), ';' order by e.id)
     from public.process_executions e where e.machine_id = '00000000-0000-4000-8000-000000000001'),
    (select string_agg(concat_ws(',', s.id, s.status, s.started_at, s.ended_at), ';' order by s.id)
     from public.step_executions s where s.process_id = pg_temp.run_id()),
    (select concat_ws(',', x.current_step_index, x.current_step_started_at, x.completed_steps, x.elapsed_ms, x.run_status)
     from public.process_execution_state x where x.process_id = pg_temp.run_id()),
    (select string_agg(concat_ws(',', c.id, c.status, c.completed_at), ';' order by c.id)
     from public.recipe_commands c where c.machine_id = '00000000-0000-4000-8000-000000000001'),
    (select m.status::text from public.machines m where m.id = '00000000-0000-4000-8000-000000000001')))
$$;
-- A new run of the seed recipe on reactor A, started an hour ago.
create function pg_temp.new_run() returns void language plpgsql as $$
begin
  delete from pg_temp.run;
  insert into pg_temp.run select (p ->> 'process_id')::uuid, p
    from public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') p;
  update public.process_executions e set started_at = now() - interval '1 hour' where e.id = pg_temp.run_id();
  update public.process_execution_state x set started_at = now() - interval '1 hour' where x.process_id = pg_temp.run_id();
end $$;
create temp table snap (v text);
create temp table outcome (n integer, o jsonb);

-- Definitions ------------------------------------------------------------------------------------------
select is(
  (select array_agg(p.proname || ': ' || pg_catalog.pg_get_function_identity_arguments(p.oid) order by p.proname)
   from pg_catalog.pg_proc p where p.pronamespace = 'public'::regnamespace and p.proname in ('advance_step', 'complete_process', 'apply_run_command')),
  array['advance_step: process_id uuid, step_id uuid, step_index integer, loop_iteration integer, previous_status step_execution_status, details jsonb, error_message text, at timestamp with time zone',
        'apply_run_command: command_id uuid, at timestamp with time zone',
        'complete_process: process_id uuid, status execution_status, error_message text, at timestamp with time zone'],
  'advance_step, complete_process and apply_run_command take at timestamptz as their last argument, each one signature');
select ok(
  (select bool_and(pg_catalog.pg_get_function_arguments(p.oid) like '%at timestamp with time zone DEFAULT NULL::timestamp with time zone')
   from pg_catalog.pg_proc p where p.pronamespace = 'public'::regnamespace and p.proname in ('advance_step', 'complete_process', 'apply_run_command')),
  'at defaults to null: callers that leave it out are unchanged');
select is(
  (select p.provolatile::text || ':' || p.prosecdef::text || ':' || array_to_string(p.proconfig, ',')
   from pg_catalog.pg_proc p where p.oid = 'private.controller_time(timestamptz)'::regprocedure),
  's:false:search_path=pg_catalog, pg_temp',
  'private.controller_time (the one check of at) is STABLE with search_path pg_catalog, pg_temp');
select ok(
  not has_function_privilege('anon', 'private.controller_time(timestamptz)', 'execute')
  and not has_function_privilege('authenticated', 'private.controller_time(timestamptz)', 'execute')
  and not has_function_privilege('service_role', 'private.controller_time(timestamptz)', 'execute')
  and not has_function_privilege('authenticated', 'private.run_time(uuid, timestamptz)', 'execute')
  and not has_function_privilege('service_role', 'private.run_time(uuid, timestamptz)', 'execute'),
  'the private helpers are not executable by the API roles');

-- advance_step -----------------------------------------------------------------------------------------
select pg_temp.new_run();
select pg_temp.go(0, now() - interval '55 minutes');
select is(pg_temp.started(0), now() - interval '55 minutes', 'the first step starts at at, after the start of the run');
select pg_temp.go(1, now() - interval '50 minutes');
select is(pg_temp.ended(0), now() - interval '50 minutes', 'the open step ends at at');
select is(pg_temp.started(1), now() - interval '50 minutes', 'the new step starts at at');
select is((select x.current_step_started_at from public.process_execution_state x where x.process_id = pg_temp.run_id()),
  now() - interval '50 minutes', 'current_step_started_at follows');
select is((select x.elapsed_ms from public.process_execution_state x where x.process_id = pg_temp.run_id()),
  600000::bigint, 'elapsed_ms is counted to at: 10 minutes after the start of the run');
select is((select status::text from public.step_executions s where s.process_id = pg_temp.run_id() and s.step_index = 0), 'completed',
  'the closed step is completed as without at');

select pg_temp.go(2, now() - interval '58 minutes');
select is(pg_temp.ended(1), now() - interval '50 minutes', 'a time before the open step began (clock skew): the step ends when it began, never before');
select is(pg_temp.started(2), now() - interval '50 minutes', 'and the next step starts then');

insert into snap select pg_temp.snapshot();
select throws_ok($$ select pg_temp.advance(3, now() - interval '32 days') $$, '22023', 'at outside the accepted window',
  'at older than max_tick_age (31 days): 22023');
select throws_ok($$ select pg_temp.advance(3, now() + interval '6 minutes') $$, '22023', 'at outside the accepted window',
  'at later than now() + max_tick_lead (5 minutes): 22023');
select throws_ok($$ select pg_temp.advance(3, 'infinity') $$, '22023', 'at must be a finite time', 'at infinity: 22023');
select throws_ok($$ select pg_temp.advance(3, '-infinity') $$, '22023', 'at must be a finite time', 'at -infinity: 22023');
select is(pg_temp.snapshot(), (select v from snap), 'the refused steps changed nothing');
do $$
declare
  d text;
  h text;
begin
  perform pg_temp.advance(3, now() - interval '32 days');
exception when invalid_parameter_value then
  get stacked diagnostics d = pg_exception_detail, h = pg_exception_hint;
  perform set_config('test.detail', d, true);
  perform set_config('test.hint', h, true);
end $$;
select ok(current_setting('test.detail') like 'at % accepted from % to % (now() - 31 days to now() + 00:05:00)',
  'the detail names the time and the accepted window');
select ok(current_setting('test.hint') like '%controller clock%telemetry_settings%', 'the hint points at the controller clock and the settings');
select throws_ok($$ select public.advance_step(null, at => 'infinity') $$, '22004', 'process_id is required',
  'a null process_id is still 22004 first');
select throws_ok($$ select public.advance_step(pg_temp.run_id(), pg_temp.step(3), 3, previous_status => 'running', at => 'infinity') $$,
  '22023', 'previous_status must be completed, failed, skipped or aborted', 'the argument checks before at keep their order');
select throws_ok($$ select public.advance_step('00000000-0000-4000-8000-0000000000ff', at => 'infinity') $$,
  '22023', 'at must be a finite time', 'at is checked with the arguments, before the process is looked up (P0002)');

select is((pg_temp.advance(2, now() - interval '5 minutes')) ->> 'replayed', 'true', 'a replayed step (already applied) replays');
select is(pg_temp.started(2), now() - interval '50 minutes', 'and ignores its at');

select pg_temp.go(3, null);
select is(array[pg_temp.ended(2), pg_temp.started(3)], array[now(), now()], 'at null: the step ends and the next starts at now(), as before');
select pg_temp.go(4, now() + interval '2 minutes');
select is(pg_temp.started(4), now() + interval '2 minutes', 'a controller clock ahead of the server''s, within max_tick_lead: kept');
select pg_temp.go(5, null);
select is(pg_temp.ended(4), now() + interval '2 minutes', 'an online step after it (at null, now()) does not end the step before it began');
select is(pg_temp.started(5), now() + interval '2 minutes', 'the online step starts when the previous one began');
select is((public.advance_step(pg_temp.run_id(), at => now() + interval '3 minutes')) ->> 'step_index', '5', 'step_id null only closes the open step');
select is(pg_temp.ended(5), now() + interval '3 minutes', 'and ends it at at');

-- complete_process -------------------------------------------------------------------------------------
delete from snap;
insert into snap select pg_temp.snapshot();
select throws_ok($$ select public.complete_process(pg_temp.run_id(), at => now() - interval '40 days') $$, '22023', 'at outside the accepted window',
  'complete_process: at outside the window: 22023');
select throws_ok($$ select public.complete_process(pg_temp.run_id(), 'running', at => 'infinity') $$, '22023', 'status must be completed, failed or aborted',
  'complete_process checks status before at');
select throws_ok($$ select public.complete_process(pg_temp.run_id(), at => 'infinity') $$, '22023', 'at must be a finite time',
  'complete_process: at infinity: 22023');
select is(pg_temp.snapshot(), (select v from snap), 'the refused ends changed nothing');
select pg_temp.go(6, now() + interval '3 minutes 30 seconds');
insert into outcome select 1, public.complete_process(pg_temp.run_id(), at => now() + interval '4 minutes');
select is((select e.ended_at from public.process_executions e where e.id = pg_temp.run_id()), now() + interval '4 minutes',
  'the run ends at at');
select is(pg_temp.ended(6), now() + interval '4 minutes', 'and so does its open step');
select is((select o ->> 'duration_ms' from outcome where n = 1), '3840000', 'the summary''s duration runs to at (64 minutes)');
select is((public.complete_process(pg_temp.run_id(), at => now() + interval '1 minute')) ->> 'replayed', 'true',
  'completing again replays');
select is((select e.ended_at from public.process_executions e where e.id = pg_temp.run_id()), now() + interval '4 minutes',
  'and ignores its at');

-- apply_run_command and apply_journal ------------------------------------------------------------------
select pg_temp.new_run();
insert into outcome select 2, jsonb_build_array(to_jsonb(public.issue_run_command('00000000-0000-4000-8000-000000000001', 'pause_recipe')));
insert into outcome select 3, public.apply_journal(
  jsonb_build_array(pg_temp.step_call(0, now() - interval '40 minutes'), pg_temp.step_call(1, now() - interval '39 minutes'),
    pg_temp.command_call((select (o -> 0 ->> 'id')::uuid from outcome where n = 2), now() - interval '38 minutes')));
select is((select jsonb_path_query_array(o, '$[*].ok') from outcome where n = 3), '[true, true, true]'::jsonb, 'two steps and a pause drained');
select is(array[pg_temp.started(0), pg_temp.ended(0), pg_temp.started(1)],
  array[now() - interval '40 minutes', now() - interval '39 minutes', now() - interval '39 minutes'],
  'apply_journal passes each step''s at: the steps keep the controller''s times');
select is((select e.paused_at from public.process_executions e where e.id = pg_temp.run_id()), now() - interval '38 minutes',
  'apply_journal passes the pause''s at: paused_at is when the controller paused');
select is(pg_temp.ended(1), now() - interval '38 minutes', 'the step the pause closed ends then');

insert into outcome select 4, jsonb_build_array(to_jsonb(public.issue_run_command('00000000-0000-4000-8000-000000000001', 'resume_recipe')));
insert into outcome select 5, public.apply_journal(
  jsonb_build_array(pg_temp.command_call((select (o -> 0 ->> 'id')::uuid from outcome where n = 4), now() - interval '30 minutes'),
    pg_temp.step_call(2, now() - interval '29 minutes'),
    pg_temp.step_call(3, now() - interval '40 days')));
select is((select jsonb_path_query_array(o, '$[*].ok') from outcome where n = 5), '[true, true, false]'::jsonb,
  'the resume and a step drained; a step whose at is outside the window is refused');
select is((select o -> 2 ->> 'code' from outcome where n = 5), '22023', 'with 22023');
select is(pg_temp.started(2), now() - interval '29 minutes', 'the step after the resume starts at its at');
insert into outcome select 9, public.apply_journal(jsonb_build_array(
  pg_temp.command_call((select (o -> 0 ->> 'id')::uuid from outcome where n = 2), now() - interval '1 minute')));
select is((select o -> 0 -> 'result' ->> 'replayed' from outcome where n = 9), 'true', 'the pause resent replays');
select is(pg_temp.ended(1), now() - interval '38 minutes', 'and ignores its at');

insert into outcome select 6, jsonb_build_array(to_jsonb(public.issue_run_command('00000000-0000-4000-8000-000000000001', 'stop_recipe')));
delete from snap;
insert into snap select pg_temp.snapshot();
select throws_ok(format('select public.apply_run_command(%L, at => %L)', (select o -> 0 ->> 'id' from outcome where n = 6), 'infinity'),
  '22023', 'at must be a finite time', 'apply_run_command: at infinity: 22023');
select throws_ok(format('select public.apply_run_command(%L, at => now() + interval ''1 hour'')', (select o -> 0 ->> 'id' from outcome where n = 6)),
  '22023', 'at outside the accepted window', 'apply_run_command: at outside the window: 22023');
select is(pg_temp.snapshot(), (select v from snap), 'the refused commands changed nothing');
insert into outcome select 7, public.apply_journal(jsonb_build_array(
  pg_temp.command_call((select (o -> 0 ->> 'id')::uuid from outcome where n = 6), now() - interval '20 minutes')));
select is(array[(select e.ended_at from public.process_executions e where e.id = pg_temp.run_id()), pg_temp.ended(2)],
  array[now() - interval '20 minutes', now() - interval '20 minutes'],
  'apply_journal passes the stop''s at: the run and its open step end when the controller stopped');

-- A run drained with a step journaled without at (an older SDK) and its end with one.
select pg_temp.new_run();
insert into outcome select 8, public.apply_journal(jsonb_build_array(pg_temp.step_call(0, now() - interval '10 minutes'), pg_temp.step_call(1, null),
  jsonb_build_object('kind', 'complete_process', 'args', jsonb_build_object('process_id', pg_temp.run_id(), 'at', now() + interval '1 minute'))));
select is(array[pg_temp.started(0), pg_temp.ended(0), pg_temp.started(1), pg_temp.ended(1)],
  array[now() - interval '10 minutes', now(), now(), now() + interval '1 minute'],
  'an entry without at is stamped now(), as before');
select is((select e.ended_at from public.process_executions e where e.id = pg_temp.run_id()), now() + interval '1 minute',
  'apply_journal passes complete_process''s at: the run ends at it');

select * from finish();
rollback;
