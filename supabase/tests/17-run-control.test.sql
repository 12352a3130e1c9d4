-- Runs as operators drive them (issue 13): every command type through its whole life cycle
-- (start, pause, resume, stop, set_parameter, cancel, fail), every illegal request or transition
-- refused with its stable code and nothing changed, the old web UI's command shapes, retry-safe
-- claims, controllers (registration, takeover, liveness riding on existing calls, the
-- dead-controller job run directly), live progress, and the Realtime publication with a viewer
-- seeing exactly their machine's rows in every published table.
begin;
select plan(108);
\ir helpers/identities.sql
\ir helpers/process.sql

-- Read helpers that see everything whatever the current identity.
create function pg_temp.cmd(id uuid) returns public.recipe_commands language sql stable security definer set search_path = '' as $$
  select * from public.recipe_commands c where c.id = cmd.id
$$;
create function pg_temp.machine() returns public.machines language sql stable security definer set search_path = '' as $$
  select * from public.machines m where m.id = '00000000-0000-4000-8000-000000000001'
$$;
create function pg_temp.run_row() returns public.process_executions language sql stable security definer set search_path = '' as $$
  select * from public.process_executions e where e.id = pg_temp.run_id()
$$;
create function pg_temp.state() returns public.process_execution_state language sql stable security definer set search_path = '' as $$
  select * from public.process_execution_state s where s.process_id = pg_temp.run_id()
$$;
create function pg_temp.ctl(id uuid) returns public.controllers language sql stable security definer set search_path = '' as $$
  select * from public.controllers k where k.id = ctl.id
$$;
-- A fingerprint of everything a refused request could have changed on machine A.
create function pg_temp.snapshot() returns text language sql stable security definer set search_path = '' as $$
  select md5(concat_ws('|',
    (select string_agg(concat_ws(',', c.id, c.status, c.claimed_at, c.completed_at, c.error_message, c.claim_key), ';' order by c.id)
     from public.recipe_commands c where c.machine_id = '00000000-0000-4000-8000-000000000001'),
    (select string_agg(concat_ws(',', e.id, e.status, e.ended_at, e.paused_at), ';' order by e.id)
     from public.process_executions e where e.machine_id = '00000000-0000-4000-8000-000000000001'),
    (select concat_ws(',', m.status, m.current_process_id, m.status_reason) from public.machines m where m.id = '00000000-0000-4000-8000-000000000001'),
    (select string_agg(concat_ws(',', k.id, k.status, k.last_seen_at), ';' order by k.id)
     from public.controllers k where k.machine_id = '00000000-0000-4000-8000-000000000001'),
    (select string_agg(concat_ws(',', s.id, s.status), ';' order by s.id) from public.step_executions s where s.process_id = pg_temp.run_id())))
$$;
create temp table snap (v text);
grant select, insert, delete on snap to public;
create function pg_temp.take() returns void language sql as $$ delete from pg_temp.snap; insert into pg_temp.snap select pg_temp.snapshot() $$;
create function pg_temp.unchanged() returns boolean language sql as $$ select pg_temp.snapshot() = (select v from pg_temp.snap) $$;
-- The SQLSTATE, constraint name and hint a statement raises (null when it succeeds; rolled back either way).
create function pg_temp.err(q text) returns text language plpgsql as $$
declare
  state text; cons text; hint text;
begin
  begin
    execute q;
    raise exception using errcode = 'TT000';
  exception when sqlstate 'TT000' then
    return null;
  when others then
    get stacked diagnostics state = returned_sqlstate, cons = constraint_name, hint = pg_exception_hint;
    return concat_ws(' | ', state, nullif(cons, ''), nullif(hint, ''));
  end;
end $$;

-- Definitions ------------------------------------------------------------------------------------------
select is(
  (select array_agg(p.proname::text || ':' || p.prosecdef::text || ':' || array_to_string(p.proconfig, ',') order by p.proname)
   from pg_catalog.pg_proc p
   where p.pronamespace = 'public'::regnamespace
     and p.proname in ('issue_run_command', 'apply_run_command', 'complete_command', 'register_controller', 'controller_heartbeat')),
  array['apply_run_command:true:search_path=pg_catalog, pg_temp', 'complete_command:true:search_path=pg_catalog, pg_temp',
        'controller_heartbeat:true:search_path=pg_catalog, pg_temp', 'issue_run_command:true:search_path=pg_catalog, pg_temp',
        'register_controller:true:search_path=pg_catalog, pg_temp'],
  'the run-control RPCs are SECURITY DEFINER with search_path pg_catalog, pg_temp');
