-- Setpoints reach the PLC and come back confirmed (issue 11): every accepted change of set_value makes
-- one setpoint request; a newer one supersedes an older pending one; claim_setpoint_requests claims
-- every open request of a machine in one call (re-delivering claims that timed out);
-- ack_setpoint_requests records outcomes in one call (idempotent; stable codes for acked twice and
-- for another machine's request); report_plc_values records what the PLC holds; and applied_value
-- never moves except by an ack or a PLC report. pgTAP runs in one transaction (now() is fixed), so
-- a claim timing out is simulated by moving its claim_expires_at into the past as postgres; the
-- vitest suite (tests/sdk/setpoints.test.ts) runs the timeout for real.
begin;
select plan(84);
\ir helpers/identities.sql

create function pg_temp.req(id uuid) returns public.setpoint_requests language sql stable security definer set search_path = '' as $$
  select * from public.setpoint_requests r where r.id = req.id
$$;
create function pg_temp.open_of(parameter uuid) returns text language sql stable security definer set search_path = '' as $$
  select coalesce(string_agg(r.status::text || ':' || r.value, ',' order by r.created_at, r.value), '')
  from public.setpoint_requests r where r.parameter_id = open_of.parameter and r.status in ('pending', 'claimed')
$$;
create function pg_temp.latest(parameter uuid) returns uuid language sql stable security definer set search_path = '' as $$
  select r.id from public.setpoint_requests r where r.parameter_id = latest.parameter order by r.created_at desc, r.version desc limit 1
$$;
create function pg_temp.param_row(id uuid) returns public.component_parameters language sql stable security definer set search_path = '' as $$
  select * from public.component_parameters p where p.id = param_row.id
$$;
create function pg_temp.count_requests(parameter uuid) returns bigint language sql stable security definer set search_path = '' as $$
  select count(*) from public.setpoint_requests r where r.parameter_id = count_requests.parameter
$$;

-- Definition ------------------------------------------------------------------------------------------
select has_column('public', 'component_parameters', c, 'component_parameters has ' || c)
from unnest(array['applied_value', 'applied_at', 'applied_version', 'operand', 'description', 'show_in_ui', 'show_in_graph']) c;
select is(
  (select array_agg(p.proname::text || ':' || p.provolatile::text || ':' || p.prosecdef::text || ':' || array_to_string(p.proconfig, ',') order by p.proname)
   from pg_catalog.pg_proc p where p.pronamespace = 'public'::regnamespace
     and p.proname in ('claim_setpoint_requests', 'ack_setpoint_requests', 'report_plc_values')),
  array['ack_setpoint_requests:v:true:search_path=pg_catalog, pg_temp',
        'claim_setpoint_requests:v:true:search_path=pg_catalog, pg_temp',
        'report_plc_values:v:true:search_path=pg_catalog, pg_temp'],
  'the three controller RPCs are VOLATILE, SECURITY DEFINER, search_path pg_catalog, pg_temp');
select ok(
  exists (select 1 from pg_catalog.pg_publication_tables t where t.pubname = 'supabase_realtime'
          and t.schemaname = 'public' and t.tablename = 'setpoint_requests'),
  'setpoint_requests is in the supabase_realtime publication (a UI follows it)');
select ok(
  not has_function_privilege('anon', 'public.claim_setpoint_requests(uuid, text, integer)', 'execute')
  and not has_function_privilege('anon', 'public.ack_setpoint_requests(uuid, uuid[], boolean[], double precision[], text[])', 'execute')
  and not has_function_privilege('anon', 'public.report_plc_values(uuid, uuid[], double precision[])', 'execute'),
  'anon may execute none of them');

-- Every accepted change makes one request ------------------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select public.set_parameter_value(pg_temp.param('chamber_heater', 'kp'), 5.5, source => 'operator', reason => 'tuning',
                                  request_id => 'aaaaaaaa-0000-4000-8000-000000000001');
select pg_temp.logout();
select is(pg_temp.count_requests(pg_temp.param('chamber_heater', 'kp')), 1::bigint, 'one operator write makes one request');
select is(
  (select row(r.status::text, r.value, r.version, r.source::text, r.reason, r.requested_by, r.requested_by_role, r.request_id, r.machine_id)
   from pg_temp.req(pg_temp.latest(pg_temp.param('chamber_heater', 'kp'))) r),
  row('pending'::text, 5.5::float8, 2::bigint, 'operator'::text, 'tuning'::text, '00000000-0000-4000-8000-000000000102'::uuid,
      'authenticated'::text, 'aaaaaaaa-0000-4000-8000-000000000001'::uuid, '00000000-0000-4000-8000-000000000001'::uuid),
  'the request is pending and carries value, the version of the change, source, reason, who, the idempotency key and the machine');
select is(
  (select row(p.set_value, p.applied_value, p.applied_at, p.applied_version) from pg_temp.param_row(pg_temp.param('chamber_heater', 'kp')) p),
  row(5.5::float8, null::float8, null::timestamptz, null::bigint),
  'set_value is the desired value at once; applied_value stays unconfirmed');
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select public.set_parameter_value(pg_temp.param('chamber_heater', 'kp'), 5.5, request_id => 'aaaaaaaa-0000-4000-8000-000000000001');
select public.set_parameter_value(pg_temp.param('chamber_heater', 'kp'), 5.5);
select pg_temp.logout();
select is(pg_temp.count_requests(pg_temp.param('chamber_heater', 'kp')), 1::bigint,
  'a retried call (same request_id) and a write of the current value make no request');

-- A newer request supersedes the older pending one ----------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select public.set_parameter_value(pg_temp.param('chamber_heater', 'kp'), 6.0, source => 'operator');
select public.set_parameter_value(pg_temp.param('chamber_heater', 'kp'), 6.5, source => 'api');
select pg_temp.logout();
select is(pg_temp.open_of(pg_temp.param('chamber_heater', 'kp')), 'pending:6.5', 'only the latest request of the parameter is pending');
select is(
  (select array_agg(r.status::text || ':' || r.value || ':' || (r.superseded_by is not null) order by r.version)
   from public.setpoint_requests r where r.parameter_id = pg_temp.param('chamber_heater', 'kp')),
  array['superseded:5.5:true', 'superseded:6:true', 'pending:6.5:false'],
  'the older ones are superseded and point to the request that replaced them');
select is(
  (select r.superseded_by from public.setpoint_requests r where r.parameter_id = pg_temp.param('chamber_heater', 'kp') and r.value = 6),
  pg_temp.latest(pg_temp.param('chamber_heater', 'kp')),
  'superseded_by names the newer request');

-- Any writer: an admin's direct table write, a recipe step ------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000103');
update public.component_parameters set set_value = 3 where id = pg_temp.param('chamber_heater', 'ki');
select pg_temp.logout();
select is(
  (select r.status::text || ':' || r.value || ':' || r.source from pg_temp.req(pg_temp.latest(pg_temp.param('chamber_heater', 'ki'))) r),
  'pending:3:system',
  'an admin''s direct UPDATE of set_value makes a request too (source system)');

