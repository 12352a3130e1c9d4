-- set_parameter_value: the one round trip that validates, writes, versions and audits a setpoint.
-- Every error code of its header (20261126001100_set_parameter_value.sql), the idempotency key,
-- expected_version, and who may call it. Writes are made as the operator of the reactor unless a
-- test says otherwise; audit rows are read back as postgres (RLS off).
begin;
select plan(62);
\ir helpers/identities.sql

-- Read as postgres whatever the current identity: the version of a parameter and its audit rows.
create function pg_temp.version_of(id uuid) returns bigint language sql security definer set search_path = '' as $$
  select p.version from public.component_parameters p where p.id = version_of.id
$$;
create function pg_temp.changes_of(id uuid) returns bigint language sql security definer set search_path = '' as $$
  select count(*) from public.parameter_changes c where c.parameter_id = changes_of.id
$$;

-- Definition ------------------------------------------------------------------------------------------
select is(
  (select p.provolatile::text || ':' || p.prosecdef::text from pg_catalog.pg_proc p
   where p.oid = 'public.set_parameter_value(uuid, double precision, bigint, public.change_source, text, uuid, uuid, uuid)'::regprocedure),
  'v:true',
  'set_parameter_value is VOLATILE and SECURITY DEFINER (users may not write parameters or the audit directly)');
select is(
  (select p.proconfig from pg_catalog.pg_proc p
   where p.oid = 'public.set_parameter_value(uuid, double precision, bigint, public.change_source, text, uuid, uuid, uuid)'::regprocedure),
  array['search_path=pg_catalog, pg_temp'],
  'set_parameter_value runs with search_path = pg_catalog, pg_temp');
select is(
  (select p.proconfig from pg_catalog.pg_proc p
   where p.oid = 'private.apply_setpoint(uuid, double precision, bigint, public.change_source, text, uuid, uuid, uuid, boolean)'::regprocedure),
  array['search_path=pg_catalog, pg_temp'],
  'private.apply_setpoint, the definer helper behind it, runs with search_path = pg_catalog, pg_temp');
select ok(
  not has_function_privilege('anon', 'public.set_parameter_value(uuid, double precision, bigint, public.change_source, text, uuid, uuid, uuid)', 'execute')
  and not has_function_privilege('authenticated', 'private.apply_setpoint(uuid, double precision, bigint, public.change_source, text, uuid, uuid, uuid, boolean)', 'execute'),
  'anon may not execute set_parameter_value, and no API role may call private.apply_setpoint directly');

-- The happy path, as the operator of the reactor ----------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
create temp table written as
  select * from public.set_parameter_value(pg_temp.param('chamber_heater', 'kp'), 5.5, source => 'operator', reason => 'tuning');
select pg_temp.logout();

select is((select set_value from written), 5.5::float8, 'the returned row carries the new setpoint');
select is((select version from written), 2::bigint, 'the returned row carries the version bumped by exactly one (1 -> 2)');
select is(
  (select row(set_value, version) from public.component_parameters where id = pg_temp.param('chamber_heater', 'kp')),
  row(5.5::float8, 2::bigint),
  'the stored row has the new setpoint and version 2');
select is(pg_temp.changes_of(pg_temp.param('chamber_heater', 'kp')), 1::bigint, 'one write makes exactly one audit row');
select is(
  (select row(old_value, new_value, old_version, new_version, source::text, reason, changed_by, changed_by_role, machine_id)
   from public.parameter_changes where parameter_id = pg_temp.param('chamber_heater', 'kp')),
  row(4::float8, 5.5::float8, 1::bigint, 2::bigint, 'operator'::text, 'tuning'::text,
      '00000000-0000-4000-8000-000000000102'::uuid, 'authenticated'::text, '00000000-0000-4000-8000-000000000001'::uuid),
  'the audit row records old and new value and version, source, reason, the operator''s uuid and role, and the machine');

select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is(
  (select source::text from public.parameter_changes where parameter_id = pg_temp.param('chamber_heater', 'kp')),
  'operator',
  'the operator can read the audit row of their own change');
select is(
  (public.set_parameter_value(pg_temp.param('chamber_heater', 'ki'), 0.0)).set_value,
  0::float8,
  'the lowest value of the range (min_value) is accepted');
select is(
  (public.set_parameter_value(pg_temp.param('chamber_heater', 'ki'), 100.0)).set_value,
  100::float8,
  'the highest value of the range (max_value) is accepted');
select is(
  (public.set_parameter_value(pg_temp.param('chamber_heater', 'pid_period'), 2000)).set_value,
  2000::float8,
  'a whole number is accepted for an integer parameter');
select is(
  (public.set_parameter_value(pg_temp.param('chamber_heater', 'power_on'), 0)).set_value,
  0::float8,
  'a binary parameter accepts 0');
select is(
  (select p.source::text from public.parameter_changes p where p.parameter_id = pg_temp.param('chamber_heater', 'power_on')),
  'api',
  'the source defaults to api');

-- Values that are refused, and refused without a trace ---------------------------------------------
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('chamber_heater', 'ki'), 100.5) $$,
  '22003', null,
  'a value above max_value is refused with 22003');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('chamber_heater', 'ki'), -0.5) $$,
  '22003', null,
  'a value below min_value is refused with 22003');