select is(
  (select array_agg(p.proname::text order by p.proname) from pg_catalog.pg_proc p
   where p.pronamespace = 'public'::regnamespace
     and p.proname in ('claim_next_command', 'start_process', 'advance_step', 'complete_process', 'apply_run_command', 'complete_command')
     and pg_catalog.pg_get_functiondef(p.oid) like '%private.note_controller_seen(%'),
  array['advance_step', 'apply_run_command', 'claim_next_command', 'complete_command', 'complete_process', 'start_process'],
  'every command and run call a controller already makes is its heartbeat: each calls private.note_controller_seen');
-- Recording is a heartbeat through a statement trigger on public.readings (20261204700000), which
-- covers record_readings and record_process_data without copying their bodies.
select is(
  (select array_agg(t.tgname::text) from pg_catalog.pg_trigger t
   where t.tgrelid = 'public.readings'::regclass and not t.tgisinternal
     and t.tgfoid = 'private.readings_note_controller_seen()'::regprocedure),
  array['readings_note_controller_seen'],
  'every recorded tick is a heartbeat too: public.readings notes its controller as seen after each insert');
select ok(
  not has_function_privilege('authenticated', 'private.note_controller_seen(uuid)', 'execute')
  and not has_function_privilege('authenticated', 'private.reap_dead_controllers(timestamptz, interval)', 'execute'),
  'the liveness clock and the dead-controller job are not callable through the API');

create temp table ids (name text primary key, id uuid);
grant select, insert, update on ids to public;
create function pg_temp.id(n text) returns uuid language sql stable as $$ select id from pg_temp.ids where name = n $$;

-- A clean queue on the reactor: no pending command left over from the seed.
update public.recipe_commands set status = 'cancelled' where machine_id = '00000000-0000-4000-8000-000000000001' and status in ('pending', 'claimed');

-- Command shapes: every rule named, with a hint; the old web UI's shapes accepted ----------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select matches(pg_temp.err($$insert into public.recipe_commands (command_type) values ('pause_recipe')$$),
  '^23514 \| recipe_commands_names_machine \| set machine_id',
  'a command without machine and without recipe is refused (23514), naming the rule recipe_commands_names_machine, with a hint');
select matches(pg_temp.err($$insert into public.recipe_commands (machine_id, command_type) values ('00000000-0000-4000-8000-000000000001', 'start_recipe')$$),
  '^23514 \| recipe_commands_start_recipe_names_recipe \| set recipe_id',
  'a start_recipe command without a recipe is refused naming recipe_commands_start_recipe_names_recipe, with a hint');
select matches(pg_temp.err($$insert into public.recipe_commands (machine_id, command_type, parameters) values ('00000000-0000-4000-8000-000000000001', 'stop_recipe', '[]')$$),
  '^23514 \| recipe_commands_parameters_is_object \| send \{\}',
  'parameters that are not an object are refused naming recipe_commands_parameters_is_object, with a hint');
select matches(pg_temp.err($$insert into public.recipe_commands (command_type, parameters) values ('start_recipe', '{"recipe_id": "recipe 7"}')$$),
  '^22P02 \| a start_recipe command names its recipe by id',
  'a parameters.recipe_id that is not a uuid is refused (22P02) with a hint');
select matches(pg_temp.err($$insert into public.recipe_commands (machine_id, command_type, recipe_id, parameters) values ('00000000-0000-4000-8000-000000000001', 'start_recipe', '00000000-0000-4000-8000-000000003001', '{"recipe_id": "00000000-0000-4000-8000-000000003301"}')$$),
  '^23514 \| recipe_commands_recipe_id_matches_parameters \| give the recipe once',
  'recipe_id and parameters.recipe_id naming different recipes are refused naming the rule');
-- the old UI: no machine_id, no created_by, the recipe inside parameters
with old_ui as (
  insert into public.recipe_commands (command_type, parameters) values ('start_recipe', '{"recipe_id": "00000000-0000-4000-8000-000000003001"}')
  returning id)
insert into ids select 'old_ui', id from old_ui;
select is(
  (select row(c.machine_id, c.recipe_id, c.created_by, c.status::text) from pg_temp.cmd(pg_temp.id('old_ui')) c),
  row('00000000-0000-4000-8000-000000000001'::uuid, '00000000-0000-4000-8000-000000003001'::uuid, '00000000-0000-4000-8000-000000000102'::uuid, 'pending'::text),
  'an old-UI start_recipe (recipe_id inside parameters, machine_id and created_by left out) is accepted: recipe and machine from the recipe, created_by the caller');