-- Claim: every open request of the machine in one call ------------------------------------------------
select pg_temp.login_as_service();
create temp table claim1 as select * from public.claim_setpoint_requests('00000000-0000-4000-8000-000000000001', 'controller-1');
select pg_temp.logout();
grant select on claim1 to public;
select is(
  (select array_agg(c.parameter_name || ':' || c.value order by c.parameter_name) from claim1 c),
  array['ki:3', 'kp:6.5'],
  'one claim returns every pending request of the machine, the latest per parameter, never a superseded one');
select is(
  (select array_agg(distinct r.status::text || ':' || r.claimed_by || ':' || r.claim_count || ':' || (r.claim_expires_at - r.claimed_at))
   from public.setpoint_requests r join claim1 c on c.request_id = r.id),
  array['claimed:controller-1:1:00:00:30'],
  'they are marked claimed by the claimer, once, for the default 30 s');
select is(
  (select row(c.write_modbus_address, c.write_modbus_type::text, c.data_type::text) from claim1 c where c.parameter_name = 'kp'),
  (select row(p.write_modbus_address, p.write_modbus_type::text, p.data_type::text) from public.component_parameters p where p.id = pg_temp.param('chamber_heater', 'kp')),
  'a claimed request carries the write address and type the controller needs');
select pg_temp.login_as_service();
select is((select count(*) from public.claim_setpoint_requests('00000000-0000-4000-8000-000000000001')), 0::bigint,
  'a second claim gets nothing: the requests are in flight');

-- A change while one is in flight waits for its ack ---------------------------------------------------------
select public.set_parameter_value(pg_temp.param('chamber_heater', 'kp'), 7.0, source => 'operator');
select is(pg_temp.open_of(pg_temp.param('chamber_heater', 'kp')), 'claimed:6.5,pending:7',
  'a newer request does not supersede the one in flight: it waits behind it');
