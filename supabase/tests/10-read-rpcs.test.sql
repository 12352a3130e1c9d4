-- The read RPCs: get_machine_parameters, get_component_parameters_bulk, get_parameters and
-- get_parameter_epochs. One round trip returns what the old controller read with 1 + N requests,
-- in a stable order, without inactive rows unless asked; RLS (security invoker) decides what each
-- caller sees. Seed: ALD Reactor A ...0001 (21 components, 137 parameters), Test Bench B ...0002.
begin;
select plan(47);
\ir helpers/identities.sql

-- The 21 component ids of the reactor, 00000000-0000-4000-8000-0000000010NN.
create function pg_temp.reactor_components() returns uuid[] language sql immutable as $$
  select array_agg(format('00000000-0000-4000-8000-0000000010%s', lpad(n::text, 2, '0'))::uuid order by n)
  from generate_series(1, 21) n
$$;

-- Definitions --------------------------------------------------------------------------------------
select is(
  (select array_agg(p.proname::text || ':' || p.provolatile::text || ':' || p.prosecdef::text order by p.proname)
   from pg_catalog.pg_proc p
   where p.pronamespace = 'public'::regnamespace
     and p.proname in ('get_machine_parameters', 'get_component_parameters_bulk', 'get_parameters', 'get_parameter_epochs')),
  array['get_component_parameters_bulk:s:false', 'get_machine_parameters:s:false',
        'get_parameter_epochs:s:false', 'get_parameters:s:false'],
  'the four read functions are STABLE and SECURITY INVOKER, so RLS decides what they return and GET may call them');
select is(
  (select count(*)::int from pg_catalog.pg_proc p
   where p.pronamespace = 'public'::regnamespace
     and p.proname in ('get_machine_parameters', 'get_component_parameters_bulk', 'get_parameters', 'get_parameter_epochs')
     and p.proconfig @> array['search_path=pg_catalog, pg_temp']),
  4,
  'the four read functions run with search_path = pg_catalog, pg_temp');
select ok(
  not has_function_privilege('anon', 'public.get_machine_parameters(uuid, boolean)', 'execute')
  and not has_function_privilege('anon', 'public.get_component_parameters_bulk(uuid[], boolean)', 'execute')
  and not has_function_privilege('anon', 'public.get_parameters(uuid[])', 'execute')
  and not has_function_privilege('anon', 'public.get_parameter_epochs(uuid[])', 'execute'),
  'anon may execute none of the read functions');
select ok(
  has_function_privilege('authenticated', 'public.get_machine_parameters(uuid, boolean)', 'execute')
  and has_function_privilege('service_role', 'public.get_component_parameters_bulk(uuid[], boolean)', 'execute'),
  'authenticated users and service_role may execute the read functions');

-- get_machine_parameters and get_component_parameters_bulk return the same 137 rows ---------------
select is(
  (select count(*)::int from public.get_machine_parameters('00000000-0000-4000-8000-000000000001')),
  137,
  'get_machine_parameters returns the 137 parameters of the reactor');
select is(
  (select count(distinct component_id)::int from public.get_machine_parameters('00000000-0000-4000-8000-000000000001')),
  21,
  'get_machine_parameters covers all 21 components of the reactor');
select set_eq(
  $$ select * from public.get_component_parameters_bulk(pg_temp.reactor_components()) $$,
  $$ select * from public.get_machine_parameters('00000000-0000-4000-8000-000000000001') $$,
  'get_component_parameters_bulk over the 21 component ids returns the same 137 rows as get_machine_parameters');
select results_eq(
  $$ select id from public.get_machine_parameters('00000000-0000-4000-8000-000000000001') $$,
  $$ select id from public.component_parameters where machine_id = '00000000-0000-4000-8000-000000000001' order by component_id, name $$,
  'get_machine_parameters orders its rows by component, then name');
select results_eq(
  $$ select id from public.get_component_parameters_bulk(
       (select array_agg(c order by c desc) from unnest(pg_temp.reactor_components()) c)) $$,
  $$ select id from public.get_machine_parameters('00000000-0000-4000-8000-000000000001') $$,
  'get_component_parameters_bulk returns the same order whatever the order of the ids it is given');
select is(
  (select count(*)::int from public.get_component_parameters_bulk(pg_temp.reactor_components() || pg_temp.reactor_components())),
  137,
  'a component id given twice does not duplicate its parameters');
select results_eq(
  $$ select name from public.get_component_parameters_bulk(array['00000000-0000-4000-8000-000000001010'::uuid]) $$,
  $$ values ('flow_deviation_alarm'), ('flow_rate_read'), ('flow_rate_set'), ('flow_total_read'), ('gas_correction_factor'),
            ('power_on'), ('ramp_time'), ('valve_override'), ('valve_position_read') $$,
  'get_component_parameters_bulk for the mass-flow controller returns its 9 parameters by name');