-- cancelled by the operator: the cancel life cycle
update public.recipe_commands set status = 'cancelled' where id = pg_temp.id('old_ui');
select is((select row(c.status::text, c.completed_at) from pg_temp.cmd(pg_temp.id('old_ui')) c), row('cancelled'::text, now()),
  'an operator cancels a pending command: cancelled, completed_at stamped');
select pg_temp.logout();
select matches(pg_temp.err($$update public.recipe_commands set status = 'pending' where id = pg_temp.id('old_ui')$$),
  '^RC006 \| commands go pending',
  'a cancelled command never comes back, not even for the controller (RC006, with a hint)');
select is((select status::text from pg_temp.cmd(pg_temp.id('old_ui'))), 'cancelled', 'and it stays cancelled');

-- Retry-safe claims; set_parameter through its life cycle ----------------------------------------------
insert into public.recipe_commands (id, machine_id, command_type, parameters, created_at) values
  ('c1600000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'set_parameter', '{"value": 1}', now() - interval '2 minutes'),
  ('c1600000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001', 'set_parameter', '{"value": 2}', now() - interval '1 minute');
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is((select id from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'ctl', 'a1600000-0000-4000-8000-000000000001')),
  'c1600000-0000-4000-8000-000000000002'::uuid, 'a claim with a claim key returns the oldest pending command');
select is((select row(id, status::text, attempts) from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'ctl', 'a1600000-0000-4000-8000-000000000001')),
  row('c1600000-0000-4000-8000-000000000002'::uuid, 'claimed'::text, 1),
  'the same claim retried (its reply lost) returns the same command, not the next one, and counts no second attempt');
select is((select status::text from pg_temp.cmd('c1600000-0000-4000-8000-000000000003')), 'pending', 'the next command is still pending after the retry');
select is((select row(status::text, claimed_by) from public.complete_command('c1600000-0000-4000-8000-000000000002')), row('completed'::text, 'ctl'::text),
  'set_parameter: the controller confirms the command with complete_command');
select is((select status::text from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'ctl', 'a1600000-0000-4000-8000-000000000001')), 'completed',
  'a claim retried after the command was completed still returns that command (now completed), never a second one');
select is((select completed_at from public.complete_command('c1600000-0000-4000-8000-000000000002', 'completed')), now(),
  'complete_command again with the same status replies with the command unchanged');
select pg_temp.take();
select matches(pg_temp.err($$select public.complete_command('c1600000-0000-4000-8000-000000000002', 'failed', 'too late')$$), '^RC006',
  'failing a completed command is an illegal transition (RC006)');
select matches(pg_temp.err($$select public.complete_command('c1600000-0000-4000-8000-000000000003', 'failed')$$), '^22004',
  'failing a command without a reason is refused (22004)');
select matches(pg_temp.err($$select public.complete_command('c1600000-0000-4000-8000-000000000003', 'claimed')$$), '^22023',
  'complete_command only ends commands (22023 for claimed)');
select ok(pg_temp.unchanged(), 'the three refusals changed nothing');
select is((select id from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'ctl')), 'c1600000-0000-4000-8000-000000000003'::uuid,
  'a claim without a key takes the next command');
select is((select row(status::text, error_message) from public.complete_command('c1600000-0000-4000-8000-000000000003', 'failed', 'PLC refused the write')),
  row('failed'::text, 'PLC refused the write'::text), 'set_parameter: a command the controller cannot honour ends failed, with the reason');
select pg_temp.logout();
select pg_temp.login_as('00000000-0000-4000-8000-000000000201');
select matches(pg_temp.err($$select * from public.claim_next_command('00000000-0000-4000-8000-000000000002', 'ctl', 'a1600000-0000-4000-8000-000000000001')$$), '^23505 \| use a new claim_key',
  'a claim key already used on another machine is refused (23505)');
select pg_temp.logout();

-- Controllers: one per machine, explicit takeover ---------------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
insert into ids select 'ctl1', id from public.register_controller('00000000-0000-4000-8000-000000000001', 'host-1', '1.0');
select is((select row(k.machine_id, k.host, k.version, k.status::text, k.timeout_ms, k.started_at, k.last_seen_at) from pg_temp.ctl(pg_temp.id('ctl1')) k),
  row('00000000-0000-4000-8000-000000000001'::uuid, 'host-1'::text, '1.0'::text, 'alive'::text, 30000, now(), now()),
  'register_controller: alive, host and version as reported, a 30 s timeout by default');
select pg_temp.take();
select matches(pg_temp.err($$select public.register_controller('00000000-0000-4000-8000-000000000001', 'host-2', '1.0')$$), '^RC004 \| .*takeover => true',
  'a second controller on the machine is refused (RC004) with a hint to take over explicitly');