select is((select count(*) from public.claim_setpoint_requests('00000000-0000-4000-8000-000000000001')), 0::bigint,
  'nothing new is claimed for a parameter with a request in flight (the PLC sees writes in order)');

-- Ack: outcomes of many in one call ---------------------------------------------------------------------
create temp table ack1 as
  select * from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001',
    array[(select request_id from claim1 where parameter_name = 'kp'), (select request_id from claim1 where parameter_name = 'ki')],
    array[true, false], array[6.5, null], array[null, 'PLC write timed out']);
select pg_temp.logout();
grant select on ack1 to public;
select is((select array_agg(a.status::text || ':' || a.replayed order by a.status) from ack1 a), array['applied:false', 'failed:false'],
  'one ack call records both outcomes and says none was a replay');
select is(
  (select row(p.applied_value, p.applied_at is not null, p.applied_version, p.set_value)
   from pg_temp.param_row(pg_temp.param('chamber_heater', 'kp')) p),
  row(6.5::float8, true, (select r.version from pg_temp.req((select request_id from claim1 where parameter_name = 'kp')) r), 7::float8),
  'ok moves applied_value, applied_at and applied_version (the request''s version); set_value stays the newer desired value');
select is(
  (select row(r.status::text, r.error, r.ack_ok) from pg_temp.req((select request_id from claim1 where parameter_name = 'ki')) r),
  row('failed'::text, 'PLC write timed out'::text, false),
  'failed stores the error');
select is(
  (select row(p.applied_value, p.applied_version) from pg_temp.param_row(pg_temp.param('chamber_heater', 'ki')) p),
  row(null::float8, null::bigint),
  'failed leaves applied_value as it was');

-- Idempotent: an identical repeat is a no-op that says so; a different one is refused ---------------------
create temp table v_before as select p.version from public.component_parameters p where p.id = pg_temp.param('chamber_heater', 'kp');
grant select on v_before to public;
select pg_temp.login_as_service();
select is(
  (select array_agg(a.replayed) from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001',
     array[(select request_id from claim1 where parameter_name = 'kp')], array[true], array[6.5]) a),
  array[true],
  'a repeated identical ack answers replayed = true');
select is((select version from pg_temp.param_row(pg_temp.param('chamber_heater', 'kp'))), (select version from v_before),
  'and changes nothing (the parameter''s version did not move)');
select throws_ok(
  format($$select * from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001', array[%L]::uuid[], array[false], null, array['oops'])$$,
         (select request_id from claim1 where parameter_name = 'kp')),
  '23505', 'setpoint request already acked',
  'acking a request again with another outcome is refused with 23505');
select throws_ok(
  format($$select * from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001', array[%L]::uuid[], array[true])$$,
         (select r.id from public.setpoint_requests r where r.parameter_id = pg_temp.param('chamber_heater', 'kp') and r.value = 5.5)),
  '55000', 'setpoint request was not claimed',
  'a superseded request that was never claimed cannot be acked (it was never written)');
select throws_ok(
  format($$select * from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001', array[%L]::uuid[], array[true])$$,
         pg_temp.latest(pg_temp.param('chamber_heater', 'kp'))),
  '55000', 'setpoint request was not claimed',
  'a pending request cannot be acked before it is claimed');
select pg_temp.logout();

-- The next claim delivers the request that waited ---------------------------------------------------------
select pg_temp.login_as_service();
create temp table claim2 as select * from public.claim_setpoint_requests('00000000-0000-4000-8000-000000000001', 'controller-1', 5);
select pg_temp.logout();
grant select on claim2 to public;
select is((select array_agg(c.parameter_name || ':' || c.value) from claim2 c), array['kp:7'],
  'after the ack, the next claim delivers the request that waited');
select is((select (c.claim_expires_at - r.claimed_at) from claim2 c join public.setpoint_requests r on r.id = c.request_id),
  interval '5 seconds', 'claim_timeout_seconds sets how long the claim holds');

-- A controller dies between claim and ack: the claim times out and the request is delivered again -------
update public.setpoint_requests set claim_expires_at = now() - interval '1 second'
  where id = (select request_id from claim2);
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
create temp table claim3 as select * from public.claim_setpoint_requests('00000000-0000-4000-8000-000000000001', 'controller-2');
select pg_temp.logout();
grant select on claim3 to public;
select is((select array_agg(c.request_id::text || ':' || c.claim_count) from claim3 c),
  array[(select request_id from claim2)::text || ':2'],
  'a claim that timed out is delivered again (the same request, claim_count 2)');
