-- record_process_data, the process-scoped form of record_readings: a whole recording tick (or a
-- buffered backlog of ticks) in one round trip, idempotent on (machine, tick time), so a retried
-- tick never duplicates a row. Every error code of its header (20261126001200_record_process_data.sql)
-- and who may record.
begin;
select plan(43);
\ir helpers/identities.sql


-- A running process on the reactor, started as postgres (a trusted direct session).
create temp table run as
  select (public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001') ->> 'process_id')::uuid as id;
-- Fixtures readable whatever the current identity (security definer: they read as postgres).
create function pg_temp.run_id() returns uuid language sql stable security definer as $$ select id from pg_temp.run $$;
create function pg_temp.reactor_params() returns uuid[] language sql stable security definer set search_path = '' as $$
  select array_agg(p.id order by p.id) from public.component_parameters p where p.machine_id = '00000000-0000-4000-8000-000000000001'
$$;
create function pg_temp.ones(n integer) returns float8[] language sql immutable as $$
  select array_agg(i::float8 / 10) from generate_series(1, n) i
$$;
create function pg_temp.points(at timestamptz default null) returns bigint language sql stable security definer set search_path = '' as $$
  select count(*) from public.process_data_points d where d.process_id = pg_temp.run_id() and (at is null or d.ts = at)
$$;

-- Definition ------------------------------------------------------------------------------------------
select is(
  (select p.provolatile::text || ':' || p.prosecdef::text || ':' || array_to_string(p.proconfig, ',') from pg_catalog.pg_proc p
   where p.oid = 'public.record_process_data(uuid, uuid[], double precision[], timestamptz[], double precision[])'::regprocedure),
  'v:true:search_path=pg_catalog, pg_temp',
  'record_process_data is VOLATILE, SECURITY DEFINER and runs with search_path = pg_catalog, pg_temp');

-- One tick of the whole machine --------------------------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is(
  public.record_process_data(pg_temp.run_id(), pg_temp.reactor_params(), pg_temp.ones(137), array['2026-11-26 12:00:00+00']::timestamptz[]),
  137,
  'a tick of all 137 parameters inserts 137 rows and says so');
select is(pg_temp.points(), 137::bigint, 'the process has 137 data points');
select is(
  public.record_process_data(pg_temp.run_id(), pg_temp.reactor_params(), pg_temp.ones(137), array['2026-11-26 12:00:00+00']::timestamptz[]),
  0,
  'the same tick again inserts nothing and returns 0');
select is(pg_temp.points(), 137::bigint, 'after the retried tick the process still has exactly 137 data points');
select is(
  (select value from public.process_data_points
   where process_id = pg_temp.run_id() and ts = '2026-11-26 12:00:00+00' and parameter_id = (pg_temp.reactor_params())[3]),
  0.3::float8,
  'each value lands on its own parameter (the arrays are parallel)');
select is(
  public.record_process_data(pg_temp.run_id(), array_remove(pg_temp.reactor_params(), pg_temp.param('valve_2', 'state')), pg_temp.ones(136)),
  136,
  'a tick without timestamps is stamped now()');
select is(pg_temp.points(now()), 136::bigint, 'the rows of a tick without timestamps carry the transaction time');

-- Buffered ticks: one timestamp per row --------------------------------------------------------------
select is(
  public.record_process_data(pg_temp.run_id(),
    array[pg_temp.param('chamber_heater', 'temperature_read'), pg_temp.param('chamber_pressure_gauge', 'pressure_read'),
          pg_temp.param('chamber_heater', 'temperature_read'), pg_temp.param('chamber_pressure_gauge', 'pressure_read'),
          pg_temp.param('chamber_heater', 'temperature_read'), pg_temp.param('chamber_pressure_gauge', 'pressure_read')],
    array[150.0, 101.0, 151.0, 102.0, 152.0, null],
    array['2026-11-26 12:00:01+00', '2026-11-26 12:00:01+00', '2026-11-26 12:00:02+00',
          '2026-11-26 12:00:02+00', '2026-11-26 12:00:03+00', '2026-11-26 12:00:03+00']::timestamptz[],
    array[150.0, 100.0, 150.0, 100.0, 150.0, 100.0]),
  6,
  'three buffered ticks of two parameters in one call insert 6 rows');
select results_eq(
  $$ select ts, value, set_point from public.process_data_points
     where process_id = pg_temp.run_id() and parameter_id = pg_temp.param('chamber_heater', 'temperature_read')
       and ts between '2026-11-26 12:00:01+00' and '2026-11-26 12:00:03+00'
     order by ts $$,
  $$ values ('2026-11-26 12:00:01+00'::timestamptz, 150.0::float8, 150.0::float8),
            ('2026-11-26 12:00:02+00', 151.0, 150.0),
            ('2026-11-26 12:00:03+00', 152.0, 150.0) $$,
  'each buffered row keeps its own timestamp, value and set point');
select is(
  (select row(value, set_point) from public.process_data_points
   where process_id = pg_temp.run_id() and parameter_id = pg_temp.param('chamber_pressure_gauge', 'pressure_read')
     and ts = '2026-11-26 12:00:03+00'),
  row(null::float8, 100.0::float8),
  'a null value (no reading from the PLC) is recorded as null');
select is(
  public.record_process_data(pg_temp.run_id(),
    array[pg_temp.param('valve_1', 'state'), pg_temp.param('valve_1', 'state'), pg_temp.param('valve_2', 'state')],
    array[1.0, 1.0, 0.0], array['2026-11-26 12:00:04+00']::timestamptz[]),
  2,
  'a parameter repeated within one tick is inserted once');
select is(
  public.record_process_data(pg_temp.run_id(), '{}', '{}'),
  0,
  'an empty tick inserts nothing');

-- Refused input -------------------------------------------------------------------------------------
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), array[pg_temp.param('valve_1', 'state'), pg_temp.param('valve_2', 'state')], array[1.0]) $$,
  '22023', 'parameter_ids and values must have the same length',
  'parameter_ids and values of unequal length are refused with 22023');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), (pg_temp.reactor_params())[1:3], pg_temp.ones(3),
                                       array[now(), now()]) $$,
  '22023', 'timestamps must have one element or as many as parameter_ids',
  'two timestamps for three rows are refused with 22023');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), (pg_temp.reactor_params())[1:3], pg_temp.ones(3), null, array[1.0]) $$,
  '22023', 'set_points must have as many elements as parameter_ids',
  'set_points of the wrong length are refused with 22023');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), array[pg_temp.param('valve_1', 'state'), null], array[1.0, 0.0]) $$,
  '22023', 'parameter_ids must not contain null',
  'a null parameter id is refused with 22023');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), (pg_temp.reactor_params())[1:2], pg_temp.ones(2), array[now(), null]) $$,
  '22023', 'timestamps must not contain null',
  'a null timestamp is refused with 22023');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), (pg_temp.reactor_params())[1:2], array[1.0, 'NaN']) $$,
  '22023', 'values and set_points must be finite numbers or null',
  'a NaN value is refused with 22023');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), (pg_temp.reactor_params())[1:2], array[1.0, '-Infinity']) $$,
  '22023', 'values and set_points must be finite numbers or null',
  'an infinite value is refused with 22023');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), (pg_temp.reactor_params())[1:2], pg_temp.ones(2), null, array['Infinity', 1.0]) $$,
  '22023', 'values and set_points must be finite numbers or null',
  'an infinite set point is refused with 22023');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), array[pg_temp.param('chamber_heater', 'kp'), pg_temp.param('bench_heater', 'temperature_read')],
                                       array[1.0, 20.0]) $$,
  '22023', 'parameter does not belong to the process''s machine',
  'a parameter of machine B in a tick of the reactor is refused with 22023');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), array['6f1c1d6e-0000-4000-8000-00000000dead'::uuid], array[1.0]) $$,
  '22023', 'parameter does not belong to the process''s machine',
  'an unknown parameter is refused with 22023');