select is(pg_temp.version_of(pg_temp.param('chamber_heater', 'ki')), 3::bigint,
  'a refused out-of-range value leaves the version where the two accepted writes put it');
select is(pg_temp.changes_of(pg_temp.param('chamber_heater', 'ki')), 2::bigint,
  'a refused out-of-range value writes no audit row');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('chamber_heater', 'ki'), 'NaN') $$,
  '22023', null,
  'NaN is refused with 22023');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('chamber_heater', 'ki'), 'Infinity') $$,
  '22023', null,
  'Infinity is refused with 22023');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('chamber_heater', 'ki'), '-Infinity') $$,
  '22023', null,
  '-Infinity is refused with 22023');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('no_such_component', 'no_such_parameter'), 'Infinity') $$,
  '22023', null,
  'Infinity is refused before the parameter is even looked up (22023, not P0002)');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('chamber_heater', 'pid_period'), 1.5) $$,
  '22023', 'value must be a whole number for an integer parameter',
  'a fraction for an integer parameter is refused with 22023');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('chamber_heater', 'power_on'), 2) $$,
  '22023', 'value must be 0 or 1 for a binary parameter',
  '2 for a binary parameter is refused with 22023');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('chamber_heater', 'power_on'), 0.5) $$,
  '22023', 'value must be 0 or 1 for a binary parameter',
  '0.5 for a binary parameter is refused with 22023');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('chamber_heater', 'ki'), null) $$,
  '22004', 'value is required',
  'a null value is refused with 22004');
select throws_ok(
  $$ select public.set_parameter_value(null, 1) $$,
  '22004', 'parameter_id is required',
  'a null parameter id is refused with 22004');
select throws_ok(
  $$ select public.set_parameter_value('6f1c1d6e-0000-4000-8000-00000000dead', 1) $$,
  'P0002', null,
  'an unknown parameter raises P0002');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('chamber_heater', 'temperature_read'), 100) $$,
  '55000', 'parameter is not writable',
  'a read-only parameter (temperature_read) is refused with 55000');

select pg_temp.logout();
update public.component_parameters set is_active = false where id = pg_temp.param('carrier_gas_mfc', 'ramp_time');
update public.machine_components set is_activated = false where id = '00000000-0000-4000-8000-000000001003'; -- lid_heater
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('carrier_gas_mfc', 'ramp_time'), 600) $$,
  '55000', 'parameter is inactive',
  'an inactive parameter is refused with 55000');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('lid_heater', 'kp'), 2) $$,
  '55000', 'component is deactivated',
  'a parameter of a deactivated component is refused with 55000');
select pg_temp.logout();
update public.component_parameters set is_active = true where id = pg_temp.param('carrier_gas_mfc', 'ramp_time');
update public.machine_components set is_activated = true where id = '00000000-0000-4000-8000-000000001003';
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');

-- expected_version: optimistic concurrency ------------------------------------------------------------
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('chamber_heater', 'kd'), 25, expected_version => 7) $$,
  '40001', null,
  'a stale expected_version is refused with 40001');
select is(pg_temp.version_of(pg_temp.param('chamber_heater', 'kd')), 1::bigint, 'a version conflict leaves the version alone');
select is(
  (public.set_parameter_value(pg_temp.param('chamber_heater', 'kd'), 25, expected_version => 1)).version,
  2::bigint,
  'the current expected_version is accepted and the version moves to the next one');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('chamber_heater', 'kd'), 26, expected_version => 1) $$,
  '40001', null,
  'the same expected_version a second time is a conflict (40001): the first writer won');

-- Idempotency: request_id -----------------------------------------------------------------------------
select is(
  (public.set_parameter_value(pg_temp.param('substrate_heater', 'kp'), 7, request_id => 'a0000000-0000-4000-8000-000000000001')).version,
  2::bigint,
  'a write with a request_id moves the version once');
select is(
  (public.set_parameter_value(pg_temp.param('substrate_heater', 'kp'), 7, request_id => 'a0000000-0000-4000-8000-000000000001')).version,
  2::bigint,
  'the same request_id again returns the row without moving the version');
select is(
  (public.set_parameter_value(pg_temp.param('substrate_heater', 'kp'), 8, expected_version => 1,
                              request_id => 'a0000000-0000-4000-8000-000000000001')).set_value,
  7::float8,
  'a retry with the same request_id replays even when its expected_version has gone stale, and writes nothing');
select is(pg_temp.changes_of(pg_temp.param('substrate_heater', 'kp')), 1::bigint,
  'three calls with one request_id leave exactly one audit row');
select is(pg_temp.version_of(pg_temp.param('substrate_heater', 'kp')), 2::bigint,
  'three calls with one request_id move the version once');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('substrate_heater', 'ki'), 0.04, request_id => 'a0000000-0000-4000-8000-000000000001') $$,
  '23505', null,
  'a request_id already used for another parameter is refused with 23505, not replayed');