select is((select r.claimed_by from pg_temp.req((select request_id from claim2)) r), 'controller-2',
  'to the controller that claimed it now');
select pg_temp.login_as_service();
select is((select count(*) from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001',
  array[(select request_id from claim3)], array[true])), 1::bigint, 'it is acked once');
select is((select array_agg(a.replayed) from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001',
  array[(select request_id from claim3)], array[true]) a), array[true],
  'and the late ack of the first controller, with the same outcome, is a replay that changes nothing');
select pg_temp.logout();
select is((select row(applied_value, set_value) from pg_temp.param_row(pg_temp.param('chamber_heater', 'kp'))),
  row(7::float8, 7::float8), 'applied and desired agree: the setpoint is in force');

-- A timed-out claim replaced meanwhile is superseded, never delivered --------------------------------------
select pg_temp.login_as_service();
select public.set_parameter_value(pg_temp.param('chamber_heater', 'kd'), 1.0);
create temp table claim4 as select * from public.claim_setpoint_requests('00000000-0000-4000-8000-000000000001');
select public.set_parameter_value(pg_temp.param('chamber_heater', 'kd'), 2.0);
select pg_temp.logout();
grant select on claim4 to public;
update public.setpoint_requests set claim_expires_at = now() - interval '1 second' where id = (select request_id from claim4);
select pg_temp.login_as_service();
select is((select array_agg(c.value) from public.claim_setpoint_requests('00000000-0000-4000-8000-000000000001') c), array[2::float8],
  'when its claim times out, only the newer value is delivered');
select pg_temp.logout();
select is((select r.status::text from pg_temp.req((select request_id from claim4)) r), 'superseded',
  'and the timed-out one is superseded');

-- Refusals: every bad input has a stable code and changes nothing -------------------------------------------
select pg_temp.login_as_service();
select throws_ok($$select * from public.claim_setpoint_requests(null)$$, '22004', 'machine_id is required', 'claim: null machine_id is 22004');
select throws_ok($$select * from public.claim_setpoint_requests('00000000-0000-4000-8000-000000000001', null, 0)$$, '22023',
  'claim_timeout_seconds must be between 1 and 3600', 'claim: a timeout of 0 s is 22023');
select throws_ok($$select * from public.claim_setpoint_requests('00000000-0000-4000-8000-0000000000ff')$$, 'P0002', 'machine not found',
  'claim: an unknown machine is P0002');
select throws_ok($$select * from public.ack_setpoint_requests(null, array[]::uuid[], array[]::boolean[])$$, '22004', 'machine_id is required',
  'ack: null machine_id is 22004');
select throws_ok($$select * from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001', null, array[true])$$, '22004', 'request_ids is required',
  'ack: null request_ids is 22004');
select throws_ok($$select * from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001', array[gen_random_uuid()], array[true, false])$$,
  '22023', 'arrays of unequal length', 'ack: unequal arrays are 22023');
select throws_ok($$select * from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001', array[gen_random_uuid()], array[null::boolean])$$,
  '22023', 'request ids and ok must not contain null', 'ack: a null ok is 22023');
select throws_ok($$select * from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001', array['aaaaaaaa-0000-4000-8000-0000000000ee', 'aaaaaaaa-0000-4000-8000-0000000000ee']::uuid[], array[true, true])$$,
  '22023', 'a request id appears twice', 'ack: an id twice is 22023');
-- found by the hostile-input fuzz (tests/fuzz/rpc-hostile.test.ts): array_position raised 0A000 on these
select throws_ok($$select * from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001', array[[gen_random_uuid()], [gen_random_uuid()]], array[true, true])$$,
  '22023', 'arrays must be one-dimensional', 'ack: a 2-D request_ids is 22023, not 0A000');
select throws_ok($$select * from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001', array[gen_random_uuid(), gen_random_uuid()], array[[true], [false]])$$,
  '22023', 'arrays must be one-dimensional', 'ack: a 2-D ok is 22023, not 0A000');
select throws_ok($$select * from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001', array[gen_random_uuid()], array[true], array['NaN'::float8])$$,
  '22023', 'applied values must be finite numbers', 'ack: a NaN applied value is 22023');
select throws_ok($$select * from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001', array[gen_random_uuid()], array[true])$$,
  'P0002', 'setpoint request not found', 'ack: an unknown request is P0002');