select throws_ok(
  $$ select public.record_process_data('6f1c1d6e-0000-4000-8000-00000000dead', array[pg_temp.param('valve_1', 'state')], array[1.0]) $$,
  'P0002', null,
  'an unknown process raises P0002');
select throws_ok(
  $$ select public.record_process_data(null, array[pg_temp.param('valve_1', 'state')], array[1.0]) $$,
  '22004', null,
  'a null process id is refused with 22004');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), array_fill(pg_temp.param('valve_1', 'state'), array[100001]),
                                       array_fill(1.0::float8, array[100001])) $$,
  '22023', 'too many rows in one call',
  'more than 100000 rows in one call are refused with 22023');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), array[pg_temp.param('valve_1', 'state')], array[1.0], array[now() - interval '32 days']) $$,
  '22023', 'tick time outside the accepted window',
  'a tick older than max_tick_age (31 days) is refused with 22023');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), array[pg_temp.param('valve_1', 'state')], array[1.0], array[now() + interval '6 minutes']) $$,
  '22023', 'tick time outside the accepted window',
  'a tick more than max_tick_lead (5 minutes) ahead of the server clock is refused with 22023');
select is(
  pg_temp.points(),
  137::bigint + 136 + 6 + 2,
  'the refused calls inserted nothing');