select ok(pg_temp.unchanged(), 'the refused registration changed nothing');
select is((select id from public.register_controller('00000000-0000-4000-8000-000000000001', 'host-1', '1.0', controller_id => pg_temp.id('ctl1'))), pg_temp.id('ctl1'),
  'a registration retried with its controller_id returns the same controller');
select is((select status::text from public.controller_heartbeat(pg_temp.id('ctl1'))), 'alive', 'controller_heartbeat answers with the live controller');
select pg_temp.logout();
select pg_temp.login_as('00000000-0000-4000-8000-000000000101');
select matches(pg_temp.err($$select public.register_controller('00000000-0000-4000-8000-000000000001', 'viewer-host', null, true)$$), '^42501',
  'a viewer cannot register (or take over) a controller');
select pg_temp.logout();

-- start_recipe through its life cycle, with live progress -----------------------------------------------
insert into public.recipe_commands (id, machine_id, command_type, recipe_id) values
  ('c1600000-0000-4000-8000-000000000010', '00000000-0000-4000-8000-000000000001', 'start_recipe', '00000000-0000-4000-8000-000000003001');
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is((select row(id, controller_id) from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'ctl', 'a1600000-0000-4000-8000-000000000010')),
  row('c1600000-0000-4000-8000-000000000010'::uuid, pg_temp.id('ctl1')),
  'start_recipe: claimed, stamped with the claiming registered controller');
insert into run select (p ->> 'process_id')::uuid, p
  from public.start_process('00000000-0000-4000-8000-000000000001', command_id => 'c1600000-0000-4000-8000-000000000010') p;
select is((select status::text from pg_temp.cmd('c1600000-0000-4000-8000-000000000010')), 'executing', 'start_recipe: executing once its run started');
select is(pg_temp.advance_through(pg_temp.run_id(), 0, 3), 4, 'the controller runs steps 0..3 (into the first loop iteration)');
select pg_temp.logout();
select is(
  (select row(s.current_step_type::text, s.current_step_name, s.current_step_config, s.current_loop_iteration, s.current_loop_count, s.run_status::text, s.current_step_started_at)
   from pg_temp.state() s),
  (select row(r.step_type::text, r.name, private.step_config(r.id, r.step_type), 1, 10, 'running'::text, now())
   from public.recipe_steps r where r.id = (select q.step_id from pg_temp.sequence() q where q.step_index = 3)),
  'live progress, written by advance_step: the running step''s type, name and config, loop iteration 1 of 10, since when');
select is((select row(s.completed_steps, s.total_steps, s.elapsed_ms >= 0, s.estimated_remaining_ms >= 0) from pg_temp.state() s),
  row(3, 45, true, true), 'live progress: completed of total steps, elapsed and an estimate of the remaining time');
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');

-- Illegal run requests: stable codes, nothing changed ----------------------------------------------------
select pg_temp.take();
select matches(pg_temp.err($$select public.issue_run_command('00000000-0000-4000-8000-000000000001', 'resume_recipe')$$), '^RC002 \| resume only a paused run',
  'resume of a running (not paused) run: RC002');
select matches(pg_temp.err($$select public.issue_run_command('00000000-0000-4000-8000-000000000001', 'start_recipe')$$), '^22023',
  'issue_run_command only issues stop, pause and resume (22023)');
select ok(pg_temp.unchanged(), 'the refused requests changed nothing');

-- pause_recipe: issued, claimed, applied between two steps ------------------------------------------------
insert into ids select 'pause1', id from public.issue_run_command('00000000-0000-4000-8000-000000000001', 'pause_recipe', request_id => 'b1600000-0000-4000-8000-000000000001');
select is((select row(c.status::text, c.process_id, c.command_type::text) from pg_temp.cmd(pg_temp.id('pause1')) c),
  row('pending'::text, pg_temp.run_id(), 'pause_recipe'::text), 'pause: issue_run_command queues a pending pause_recipe for the open run');
select is((select id from public.issue_run_command('00000000-0000-4000-8000-000000000001', 'pause_recipe', request_id => 'b1600000-0000-4000-8000-000000000001')),
  pg_temp.id('pause1'), 'pause: the same request retried returns the same command');
select is((select id from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'ctl')), pg_temp.id('pause1'), 'pause: the controller claims it');
select is((select status::text from pg_temp.run_row()), 'running', 'pause: the run keeps running while the controller finishes its step');
select is(
  (select r - 'command_id' from public.apply_run_command(pg_temp.id('pause1')) r),
  jsonb_build_object('command_type', 'pause_recipe', 'command_status', 'completed', 'process_id', pg_temp.run_id(),
                     'process_status', 'paused', 'machine_status', 'paused', 'replayed', false),
  'pause: apply_run_command pauses the run and the machine and completes the command in one round trip');
