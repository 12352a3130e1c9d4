-- Telemetry always on (20261204400000..20261204400500): record_readings with and without a
-- running process, across a run's start and end with no gap and no duplicate tick, idempotent on
-- (machine, tick time) under retry and replay, versioned layouts, latest readings, get_readings
-- against a plain SQL aggregate over the narrow view, every error code, and who may do what.
--   reactor A 00000000-0000-4000-8000-000000000001 (137 parameters), bench B ...-000000000002
begin;
select plan(65);
\ir helpers/identities.sql

create temp table ids as select
  '00000000-0000-4000-8000-000000000001'::uuid as a,
  '00000000-0000-4000-8000-000000000002'::uuid as b,
  pg_temp.param('chamber_heater', 'temperature_read') as t,
  pg_temp.param('chamber_pressure_gauge', 'pressure_read') as p,
  pg_temp.param('valve_1', 'state') as v;
create function pg_temp.ids() returns ids language sql stable security definer as $$ select * from pg_temp.ids $$;
create function pg_temp.ticks(m uuid) returns bigint language sql stable security definer set search_path = '' as $$
  select count(*) from public.readings r where r.machine_id = m
$$;
-- A clean slate: no run on the reactor.
update public.process_executions set status = 'aborted', ended_at = greatest(now(), started_at) where status = 'running';
update public.machines set status = 'idle', current_process_id = null;
create temp table versions_before as select id, version, updated_at from public.component_parameters;

-- Definition ------------------------------------------------------------------------------------------
select is(
  (select p.provolatile::text || ':' || p.prosecdef::text || ':' || array_to_string(p.proconfig, ',') from pg_catalog.pg_proc p
   where p.oid = 'public.record_readings(uuid, uuid[], double precision[], timestamptz[], double precision[], uuid)'::regprocedure),
  'v:true:search_path=pg_catalog, pg_temp',
  'record_readings is VOLATILE, SECURITY DEFINER with search_path pg_catalog, pg_temp');
select is(
  (select p.provolatile::text || ':' || p.prosecdef::text from pg_catalog.pg_proc p
   where p.oid = 'public.get_readings(uuid, uuid[], timestamptz, timestamptz, integer, uuid)'::regprocedure),
  's:false', 'get_readings is STABLE and SECURITY INVOKER (RLS decides what it reads)');
select is(
  (select p.provolatile::text || ':' || p.prosecdef::text from pg_catalog.pg_proc p
   where p.oid = 'public.get_latest_readings(uuid)'::regprocedure),
  's:false', 'get_latest_readings is STABLE and SECURITY INVOKER');
select ok('security_invoker=true' = any ((select reloptions from pg_catalog.pg_class where oid = 'public.process_data_points'::regclass)::text[]),
  'the narrow view process_data_points is security_invoker');
select ok(exists (select 1 from pg_catalog.pg_publication_tables
                  where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'latest_readings'),
  'latest_readings is in the supabase_realtime publication');
select ok(not has_function_privilege('authenticated', 'private.store_ticks(uuid, uuid, timestamptz[], uuid[], double precision[], double precision[])', 'execute')
          and not has_function_privilege('service_role', 'private.store_ticks(uuid, uuid, timestamptz[], uuid[], double precision[], double precision[])', 'execute'),
  'private.store_ticks runs only inside the recording RPCs');

-- Recording with no process ----------------------------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is(
  public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t, (pg_temp.ids()).p], array[150.0, 101.0, 151.0, 102.0, 152.0, null],
                         array[now() - interval '300 seconds', now() - interval '299 seconds', now() - interval '298 seconds'],
                         array[150.0, 100.0, 150.0, 100.0, 150.0, 100.0]),
  3, 'an operator records three ticks of two parameters in one call, with no process running');
select results_eq(
  $$ select ts, value, set_point, process_id from public.process_data_points
     where machine_id = (pg_temp.ids()).a and parameter_id = (pg_temp.ids()).t and ts >= now() - interval '300 seconds' order by ts $$,
  $$ values (now() - interval '300 seconds', 150.0::float8, 150.0::float8, null::uuid),
            (now() - interval '299 seconds', 151.0, 150.0, null), (now() - interval '298 seconds', 152.0, 150.0, null) $$,
  'each tick keeps its time, value and set point, with no process');
select is(
  (select row(value, set_point) from public.process_data_points
   where parameter_id = (pg_temp.ids()).p and ts = now() - interval '298 seconds'),
  row(null::float8, 100.0::float8), 'a null reading stays null next to its set point');
select is(
  public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t, (pg_temp.ids()).p], array[150.0, 101.0, 151.0, 102.0, 152.0, null],
                         array[now() - interval '300 seconds', now() - interval '299 seconds', now() - interval '298 seconds']),
  0, 'the same ticks again (a retry or a replayed journal) store nothing and raise nothing');