-- Who may record -------------------------------------------------------------------------------------
select pg_temp.login_as_anon();
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), array[pg_temp.param('valve_1', 'state')], array[1.0]) $$,
  '42501', null,
  'anon may not record (42501)');
select pg_temp.login_as('00000000-0000-4000-8000-000000000101');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), array[pg_temp.param('valve_1', 'state')], array[1.0]) $$,
  '42501', null,
  'viewers of the reactor may not record its data (42501)');
select is(
  (select count(*) from public.process_data_points where process_id = pg_temp.run_id()),
  137::bigint + 136 + 6 + 2,
  'viewers of the reactor read its recorded data');
select pg_temp.login_as('00000000-0000-4000-8000-000000000201');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), array[pg_temp.param('valve_1', 'state')], array[1.0]) $$,
  '42501', null,
  'operators of machine B may not record data of the reactor''s process (42501)');
select is(
  (select count(*) from public.process_data_points where process_id = pg_temp.run_id()),
  0::bigint,
  'operators of machine B see none of the reactor''s recorded data');
select pg_temp.login_as('00000000-0000-4000-8000-000000000103');
select is(
  public.record_process_data(pg_temp.run_id(), array[pg_temp.param('valve_1', 'state')], array[1.0], array['2026-11-26 12:00:05+00']::timestamptz[]),
  1,
  'admins of the reactor record data');
select pg_temp.login_as_service();
select is(
  public.record_process_data(pg_temp.run_id(), array[pg_temp.param('valve_1', 'state')], array[0.0], array['2026-11-26 12:00:06+00']::timestamptz[]),
  1,
  'service_role (the controller) records data');
select pg_temp.logout();
select ok(
  not has_function_privilege('anon', 'public.record_process_data(uuid, uuid[], double precision[], timestamptz[], double precision[])', 'execute'),
  'anon has no execute privilege on record_process_data');
select ok(
  not has_table_privilege('authenticated', 'public.process_data_points', 'insert'),
  'authenticated users cannot insert data points directly, only through record_process_data');

-- After the run has ended -------------------------------------------------------------------------------
do $$ begin perform public.complete_process(pg_temp.run_id(), 'completed'); end $$;
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), array[pg_temp.param('valve_1', 'state')], array[1.0],
                                       array[now() + interval '1 second']) $$,
  '55000', null,
  'a tick stamped after the end of the run is refused with 55000');
select throws_ok(
  $$ select public.record_process_data(pg_temp.run_id(), array[pg_temp.param('valve_1', 'state'), pg_temp.param('valve_2', 'state')],
                                       array[1.0, 1.0], array[now() - interval '1 second', now() + interval '1 second']) $$,
  '55000', null,
  'a backlog is refused with 55000 when any of its rows is stamped after the end of the run');
select is(
  public.record_process_data(pg_temp.run_id(), array[pg_temp.param('valve_1', 'state')], array[1.0],
                             array[now() - interval '1 second']),
  1,
  'a buffered tick stamped before the end of the run is still accepted, so no backlog is lost');
select is(
  public.record_process_data(pg_temp.run_id(), array[pg_temp.param('valve_2', 'state')], array[1.0],
                             array[(select ended_at from public.process_executions where id = pg_temp.run_id())]),
  0,
  'a tick stamped exactly at the end of the run is accepted (no 55000), and stored once: that time already has the tick stamped now() above');
select is(
  public.record_process_data(pg_temp.run_id(), array[pg_temp.param('valve_1', 'state')], array[1.0],
                             array[now() - interval '1 second']),
  0,
  'a retried backlog after the end of the run inserts nothing twice');
select pg_temp.logout();

select * from finish();
rollback;