-- Inactive parameters and deactivated components ------------------------------------------------
update public.component_parameters set is_active = false where id = pg_temp.param('carrier_gas_mfc', 'ramp_time');
update public.machine_components set is_activated = false where id = '00000000-0000-4000-8000-000000001003'; -- lid_heater, 11 parameters

select is(
  (select count(*)::int from public.get_machine_parameters('00000000-0000-4000-8000-000000000001')),
  125,
  'get_machine_parameters leaves out an inactive parameter and the 11 parameters of a deactivated component');
select is(
  (select count(*)::int from public.get_component_parameters_bulk(pg_temp.reactor_components())),
  125,
  'get_component_parameters_bulk leaves out an inactive parameter and the parameters of a deactivated component');
select ok(
  not exists (select 1 from public.get_machine_parameters('00000000-0000-4000-8000-000000000001')
              where id = pg_temp.param('carrier_gas_mfc', 'ramp_time') or component_id = '00000000-0000-4000-8000-000000001003'),
  'the left-out rows are exactly the inactive parameter and the deactivated component''s parameters');
select is_empty(
  $$ select * from public.get_component_parameters_bulk(array['00000000-0000-4000-8000-000000001003'::uuid]) $$,
  'asking for a deactivated component alone returns nothing');
select is(
  (select count(*)::int from public.get_machine_parameters('00000000-0000-4000-8000-000000000001', include_inactive => true)),
  137,
  'get_machine_parameters with include_inactive returns all 137 parameters');
select set_eq(
  $$ select * from public.get_component_parameters_bulk(pg_temp.reactor_components(), include_inactive => true) $$,
  $$ select * from public.component_parameters where machine_id = '00000000-0000-4000-8000-000000000001' $$,
  'get_component_parameters_bulk with include_inactive returns all 137 rows as they are stored');
select is(
  (select count(*)::int from public.get_machine_parameters('00000000-0000-4000-8000-000000000001', include_inactive => null)),
  125,
  'include_inactive null means false');

update public.component_parameters set is_active = true where id = pg_temp.param('carrier_gas_mfc', 'ramp_time');
update public.machine_components set is_activated = true where id = '00000000-0000-4000-8000-000000001003';
select is(
  (select count(*)::int from public.get_machine_parameters('00000000-0000-4000-8000-000000000001')),
  137,
  'reactivating the parameter and the component brings all 137 back');

-- Unknown, null, empty and too many ids ---------------------------------------------------------------
select is_empty(
  $$ select * from public.get_component_parameters_bulk(array['6f1c1d6e-0000-4000-8000-00000000dead'::uuid]) $$,
  'get_component_parameters_bulk with an unknown id returns nothing');
select is_empty(
  $$ select * from public.get_component_parameters_bulk(null) $$,
  'get_component_parameters_bulk with null returns nothing');
select is_empty(
  $$ select * from public.get_component_parameters_bulk('{}') $$,
  'get_component_parameters_bulk with an empty array returns nothing');
select lives_ok(
  $$ select * from public.get_component_parameters_bulk(array(select gen_random_uuid() from generate_series(1, 10000))) $$,
  'get_component_parameters_bulk accepts 10000 ids');
select throws_ok(
  $$ select * from public.get_component_parameters_bulk(array(select gen_random_uuid() from generate_series(1, 10001))) $$,
  '22023', null,
  'get_component_parameters_bulk refuses 10001 ids with 22023');
select throws_ok(
  $$ select * from public.get_machine_parameters(null) $$,
  '22004', null,
  'get_machine_parameters refuses a null machine id with 22004');
select throws_ok(
  $$ select * from public.get_machine_parameters('6f1c1d6e-0000-4000-8000-00000000dead') $$,
  'P0002', null,
  'get_machine_parameters raises P0002 for an unknown machine');

-- get_parameters --------------------------------------------------------------------------------------
update public.component_parameters set is_active = false where id = pg_temp.param('carrier_gas_mfc', 'ramp_time');
select results_eq(
  $$ select id from public.get_parameters(array[pg_temp.param('vacuum_pump', 'power_on'), pg_temp.param('carrier_gas_mfc', 'ramp_time'),
                                                pg_temp.param('chamber_heater', 'kp'), '6f1c1d6e-0000-4000-8000-00000000dead']) $$,
  $$ values (pg_temp.param('chamber_heater', 'kp')), (pg_temp.param('carrier_gas_mfc', 'ramp_time')), (pg_temp.param('vacuum_pump', 'power_on')) $$,
  'get_parameters returns the known ids, inactive ones included, ordered by component then name, and skips unknown ids');