-- Machine B's request, acked with machine A's id
select public.set_parameter_value(md5('ald-demo/bench_heater/temperature_set')::uuid, 50);
select pg_temp.logout();
create temp table b_claim as select * from public.claim_setpoint_requests('00000000-0000-4000-8000-000000000002');
grant select on b_claim to public;
select pg_temp.login_as_service();
select throws_ok(format($$select * from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001', array[%L]::uuid[], array[true])$$,
                        (select request_id from b_claim)),
  '22023', 'request of another machine', 'ack: another machine''s request is refused with 22023');
select pg_temp.logout();
select is((select r.status::text from pg_temp.req((select request_id from b_claim)) r), 'claimed', 'and stays claimed');

-- Who: a viewer creates and acks nothing; an operator of B neither sees nor acks A's --------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000101');
select throws_ok($$select public.set_parameter_value(md5('ald-demo/chamber_heater/kp')::uuid, 8)$$, '42501', 'not allowed to operate this machine',
  'a viewer cannot create a request (set_parameter_value is 42501)');
select throws_ok($$insert into public.setpoint_requests (machine_id, parameter_id, value, version, requested_by_role, source) values ('00000000-0000-4000-8000-000000000001', md5('ald-demo/chamber_heater/kp')::uuid, 8, 1, 'x', 'api')$$,
  '42501', 'permission denied for table setpoint_requests', 'a viewer cannot insert a request directly');
select throws_ok($$select * from public.claim_setpoint_requests('00000000-0000-4000-8000-000000000001')$$, '42501', 'not allowed to operate this machine',
  'a viewer cannot claim');