select is(pg_temp.ticks((pg_temp.ids()).a), 3::bigint, 'still three ticks');
select is(
  public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[153.0, 154.0],
                         array[now() - interval '298 seconds', now() - interval '297 seconds']),
  1, 'a batch overlapping stored ticks stores only the new tick (the key is machine + tick time)');
select is(
  (select value from public.process_data_points where parameter_id = (pg_temp.ids()).t and ts = now() - interval '298 seconds'),
  152.0::float8, 'the first write of a tick wins');
select is(public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[155.0]), 1,
  'a tick without timestamps is stamped now()');
select is((select ts from public.readings where machine_id = (pg_temp.ids()).a order by ts desc limit 1), now(),
  'and carries the transaction time');

-- Layouts: a new parameter makes a new version; history is not rewritten ------------------------------
select is((select array_agg(version order by version) from public.reading_layouts where machine_id = (pg_temp.ids()).a), array[1],
  'the reactor has one layout so far');
select is(
  public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).v, (pg_temp.ids()).t], array[1.0, 156.0], array[now() - interval '296 seconds']),
  1, 'a tick with a parameter the layout lacks is recorded');
select results_eq(
  $$ select version, parameter_ids from public.reading_layouts where machine_id = (pg_temp.ids()).a order by version $$,
  $$ values (1, array[(pg_temp.ids()).t, (pg_temp.ids()).p]), (2, array[(pg_temp.ids()).t, (pg_temp.ids()).p, (pg_temp.ids()).v]) $$,
  'it made layout version 2: the old parameters in their order, the new one after');
select is(
  (select array_agg(layout_version order by ts) from public.readings where machine_id = (pg_temp.ids()).a),
  array[1, 1, 1, 1, 2, 1], 'the ticks recorded before keep layout version 1: history is not rewritten');
select is(
  public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).p], array[99.0], array[now() - interval '295 seconds']),
  1, 'a tick with a subset of the layout''s parameters is recorded');
select is((select max(version) from public.reading_layouts where machine_id = (pg_temp.ids()).a), 2,
  'and makes no new layout version');

-- Across a run's start and end: no gap, no duplicate tick ------------------------------------------------
select pg_temp.logout();
insert into public.process_executions (id, machine_id, recipe_snapshot, status, started_at, ended_at)
values ('00000000-0000-4000-8000-00000000f601', (pg_temp.ids()).a, '{}', 'completed', now() - interval '200 seconds', now() - interval '150 seconds');
select pg_temp.login_as_service();
-- 100 ticks, one a second, from 240 s ago: 40 before the run, 51 within it (both ends included), 9 after
select is(
  public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t],
    (select array_agg(g::float8 order by g) from generate_series(1, 100) g),
    (select array_agg(now() - interval '240 seconds' + make_interval(secs => g - 1) order by g) from generate_series(1, 100) g)),
  100, 'a backlog of 100 ticks around a finished run is stored');
-- the same ticks again in three overlapping calls, as a journal replays them
select is(
  public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t],
    (select array_agg(g::float8 order by g) from generate_series(1, 60) g),
    (select array_agg(now() - interval '240 seconds' + make_interval(secs => g - 1) order by g) from generate_series(1, 60) g))
  + public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t],
    (select array_agg(g::float8 order by g) from generate_series(40, 101) g),
    (select array_agg(now() - interval '240 seconds' + make_interval(secs => g - 1) order by g) from generate_series(40, 101) g)),
  1, 'replaying them in overlapping batches stores only the one tick not sent before');
select results_eq(
  $$ select count(*), count(distinct ts), max(ts) - min(ts),
            count(*) filter (where process_id = '00000000-0000-4000-8000-00000000f601'),
            count(*) filter (where process_id is null)
     from public.process_data_points
     where machine_id = (pg_temp.ids()).a and parameter_id = (pg_temp.ids()).t
       and ts between now() - interval '240 seconds' and now() - interval '140 seconds' $$,
  $$ values (101::bigint, 101::bigint, interval '100 seconds', 51::bigint, 50::bigint) $$,
  'one reading per second for 101 seconds, no gap, no duplicate; the 51 within [started_at, ended_at] carry the run, the others none');
select is(
  (select array[min(ts), max(ts)] from public.readings where process_id = '00000000-0000-4000-8000-00000000f601'),
  array[now() - interval '200 seconds', now() - interval '150 seconds'],
  'the run''s first and last ticks are at its start and its end');

-- A running process is found by the server, or given -----------------------------------------------
select pg_temp.logout();
create temp table run as
  select (public.start_process((pg_temp.ids()).a, '00000000-0000-4000-8000-000000003001') ->> 'process_id')::uuid as id;
create function pg_temp.run_id() returns uuid language sql stable security definer as $$ select id from pg_temp.run $$;
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is(public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[160.0], array[now() + interval '1 second']), 1,
  'a tick while a process runs is recorded');