select is((select row(e.status::text, e.paused_at, (pg_temp.machine()).status::text, (pg_temp.machine()).current_process_id) from pg_temp.run_row() e),
  row('paused'::text, now(), 'paused'::text, pg_temp.run_id()), 'pause: process and machine record paused; the machine keeps its run');
select is((select row(s.completed_steps, s.current_step_execution_id, s.current_step_index, s.run_status::text) from pg_temp.state() s),
  row(4, null::uuid, 3, 'paused'::text), 'pause: the step the controller finished is closed; the numbering stays at 3');
select is((select status::text from public.step_executions where process_id = pg_temp.run_id() and step_index = 3), 'completed', 'pause: step 3 is completed, not aborted');
select is((select r ->> 'replayed' from public.apply_run_command(pg_temp.id('pause1')) r), 'true', 'pause: applying it again replays');

-- while paused: refused steps and pauses ---------------------------------------------------------------
select pg_temp.take();
select matches(pg_temp.err($$select public.advance_step(pg_temp.run_id(), (select step_id from pg_temp.sequence() where step_index = 4), 4, 1)$$), '^55000',
  'a paused run takes no step (55000)');
select matches(pg_temp.err($$select public.issue_run_command('00000000-0000-4000-8000-000000000001', 'pause_recipe')$$), '^RC003',
  'pause of a paused run: RC003');
select ok(pg_temp.unchanged(), 'refused while paused: nothing changed');
select pg_temp.logout();
insert into public.recipe_commands (id, machine_id, command_type) values
  ('c1600000-0000-4000-8000-000000000020', '00000000-0000-4000-8000-000000000001', 'pause_recipe');
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is((select id from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'ctl')), 'c1600000-0000-4000-8000-000000000020'::uuid,
  'a pause inserted directly (not checked on insert) reaches the controller');
select pg_temp.take();
select matches(pg_temp.err($$select public.apply_run_command('c1600000-0000-4000-8000-000000000020')$$), '^RC003',
  'applying a pause to a paused run: RC003');
select ok(pg_temp.unchanged(), 'the refused apply changed nothing');
select is((select row(status::text, error_message) from public.complete_command('c1600000-0000-4000-8000-000000000020', 'failed', 'run is already paused')),
  row('failed'::text, 'run is already paused'::text), 'the controller then fails that command with the reason: it does not stay claimed');

-- resume_recipe --------------------------------------------------------------------------------------------
insert into ids select 'resume1', id from public.issue_run_command('00000000-0000-4000-8000-000000000001', 'resume_recipe');
select is((select id from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'ctl')), pg_temp.id('resume1'), 'resume: claimed');
select is((select r ->> 'process_status' || '/' || (r ->> 'machine_status') || '/' || (r ->> 'command_status') from public.apply_run_command(pg_temp.id('resume1')) r),
  'running/running/completed', 'resume: run and machine running again, command completed');
select is((select (r ->> 'step_index')::int from public.advance_step(pg_temp.run_id(), (select step_id from pg_temp.sequence() where step_index = 4), 4, 1) r), 4,
  'resume: the run continues at the next step with the same numbering (step_index 4)');
select is((select row(s.completed_steps, s.current_step_index, s.run_status::text, e.paused_at) from pg_temp.state() s, pg_temp.run_row() e),
  row(4, 4, 'running'::text, null::timestamptz), 'resume: progress goes on from 4 completed steps');

-- the heartbeat rides on the calls the controller makes ------------------------------------------------------
select pg_temp.logout();
update public.controllers set last_seen_at = now() - interval '10 seconds' where id = pg_temp.id('ctl1');
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select lives_ok($$select public.advance_step(pg_temp.run_id(), (select step_id from pg_temp.sequence() where step_index = 5), 5, 1)$$, 'a step');
select is((pg_temp.ctl(pg_temp.id('ctl1'))).last_seen_at, now(), 'advance_step moved the controller''s last_seen_at: no extra round trip');
select pg_temp.logout();
update public.controllers set last_seen_at = now() - interval '10 seconds' where id = pg_temp.id('ctl1');
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is_empty($$ select * from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'ctl') $$, 'a poll that finds no command');
select is((pg_temp.ctl(pg_temp.id('ctl1'))).last_seen_at, now(), 'claim_next_command moved last_seen_at too, even with nothing to claim');
select pg_temp.logout();
update public.controllers set last_seen_at = now() - interval '500 milliseconds' where id = pg_temp.id('ctl1');
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is_empty($$ select * from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'ctl') $$, 'another poll');
select is((pg_temp.ctl(pg_temp.id('ctl1'))).last_seen_at, now() - interval '500 milliseconds',
  'within a second of the last write a call writes nothing to controllers (at most one write a second)');