update public.component_parameters set is_active = true where id = pg_temp.param('carrier_gas_mfc', 'ramp_time');
select is_empty($$ select * from public.get_parameters(null) $$, 'get_parameters with null returns nothing');
select throws_ok(
  $$ select * from public.get_parameters(array(select gen_random_uuid() from generate_series(1, 10001))) $$,
  '22023', null,
  'get_parameters refuses 10001 ids with 22023');

-- get_parameter_epochs --------------------------------------------------------------------------------
create temp table epochs_before as
  select * from public.get_parameter_epochs(array['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002']::uuid[]);
select is((select count(*)::int from epochs_before), 2, 'get_parameter_epochs returns one row per known machine');
do $$ begin perform public.set_parameter_value(pg_temp.param('chamber_heater', 'kp'), 4.5); end $$;
select results_eq(
  $$ select machine_id, epoch from public.get_parameter_epochs(array['00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001']::uuid[]) $$,
  $$ select machine_id, epoch + case when machine_id = '00000000-0000-4000-8000-000000000001' then 1 else 0 end
     from epochs_before order by machine_id $$,
  'a setpoint change moves the epoch of its machine by one and leaves the other machine''s epoch alone');
select is_empty(
  $$ select * from public.get_parameter_epochs(array['6f1c1d6e-0000-4000-8000-00000000dead'::uuid]) $$,
  'get_parameter_epochs with an unknown machine returns nothing');

-- As a viewer of the reactor --------------------------------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000101');
select is(
  (select count(*)::int from public.get_machine_parameters('00000000-0000-4000-8000-000000000001')),
  137,
  'a viewer of the reactor reads its 137 parameters');
select is(
  (select count(*)::int from public.get_component_parameters_bulk(pg_temp.reactor_components())),
  137,
  'a viewer of the reactor reads the 137 parameters by component');
select is(
  (select count(*)::int from public.get_component_parameters_bulk(array['00000000-0000-4000-8000-000000002001'::uuid])),
  0,
  'a viewer of the reactor reads nothing of machine B''s components');
select throws_ok(
  $$ select * from public.get_machine_parameters('00000000-0000-4000-8000-000000000002') $$,
  'P0002', null,
  'machine B is not found for a viewer of the reactor only');

-- As the operator of machine B ----------------------------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000201');
select throws_ok(
  $$ select * from public.get_machine_parameters('00000000-0000-4000-8000-000000000001') $$,
  'P0002', null,
  'operators of machine B do not find the reactor (P0002): it is invisible to them');
select is_empty(
  $$ select * from public.get_component_parameters_bulk(pg_temp.reactor_components()) $$,
  'operators of machine B read none of the reactor''s parameters by component');
select is_empty(
  $$ select * from public.get_parameters(array[pg_temp.param('chamber_heater', 'kp')]) $$,
  'operators of machine B read none of the reactor''s parameters by id');
select is_empty(
  $$ select * from public.get_parameter_epochs(array['00000000-0000-4000-8000-000000000001'::uuid]) $$,
  'operators of machine B do not see the reactor''s epoch');
select is(
  (select count(*)::int from public.get_machine_parameters('00000000-0000-4000-8000-000000000002')),
  4,
  'operators of machine B read the 4 parameters of their own machine');

-- As anon ------------------------------------------------------------------------------------------------
select pg_temp.login_as_anon();
select throws_ok(
  $$ select * from public.get_machine_parameters('00000000-0000-4000-8000-000000000001') $$,
  '42501', null,
  'anon may not call get_machine_parameters (42501)');
select throws_ok(
  $$ select * from public.get_component_parameters_bulk(array['00000000-0000-4000-8000-000000001001'::uuid]) $$,
  '42501', null,
  'anon may not call get_component_parameters_bulk (42501)');
select throws_ok(
  $$ select * from public.get_parameters(array['00000000-0000-4000-8000-000000001001'::uuid]) $$,
  '42501', null,
  'anon may not call get_parameters (42501)');
select throws_ok(
  $$ select * from public.get_parameter_epochs(array['00000000-0000-4000-8000-000000000001'::uuid]) $$,
  '42501', null,
  'anon may not call get_parameter_epochs (42501)');

-- As service_role ---------------------------------------------------------------------------------------
select pg_temp.login_as_service();
select is(
  (select count(*)::int from public.get_machine_parameters('00000000-0000-4000-8000-000000000001')),
  137,
  'service_role reads the reactor''s 137 parameters');
select is(
  (select count(*)::int from public.get_parameter_epochs(array['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002']::uuid[])),
  2,
  'service_role reads the epochs of both machines');
select pg_temp.logout();

select * from finish();
rollback;