select is((select process_id from public.readings where machine_id = (pg_temp.ids()).a and ts = now() + interval '1 second'), pg_temp.run_id(),
  'the server sets its process to the machine''s running process');
select is(
  public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[161.0], array[now() + interval '2 seconds'], null, pg_temp.run_id()),
  1, 'the process may also be given');

-- Latest readings ------------------------------------------------------------------------------------
select results_eq(
  $$ select parameter_id, ts, value from public.get_latest_readings((pg_temp.ids()).a) $$,
  $$ values ((pg_temp.ids()).t, now() + interval '2 seconds', 161.0::float8),
            ((pg_temp.ids()).p, now() + interval '2 seconds', null),
            ((pg_temp.ids()).v, now() + interval '2 seconds', null) $$,
  'get_latest_readings returns the last tick''s value of every parameter of the layout, with its time');
select is(public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[1.0], array[now() - interval '10 seconds']), 1,
  'an older tick replayed late is recorded');
select is((select ts from public.latest_readings where machine_id = (pg_temp.ids()).a), now() + interval '2 seconds',
  'but does not move the latest readings back');
select pg_temp.logout();
select is_empty(
  $$ select p.id from public.component_parameters p join versions_before b using (id)
     where p.version <> b.version or p.updated_at <> b.updated_at $$,
  'recording touched no component_parameters row (the parameter cache does not churn)');

-- get_readings: the raw points when few, buckets checked against a plain aggregate of the view -----------
select pg_temp.login_as('00000000-0000-4000-8000-000000000101');
select results_eq(
  $$ select parameter_id, ts, min_value, max_value, mean_value, samples
     from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t, (pg_temp.ids()).p],
                              now() - interval '300 seconds', now() - interval '295 seconds', 10) $$,
  $$ select parameter_id, ts, value, value, value, 1 from public.process_data_points
     where machine_id = (pg_temp.ids()).a and parameter_id in ((pg_temp.ids()).t, (pg_temp.ids()).p)
       and ts >= now() - interval '300 seconds' and ts < now() - interval '295 seconds' and value is not null
     order by parameter_id = (pg_temp.ids()).p, ts $$,
  'a viewer gets exactly the raw points of a small window, in the order of the parameters asked for');
select is(
  (select count(*) from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], now() - interval '300 seconds', now() - interval '295 seconds', 10)),
  5::bigint, 'five raw points for the five ticks of temperature in the window');
-- 100 s in at most 10 points: 10 s buckets aligned to the epoch would be 11 here (the window cuts
-- the first and the last), so the buckets are 15 s wide, the next width of the ladder
select results_eq(
  $$ select ts, min_value, max_value, mean_value, samples
     from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], now() - interval '240 seconds', now() - interval '140 seconds', 10) $$,
  $$ select greatest(to_timestamp(b * 15), now() - interval '240 seconds'), min(value), max(value), sum(value) / count(value), count(value)::integer
     from (select floor(date_part('epoch', ts) / 15) as b, value
           from public.process_data_points
           where machine_id = (pg_temp.ids()).a and parameter_id = (pg_temp.ids()).t and value is not null
             and ts >= now() - interval '240 seconds' and ts < now() - interval '140 seconds') x
     group by b order by b $$,
  'a large window comes back in buckets aligned to the epoch whose time, min, max, mean and count match a plain SQL aggregate over the view');
select cmp_ok(
  (select count(*) from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], now() - interval '240 seconds', now() - interval '140 seconds', 10)),
  '<=', 10::bigint, 'no more than max_points points per parameter');
select results_eq(
  $$ select min_value, max_value from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t],
                                                          now() - interval '240 seconds', now() - interval '140 seconds', 1) $$,
  $$ values (1.0::float8, 100.0::float8) $$,
  'one bucket keeps the extremes (min and max) a mean would hide');
select is(
  (select sum(samples) from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], now() - interval '1 hour', now() + interval '1 hour', 3,
                                                '00000000-0000-4000-8000-00000000f601')),
  51::bigint, 'with a process_id only that run''s ticks count');
select is_empty(
  $$ select * from public.get_readings((pg_temp.ids()).a, array[pg_temp.param('valve_2', 'state')], now() - interval '1 hour', now(), 10) $$,
  'a parameter never recorded has no points');
select is_empty(
  $$ select * from public.get_readings((pg_temp.ids()).a, '{}', now() - interval '1 hour', now(), 10) $$,
  'no parameters, no points');

-- Who may read and record -------------------------------------------------------------------------------
select throws_ok(
  $$ select public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[1.0]) $$,
  '42501', null, 'a viewer may not record (42501)');
select pg_temp.login_as('00000000-0000-4000-8000-000000000201');
select throws_ok(
  $$ select * from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], now() - interval '1 hour', now(), 10) $$,
  'P0002', 'machine not found', 'the operator of machine B does not see the reactor''s readings (P0002)');