-- stop_recipe ------------------------------------------------------------------------------------------------
insert into ids select 'stop1', id from public.issue_run_command('00000000-0000-4000-8000-000000000001', 'stop_recipe', 'wrong precursor');
select is((select r -> 'pending_command' from public.advance_step(pg_temp.run_id(), (select step_id from pg_temp.sequence() where step_index = 6), 6, 1) r),
  jsonb_build_object('id', pg_temp.id('stop1'), 'command_type', 'stop_recipe'),
  'stop: the reply of the controller''s next advance_step names the pending stop: no polling between steps');
select is((select id from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'ctl')), pg_temp.id('stop1'), 'stop: claimed');
select is((select r ->> 'process_status' || '/' || (r ->> 'machine_status') || '/' || (r ->> 'command_status') from public.apply_run_command(pg_temp.id('stop1')) r),
  'aborted/idle/completed', 'stop: the run is aborted, the machine idle, the command completed, in one round trip');
select is((select row(e.status::text, e.error_message, (pg_temp.machine()).current_process_id) from pg_temp.run_row() e),
  row('aborted'::text, 'wrong precursor'::text, null::uuid), 'stop: the run ends aborted with the operator''s reason and frees the machine');
select is((select row(status::text, error_message) from pg_temp.cmd('c1600000-0000-4000-8000-000000000010')),
  row('failed'::text, 'wrong precursor'::text), 'start_recipe: the command of a stopped run ends failed, with the reason');
select is((select count(*)::int from public.step_executions where process_id = pg_temp.run_id() and status = 'running'), 0, 'stop: no step is left open');

-- on an idle machine -------------------------------------------------------------------------------------------
select pg_temp.logout();
insert into public.recipe_commands (id, machine_id, command_type) values
  ('c1600000-0000-4000-8000-000000000030', '00000000-0000-4000-8000-000000000001', 'stop_recipe');
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select pg_temp.take();
select matches(pg_temp.err($$select public.issue_run_command('00000000-0000-4000-8000-000000000001', 'stop_recipe')$$), '^RC001 \| stop only',
  'stop on an idle machine: RC001');
select matches(pg_temp.err($$select public.issue_run_command('00000000-0000-4000-8000-000000000001', 'pause_recipe')$$), '^RC001 \| pause only',
  'pause on an idle machine: RC001');
select matches(pg_temp.err($$select public.issue_run_command('00000000-0000-4000-8000-000000000001', 'resume_recipe')$$), '^RC002',
  'resume on an idle machine: RC002');
select matches(pg_temp.err($$select public.apply_run_command('c1600000-0000-4000-8000-000000000030')$$), '^RC001',
  'applying a stop inserted directly for an idle machine: RC001');
select ok(pg_temp.unchanged(), 'refused on an idle machine: nothing changed');
select pg_temp.logout();
select matches(pg_temp.err($$update public.recipe_commands set status = 'pending' where id = 'c1600000-0000-4000-8000-000000000010'$$), '^RC006',
  'a failed command never goes back to pending (RC006)');

-- stop while paused ---------------------------------------------------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is((select status::text from public.complete_command('c1600000-0000-4000-8000-000000000030', 'cancelled')), 'cancelled',
  'the controller cancels the stop it could not apply');
delete from run;
insert into run select (p ->> 'process_id')::uuid, p from public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') p;
select is(pg_temp.advance_through(pg_temp.run_id(), 0, 1), 2, 'a second run takes two steps');
select is((select r ->> 'process_status' from public.apply_run_command((select id from public.issue_run_command('00000000-0000-4000-8000-000000000001', 'pause_recipe'))) r),
  'paused', 'it is paused');
select is((select r ->> 'process_status' || '/' || (r ->> 'machine_status') from public.apply_run_command((select id from public.issue_run_command('00000000-0000-4000-8000-000000000001', 'stop_recipe'))) r),
  'aborted/idle', 'a paused run can be stopped: aborted, machine idle');
select is((select row(e.status::text, e.error_message, e.paused_at, s.run_status::text, s.estimated_remaining_ms) from pg_temp.run_row() e, pg_temp.state() s),
  row('aborted'::text, 'stopped by operator'::text, null::timestamptz, 'aborted'::text, 0::bigint),
  'without a reason the run says it was stopped by an operator; its progress row shows the end');