select throws_ok(format($$select * from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001', array[%L]::uuid[], array[true])$$, (select request_id from claim1 limit 1)),
  '42501', 'not allowed to operate this machine', 'a viewer cannot ack');
select isnt((select count(*) from public.setpoint_requests), 0::bigint, 'a viewer reads the requests of their machine');
select pg_temp.login_as('00000000-0000-4000-8000-000000000201');
select is((select count(*) from public.setpoint_requests where machine_id = '00000000-0000-4000-8000-000000000001'), 0::bigint,
  'an operator of B sees none of A''s requests');
select throws_ok(format($$select * from public.ack_setpoint_requests('00000000-0000-4000-8000-000000000001', array[%L]::uuid[], array[true])$$, (select request_id from claim1 limit 1)),
  '42501', 'not allowed to operate this machine', 'an operator of B cannot ack A''s requests');
select throws_ok($$select * from public.get_setpoint_requests('00000000-0000-4000-8000-000000000001')$$, 'P0002', 'machine not found',
  'get_setpoint_requests: A is not found for an operator of B');
select pg_temp.logout();

-- applied_value moves only by an ack or a PLC report -------------------------------------------------------
select throws_ok($$update public.component_parameters set applied_value = 1, applied_at = now() where id = md5('ald-demo/chamber_heater/kd')::uuid$$,
  '55000', 'applied_value is set only by the PLC', 'not even postgres moves applied_value with a plain UPDATE');
select throws_ok($$update public.component_parameters set applied_version = 99 where id = md5('ald-demo/chamber_heater/kd')::uuid$$,
  '55000', 'applied_value is set only by the PLC', 'nor applied_version');
select throws_ok($$insert into public.component_parameters (component_id, machine_id, name, applied_value, applied_at) values ('00000000-0000-4000-8000-000000001001', '00000000-0000-4000-8000-000000000001', 'inserted_applied', 1, now())$$,
  '55000', 'applied_value is set only by the PLC', 'nor an INSERT');
select pg_temp.login_as('00000000-0000-4000-8000-000000000103');
select throws_ok($$update public.component_parameters set applied_value = 1 where id = md5('ald-demo/chamber_heater/kd')::uuid$$,
  '42501', 'permission denied for table component_parameters', 'an admin may not even name applied_value in a write');
select pg_temp.logout();
select is((select applied_value from pg_temp.param_row(pg_temp.param('chamber_heater', 'ki'))), null::float8,
  'a failed ack, a claim and set_parameter_value left ki''s applied_value unconfirmed');

-- report_plc_values: what the PLC holds, in one call ------------------------------------------------------
select pg_temp.login_as_service();
select is(public.report_plc_values('00000000-0000-4000-8000-000000000001',
  array[pg_temp.param('chamber_heater', 'kp'), pg_temp.param('chamber_heater', 'pid_period'), pg_temp.param('chamber_heater', 'ki')],
  array[7.0, 1500, 4.0]), 2, 'a report moves the applied value of the parameters where the PLC differs (kp already holds 7)');
select pg_temp.logout();
select is(
  (select row(p.applied_value, p.set_value, p.applied_version = p.version) from pg_temp.param_row(pg_temp.param('chamber_heater', 'pid_period')) p),
  row(1500::float8, 1500::float8, true),
  'with no open request the desired setpoint follows the PLC (a change on the local HMI)');
select is(pg_temp.count_requests(pg_temp.param('chamber_heater', 'pid_period')), 0::bigint, 'and no request is made: the PLC already holds it');
select is(
  (select array_agg(c.field || ':' || c.source || ':' || coalesce(c.old_value::text, 'null') || '->' || c.new_value order by c.field)
   from public.parameter_changes c where c.parameter_id = pg_temp.param('chamber_heater', 'pid_period')),
  array['applied_value:plc:null->1500', 'set_value:plc:1000->1500'],
  'both moves are audited with source plc');
select is(
  (select row(p.applied_value, p.set_value, p.applied_version = p.version) from pg_temp.param_row(pg_temp.param('chamber_heater', 'ki')) p),
  row(4::float8, 4::float8, true),
  'a parameter whose last request failed (nothing open): applied and desired follow the PLC');
select pg_temp.login_as_service();
select is(public.report_plc_values('00000000-0000-4000-8000-000000000001',
  array[pg_temp.param('chamber_heater', 'kp'), pg_temp.param('chamber_heater', 'pid_period')], array[7.0, 1500]), 0,
  'a repeated report changes nothing');
select throws_ok($$select public.report_plc_values('00000000-0000-4000-8000-000000000001', array[md5('ald-demo/bench_heater/temperature_set')::uuid], array[1.0])$$,
  '22023', 'parameter not on the machine', 'report: another machine''s parameter is 22023');
select throws_ok($$select public.report_plc_values('00000000-0000-4000-8000-000000000001', array[md5('ald-demo/chamber_heater/kp')::uuid], array[1.0, 2.0])$$,
  '22023', 'arrays of unequal length', 'report: unequal arrays are 22023');
select throws_ok($$select public.report_plc_values('00000000-0000-4000-8000-000000000001', array[[md5('ald-demo/chamber_heater/kp')::uuid], [md5('ald-demo/chamber_heater/ki')::uuid]], array[1.0, 2.0])$$,
  '22023', 'arrays must be one-dimensional', 'report: 2-D parameter_ids are 22023, not 0A000');
select throws_ok($$select public.report_plc_values('00000000-0000-4000-8000-000000000001', array[md5('ald-demo/chamber_heater/kp')::uuid], array['Infinity'::float8])$$,
  '22023', 'values must be finite numbers', 'report: an infinite value is 22023');
select pg_temp.login_as('00000000-0000-4000-8000-000000000101');
select throws_ok($$select public.report_plc_values('00000000-0000-4000-8000-000000000001', array[md5('ald-demo/chamber_heater/kp')::uuid], array[1.0])$$,
  '42501', 'not allowed to operate this machine', 'report: a viewer is 42501');
select pg_temp.logout();

-- A writable parameter not wired to a PLC address can be requested (the controller fails it) -----------------
update public.component_parameters set write_modbus_address = null, write_modbus_type = null where id = pg_temp.param('chamber_heater', 'kd');
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is((public.set_parameter_value(pg_temp.param('chamber_heater', 'kd'), 3.0)).set_value, 3::float8,
  'a write to a writable but unwired parameter is accepted');
select pg_temp.logout();
select is((select r.status::text || ':' || r.value from pg_temp.req(pg_temp.latest(pg_temp.param('chamber_heater', 'kd'))) r), 'pending:3',
  'and becomes a request like any other');

select pg_temp.login_as_service();
select is(public.report_plc_values('00000000-0000-4000-8000-000000000001', array[pg_temp.param('chamber_heater', 'kd')], array[0.5]), 1,
  'a report for a parameter with an open request moves its applied value');
select pg_temp.logout();
select is(
  (select row(p.applied_value, p.set_value, p.applied_version) from pg_temp.param_row(pg_temp.param('chamber_heater', 'kd')) p),
  row(0.5::float8, 3::float8, null::bigint),
  'but not its desired value: the open request will overwrite the HMI''s change (applied_version null: no version asked for 0.5)');

select * from finish();
rollback;