select throws_ok(
  $$ select * from public.get_latest_readings((pg_temp.ids()).a) $$,
  'P0002', 'machine not found', 'nor its latest readings (P0002)');
select throws_ok(
  $$ select public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[1.0]) $$,
  '42501', null, 'nor may they record on it (42501)');
select pg_temp.login_as_anon();
select throws_ok(
  $$ select public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[1.0]) $$,
  '42501', null, 'anon may not record (42501)');

-- Refused input changes nothing --------------------------------------------------------------------------
select pg_temp.login_as_service();
create temp table before_errors as select count(*) as n from public.readings;
select throws_ok($$ select public.record_readings(null, array[(pg_temp.ids()).t], array[1.0]) $$,
  '22004', 'machine_id is required', 'a null machine is refused with 22004');
select throws_ok($$ select public.record_readings('6f1c1d6e-0000-4000-8000-00000000dead', array[(pg_temp.ids()).t], array[1.0]) $$,
  'P0002', 'machine not found', 'an unknown machine raises P0002');
select throws_ok($$ select public.record_readings((pg_temp.ids()).a, array[[(pg_temp.ids()).t]], array[1.0]) $$,
  '22023', 'arrays must be one-dimensional', 'a two-dimensional array is refused with 22023');
select throws_ok($$ select public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t, (pg_temp.ids()).t], array[1.0, 2.0]) $$,
  '22023', 'parameter_ids must not repeat a parameter', 'a repeated parameter is refused with 22023');
select throws_ok($$ select public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t, null], array[1.0, 2.0]) $$,
  '22023', 'parameter_ids must not contain null', 'a null parameter is refused with 22023');
select throws_ok($$ select public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[1.0, 2.0], array[now()]) $$,
  '22023', 'values must hold one value per parameter per tick', 'values not ticks x parameters long are refused with 22023');
select throws_ok($$ select public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[1.0], null, array[1.0, 2.0]) $$,
  '22023', 'set_points must have as many elements as values', 'set points of another length are refused with 22023');
select throws_ok($$ select public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[1.0], array[null::timestamptz]) $$,
  '22023', 'timestamps must not contain null', 'a null tick time is refused with 22023');
select throws_ok($$ select public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[1.0], array['infinity'::timestamptz]) $$,
  '22023', 'timestamps must be finite', 'an infinite tick time is refused with 22023');
select throws_ok($$ select public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array['NaN'::float8]) $$,
  '22023', 'values and set_points must be finite numbers or null', 'a NaN reading is refused with 22023');
select throws_ok($$ select public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[1.0], array[now() - interval '32 days']) $$,
  '22023', 'tick time outside the accepted window', 'a tick older than max_tick_age is refused with 22023');
select throws_ok($$ select public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[1.0], array[now() + interval '1 hour']) $$,
  '22023', 'tick time outside the accepted window', 'a tick ahead of the clock by more than max_tick_lead is refused with 22023');
select throws_ok($$ select public.record_readings((pg_temp.ids()).a, array[pg_temp.param('bench_heater', 'temperature_read')], array[1.0]) $$,
  '22023', 'parameter does not belong to the machine', 'a parameter of machine B is refused with 22023');
select throws_ok($$ select public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array_fill(1.0::float8, array[100001]),
                                                  (select array_agg(now() - make_interval(secs => g)) from generate_series(1, 100001) g)) $$,
  '22023', 'too many readings in one call', 'more than 100000 readings in one call are refused with 22023');
select throws_ok($$ select public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[1.0], null, null, '6f1c1d6e-0000-4000-8000-00000000dead') $$,
  'P0002', 'process not found', 'an unknown process raises P0002');
select throws_ok($$ select public.record_readings((pg_temp.ids()).b, array[pg_temp.param('bench_heater', 'temperature_read')], array[1.0], null, null, pg_temp.run_id()) $$,
  '22023', 'process runs on another machine', 'a process of another machine is refused with 22023');
select throws_ok($$ select public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[1.0], array[now() - interval '100 seconds'], null,
                                                  '00000000-0000-4000-8000-00000000f601') $$,
  '55000', 'process is not running', 'a tick after the end of the given process is refused with 55000');
select is((select count(*) from public.readings), (select n from before_errors), 'the refused calls stored nothing');
select throws_ok($$ select * from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], now(), now() - interval '1 hour', 10) $$,
  '22023', 'the window must be finite and from_ts before to_ts', 'get_readings refuses an empty window with 22023');
select throws_ok($$ select * from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], now() - interval '1 hour', now(), 0) $$,
  '22023', 'max_points must be between 1 and 10000', 'get_readings refuses max_points 0 with 22023');
select pg_temp.logout();

select * from finish();
rollback;