-- The dead-controller job ---------------------------------------------------------------------------------------
delete from run;
insert into run select (p ->> 'process_id')::uuid, p from public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') p;
select is(pg_temp.advance_through(pg_temp.run_id(), 0, 0), 1, 'a third run takes a step');
select pg_temp.logout();
insert into public.recipe_commands (id, machine_id, command_type, parameters) values
  ('c1600000-0000-4000-8000-000000000040', '00000000-0000-4000-8000-000000000001', 'set_parameter', '{"value": 3}');
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is((select id from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'ctl', 'a1600000-0000-4000-8000-000000000040')),
  'c1600000-0000-4000-8000-000000000040'::uuid, 'the controller claims a command and then falls silent');
select pg_temp.logout();
select pg_temp.take();
select is(private.reap_dead_controllers(now() + interval '29 seconds'),
  '{"runs_failed": 0, "commands_failed": 0, "controllers_dead": 0, "commands_requeued": 0}'::jsonb,
  'silent for 29 s of a 30 s timeout: the job declares nothing dead');
select ok(pg_temp.unchanged(), 'and changes nothing');
select is(private.reap_dead_controllers(now() + interval '31 seconds'),
  '{"runs_failed": 1, "commands_failed": 0, "controllers_dead": 1, "commands_requeued": 1}'::jsonb,
  'silent past its timeout: the job declares the controller dead, fails its run and re-queues its claim');
select is((select row(k.status::text, k.ended_reason like 'controller lost: controller % on host-1 silent since %') from pg_temp.ctl(pg_temp.id('ctl1')) k),
  row('dead'::text, true), 'the controller is dead, with the reason');
select is((select row(e.status::text, e.error_message, s.run_status::text) from pg_temp.run_row() e, pg_temp.state() s),
  row('failed'::text, 'controller lost'::text, 'failed'::text), 'its run is failed with "controller lost"');
select is((select row(m.status::text, m.current_process_id, m.status_reason like 'controller lost: %') from pg_temp.machine() m),
  row('error'::text, null::uuid, true), 'the machine is in error, with the reason');
select is((select row(c.status::text, c.claimed_at, c.claim_key, c.controller_id, c.attempts) from pg_temp.cmd('c1600000-0000-4000-8000-000000000040') c),
  row('pending'::text, null::timestamptz, null::uuid, null::uuid, 1), 'its claimed command is pending again, its claim cleared');
select is(private.reap_dead_controllers(now() + interval '1 hour'),
  '{"runs_failed": 0, "commands_failed": 0, "controllers_dead": 0, "commands_requeued": 0}'::jsonb,
  'running the job again changes nothing');
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select matches(pg_temp.err($$select public.controller_heartbeat(pg_temp.id('ctl1'))$$), '^RC005',
  'the dead controller''s heartbeat is refused (RC005): it learns it lost the machine');
insert into ids select 'ctl2', id from public.register_controller('00000000-0000-4000-8000-000000000001', 'host-2', '1.1', timeout_ms => 5000);
select is((select row(k.status::text, (pg_temp.machine()).status::text, (pg_temp.machine()).status_reason) from pg_temp.ctl(pg_temp.id('ctl2')) k),
  row('alive'::text, 'idle'::text, null::text), 'a new controller registers without takeover and the machine it found in error is idle again');
select is((select id from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'ctl2')), 'c1600000-0000-4000-8000-000000000040'::uuid,
  'the new controller gets the re-queued command');
insert into ids select 'ctl3', id from public.register_controller('00000000-0000-4000-8000-000000000001', 'host-3', '1.2', takeover => true);
select is((select row(k.status::text, k.replaced_by, k.ended_reason) from pg_temp.ctl(pg_temp.id('ctl2')) k),
  row('replaced'::text, pg_temp.id('ctl3'), 'taken over by a controller on host-3'::text), 'takeover: the previous controller is replaced');
select matches(pg_temp.err($$select public.controller_heartbeat(pg_temp.id('ctl2'))$$), '^RC005', 'the replaced controller''s heartbeat is refused (RC005)');
select is((select row(c.status::text, c.attempts) from pg_temp.cmd('c1600000-0000-4000-8000-000000000040') c), row('pending'::text, 2),
  'takeover re-queues the replaced controller''s claims');
select pg_temp.logout();
select is(private.reap_dead_controllers(now() + interval '1 hour') ->> 'controllers_dead', '1', 'the idle machine''s controller goes silent too');
select is((select row(m.status::text, m.status_reason like 'controller lost: %') from pg_temp.machine() m),
  row('offline'::text, true), 'without a run to fail, the machine is offline, with the reason');