-- The same value again changes nothing ---------------------------------------------------------------
select is(
  (public.set_parameter_value(pg_temp.param('substrate_heater', 'ki'), 0.03)).version,
  1::bigint,
  'writing the value a parameter already has keeps its version');
select is(pg_temp.changes_of(pg_temp.param('substrate_heater', 'ki')), 0::bigint,
  'writing the value a parameter already has writes no audit row');

-- Who may call it ---------------------------------------------------------------------------------------
select pg_temp.login_as_anon();
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('trap_heater', 'kp'), 3.5) $$,
  '42501', null,
  'anon may not set parameters (42501)');
select pg_temp.login_as('00000000-0000-4000-8000-000000000101');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('trap_heater', 'kp'), 3.5) $$,
  '42501', null,
  'viewers of the reactor cannot set its parameters (42501)');
select pg_temp.login_as('00000000-0000-4000-8000-000000000201');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('trap_heater', 'kp'), 3.5) $$,
  '42501', null,
  'operators of machine B cannot set parameters of the reactor (42501)');
select is(
  (public.set_parameter_value(pg_temp.param('bench_heater', 'temperature_set'), 30, request_id => 'b0000000-0000-4000-8000-000000000001')).set_value,
  30::float8,
  'operators of machine B set parameters of their own machine');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('trap_heater', 'kp'), 3.5, request_id => 'b0000000-0000-4000-8000-000000000001') $$,
  '42501', null,
  'operators of machine B cannot reach a reactor parameter by replaying a request_id of their own (42501)');
select throws_ok(
  $$ select public.set_parameter_value(pg_temp.param('trap_heater', 'kp'), 3.5, request_id => 'a0000000-0000-4000-8000-000000000001') $$,
  '42501', null,
  'operators of machine B cannot reach a reactor parameter by replaying the reactor''s request_id (42501)');
select pg_temp.logout();
select is(pg_temp.version_of(pg_temp.param('trap_heater', 'kp')), 1::bigint,
  'the refused callers left the parameter at version 1');

select pg_temp.login_as('00000000-0000-4000-8000-000000000103');
select is(
  (public.set_parameter_value(pg_temp.param('trap_heater', 'kp'), 3.5)).set_value,
  3.5::float8,
  'admins of the reactor set its parameters');
select pg_temp.login_as_service();
select is(
  (public.set_parameter_value(pg_temp.param('trap_heater', 'ki'), 0.05, source => 'controller')).set_value,
  0.05::float8,
  'service_role (the controller) sets parameters');
select pg_temp.logout();
select is(
  (public.set_parameter_value(pg_temp.param('trap_heater', 'kd'), 11, source => 'system')).set_value,
  11::float8,
  'a direct session of a superuser without JWT claims is trusted (the controller''s own pool)');

select is(
  (select row(changed_by, changed_by_role) from public.parameter_changes where parameter_id = pg_temp.param('trap_heater', 'kp')),
  row('00000000-0000-4000-8000-000000000103'::uuid, 'authenticated'::text),
  'the admin''s change is audited with the admin''s uuid');
select is(
  (select row(changed_by, changed_by_role, source::text) from public.parameter_changes where parameter_id = pg_temp.param('trap_heater', 'ki')),
  row(null::uuid, 'service_role'::text, 'controller'::text),
  'the controller''s change is audited with no user, role service_role and source controller');
select is(
  (select row(changed_by, changed_by_role, source::text) from public.parameter_changes where parameter_id = pg_temp.param('trap_heater', 'kd')),
  row(null::uuid, 'postgres'::text, 'system'::text),
  'a direct session''s change is audited with its login role');
select is(
  (select count(*)::int from public.parameter_changes where changed_by_role = 'anon'
     or changed_by in ('00000000-0000-4000-8000-000000000101', '00000000-0000-4000-8000-000000000201')
        and machine_id = '00000000-0000-4000-8000-000000000001'),
  0,
  'no audit row of the reactor names anon, its viewer or the operator of machine B');
select is(
  (select current_setting('ald.change_source', true)),
  '',
  'the audit context settings are cleared after a write, so a later direct update is not mislabelled');

-- Writing through the table instead of the function -----------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
update public.component_parameters set set_value = 9 where id = pg_temp.param('trap_heater', 'kp');
select pg_temp.logout();
select is(pg_temp.version_of(pg_temp.param('trap_heater', 'kp')), 2::bigint,
  'operators cannot bypass the function: their direct update of a parameter touches no row');
select pg_temp.login_as('00000000-0000-4000-8000-000000000103');
update public.component_parameters set set_value = 4 where id = pg_temp.param('trap_heater', 'kp');
select pg_temp.logout();
select is(
  (select row(old_value, new_value, source::text, changed_by) from public.parameter_changes
   where parameter_id = pg_temp.param('trap_heater', 'kp') order by id desc limit 1),
  row(3.5::float8, 4::float8, 'system'::text, '00000000-0000-4000-8000-000000000103'::uuid),
  'an admin''s direct update is audited too (by the trigger), as source system');
select is(pg_temp.version_of(pg_temp.param('trap_heater', 'kp')), 3::bigint,
  'an admin''s direct update moves the version like the function does');

select * from finish();
rollback;