-- Claims nobody alive answers for (machine B has no controller) ------------------------------------------------
insert into public.recipe_commands (id, machine_id, command_type, status, claimed_at, claimed_by, attempts) values
  ('c1600000-0000-4000-8000-000000000050', '00000000-0000-4000-8000-000000000002', 'set_parameter', 'claimed', now() - interval '11 minutes', 'legacy', 1),
  ('c1600000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000002', 'set_parameter', 'claimed', now() - interval '11 minutes', 'legacy', 3),
  ('c1600000-0000-4000-8000-000000000052', '00000000-0000-4000-8000-000000000002', 'set_parameter', 'claimed', now() - interval '9 minutes', 'legacy', 1);
select is(private.reap_dead_controllers(now()),
  '{"runs_failed": 0, "commands_failed": 1, "controllers_dead": 0, "commands_requeued": 1}'::jsonb,
  'the job re-queues a claim older than 10 minutes on a machine without a live controller, and fails one on its third claim');
select is(
  (select array_agg(c.status::text || ':' || coalesce(c.claimed_by, '-') || ':' || coalesce(c.error_message, '-') order by c.id)
   from public.recipe_commands c where c.id::text like 'c1600000-0000-4000-8000-00000000005%'),
  array['pending:-:-', 'failed:legacy:claimed 3 times and never confirmed', 'claimed:legacy:-'],
  'the old claim is pending again, the thrice-claimed one failed with the reason, the 9-minute-old claim untouched');
select is(private.reap_dead_controllers(now() + interval '1 hour', null) ->> 'commands_requeued', '0',
  'with stale_claim_after null the job leaves unanswered claims alone');

-- Realtime: the publication and what a viewer receives ---------------------------------------------------------
select ok(exists (select 1 from pg_catalog.pg_publication where pubname = 'supabase_realtime'), 'the supabase_realtime publication exists');
select ok(
  (select array_agg(tablename::text order by tablename) from pg_catalog.pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public')
  @> array['controllers', 'machines', 'process_execution_state', 'process_executions', 'recipe_commands'],
  'machines, controllers, recipe_commands, process_executions and process_execution_state are published');
-- Rows of machine B in every published table, so that a leak would show.
insert into public.controllers (machine_id, host) values ('00000000-0000-4000-8000-000000000002', 'bench-b');
insert into public.recipe_commands (machine_id, command_type) values ('00000000-0000-4000-8000-000000000002', 'stop_recipe');
insert into public.process_executions (id, machine_id, recipe_snapshot, status, ended_at) values
  ('d1600000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '{}', 'completed', now());
insert into public.process_execution_state (process_id, total_steps) values ('d1600000-0000-4000-8000-000000000001', 1);
select public.record_readings(m.id, array[(select p.id from public.component_parameters p where p.machine_id = m.id order by p.id limit 1)], array[1.0])
from public.machines m where m.id in ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002');
select public.set_parameter_value(md5('ald-demo/bench_heater/temperature_set')::uuid, 41, reason => 'a setpoint request of machine B');
create temp table published_rows (tbl text, id uuid, machine_id uuid);
grant select, insert on published_rows to public;
create function pg_temp.collect() returns void language sql as $$
  insert into pg_temp.published_rows
  select 'machines', m.id, m.id from public.machines m
  union all select 'controllers', k.id, k.machine_id from public.controllers k
  union all select 'recipe_commands', c.id, c.machine_id from public.recipe_commands c
  union all select 'process_executions', e.id, e.machine_id from public.process_executions e
  union all select 'process_execution_state', s.process_id, (select e.machine_id from public.process_executions e where e.id = s.process_id)
    from public.process_execution_state s
  union all select 'latest_readings', l.machine_id, l.machine_id from public.latest_readings l
  union all select 'setpoint_requests', r.id, r.machine_id from public.setpoint_requests r
$$;
select pg_temp.collect();
create temp table all_rows as select * from published_rows;
delete from published_rows;
select pg_temp.login_as('00000000-0000-4000-8000-000000000101');
select pg_temp.collect();
select pg_temp.logout();
select is(
  (select array_agg(tbl order by tbl) from (select distinct tbl from all_rows where machine_id = '00000000-0000-4000-8000-000000000002') t),
  (select array_agg(tablename::text order by tablename) from pg_catalog.pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public'),
  'every published table is checked here and holds rows of machine B (so the next test could see a leak): a table added to the publication must be added to collect()');
select set_eq(
  $$ select tbl, id from published_rows $$,
  $$ select tbl, id from all_rows where machine_id = '00000000-0000-4000-8000-000000000001' $$,
  'through the SELECT policies of every published table a viewer of A sees exactly machine A''s rows: what Realtime sends them');

select * from finish();
rollback;
