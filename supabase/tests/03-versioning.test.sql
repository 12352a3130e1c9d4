-- Parameter versions, the setpoint audit, per-machine epochs, and the monthly partitions of
-- process_data_points. Runs as the database owner on the seed (supabase/seed.sql).
--   reactor 00000000-0000-4000-8000-000000000001, bench B 00000000-0000-4000-8000-000000000002,
--   trap_heater 00000000-0000-4000-8000-000000001009; parameter ids are md5('ald-demo/<component>/<name>')::uuid
begin;
select plan(37);

create temp table chamber_set as select md5('ald-demo/chamber_heater/temperature_set')::uuid as id;
create temp table epoch_before as
  select epoch from public.machine_parameter_epochs where machine_id = '00000000-0000-4000-8000-000000000001';

-- versions start at 1 ------------------------------------------------------------------------------
select is((select count(*) from public.component_parameters where version <> 1), 0::bigint,
  'every seeded parameter is at version 1');
insert into public.component_parameters (id, component_id, machine_id, name, version)
values ('00000000-0000-4000-8000-00000000e101', '00000000-0000-4000-8000-000000001001',
        '00000000-0000-4000-8000-000000000001', 'scratch', 99);
select is((select version from public.component_parameters where id = '00000000-0000-4000-8000-00000000e101'), 1::bigint,
  'a new parameter starts at version 1 whatever version the insert asks for');
update public.machine_parameter_epochs e set epoch = b.epoch from epoch_before b
where e.machine_id = '00000000-0000-4000-8000-000000000001';

-- a setpoint change --------------------------------------------------------------------------------
update public.component_parameters set set_value = 180 where id = (select id from chamber_set);
select is((select version from public.component_parameters where id = (select id from chamber_set)), 2::bigint,
  'changing set_value bumps version by exactly one');
select results_eq(
  $$select old_value, new_value, old_version, new_version, source::text, changed_by_role
    from public.parameter_changes where parameter_id = (select id from chamber_set)$$,
  $$values (150::float8, 180::float8, 1::bigint, 2::bigint, 'system', 'postgres')$$,
  'changing set_value writes one parameter_changes row with the old and new values and versions');
select is((select epoch from public.machine_parameter_epochs where machine_id = '00000000-0000-4000-8000-000000000001'),
          (select epoch + 1 from epoch_before),
  'changing set_value moves the machine''s epoch by one');

-- a reading is not a change ------------------------------------------------------------------------
-- Readings are not stored on the parameter: they are data points. Recording one, or an update
-- that changes nothing, must not move version, epoch or audit (caches would churn every second).
insert into public.process_executions (id, machine_id, recipe_snapshot)
values ('00000000-0000-4000-8000-00000000f101', '00000000-0000-4000-8000-000000000001', '{}');
insert into public.process_data_points (process_id, parameter_id, ts, value, set_point)
values ('00000000-0000-4000-8000-00000000f101', (select id from chamber_set), now(), 181.25, 180);
update public.component_parameters set set_value = 180, max_value = max_value where id = (select id from chamber_set);
select is((select version from public.component_parameters where id = (select id from chamber_set)), 2::bigint,
  'recording a data point, or an update that changes nothing, leaves version alone');
select is((select epoch from public.machine_parameter_epochs where machine_id = '00000000-0000-4000-8000-000000000001'),
          (select epoch + 1 from epoch_before),
  'recording a data point, or an update that changes nothing, leaves the machine''s epoch alone');
select is((select count(*) from public.parameter_changes where parameter_id = (select id from chamber_set)), 1::bigint,
  'an update that writes the same setpoint again writes no audit row');

-- version is the trigger's alone ------------------------------------------------------------------
update public.component_parameters set version = 1 where id = (select id from chamber_set);
select is((select version from public.component_parameters where id = (select id from chamber_set)), 2::bigint,
  'setting version backwards directly leaves it where it was');
update public.component_parameters set version = 100 where id = (select id from chamber_set);
select is((select version from public.component_parameters where id = (select id from chamber_set)), 2::bigint,
  'setting version forwards directly leaves it where it was');
update public.component_parameters set version = 100, set_value = 190 where id = (select id from chamber_set);
select is((select version from public.component_parameters where id = (select id from chamber_set)), 3::bigint,
  'a real change with a forged version still moves version by exactly one');
update public.component_parameters set max_value = 350 where id = (select id from chamber_set);
select is((select version from public.component_parameters where id = (select id from chamber_set)), 4::bigint,
  'changing a limit bumps version too');
select is((select count(*) from public.parameter_changes where parameter_id = (select id from chamber_set)), 2::bigint,
  'changing a limit writes no setpoint audit row (only the two setpoint changes are audited)');
update public.component_parameters set component_activated = false where id = (select id from chamber_set);
select results_eq(
  $$select component_activated, version from public.component_parameters where id = (select id from chamber_set)$$,
  $$values (true, 4::bigint)$$,
  'component_activated cannot be written directly: it mirrors the component');

-- switching a component ------------------------------------------------------------------------------
delete from epoch_before;
insert into epoch_before
  select epoch from public.machine_parameter_epochs where machine_id = '00000000-0000-4000-8000-000000000001';
update public.machine_components set is_activated = false where id = '00000000-0000-4000-8000-000000001009';
select results_eq(
  $$select count(*), bool_or(component_activated), min(version), max(version)
    from public.component_parameters where component_id = '00000000-0000-4000-8000-000000001009'$$,
  $$values (11::bigint, false, 2::bigint, 2::bigint)$$,
  'deactivating a component sets component_activated=false on its 11 parameters and bumps each version by one');
select is((select epoch from public.machine_parameter_epochs where machine_id = '00000000-0000-4000-8000-000000000001'),
          (select epoch + 11 from epoch_before),
  'deactivating a component moves the machine''s epoch once per parameter');
update public.machine_components set is_activated = true where id = '00000000-0000-4000-8000-000000001009';
select results_eq(
  $$select bool_and(component_activated), min(version), max(version)
    from public.component_parameters where component_id = '00000000-0000-4000-8000-000000001009'$$,
  $$values (true, 3::bigint, 3::bigint)$$,
  'reactivating the component bumps the versions again');
update public.machine_components set name = 'trap_heater_renamed' where id = '00000000-0000-4000-8000-000000001009';
select is((select max(version) from public.component_parameters where component_id = '00000000-0000-4000-8000-000000001009'), 3::bigint,
  'renaming a component leaves its parameters'' versions alone');

-- machines and their epochs --------------------------------------------------------------------------
insert into public.machines (id, name) values ('00000000-0000-4000-8000-00000000e201', 'Scratch machine');
select results_eq(
  $$select epoch from public.machine_parameter_epochs where machine_id = '00000000-0000-4000-8000-00000000e201'$$,
  $$values (0::bigint)$$,
  'a new machine gets its epoch row, at 0');
select lives_ok($$delete from public.machines where id = '00000000-0000-4000-8000-000000000002'$$,
  'a machine with components and parameters can be deleted (the delete trigger does not re-create its epoch)');
select is((select count(*) from public.machine_parameter_epochs where machine_id = '00000000-0000-4000-8000-000000000002'), 0::bigint,
  'the deleted machine''s epoch row is gone');
delete from epoch_before;
insert into epoch_before
  select epoch from public.machine_parameter_epochs where machine_id = '00000000-0000-4000-8000-000000000001';
delete from public.machine_components where id = '00000000-0000-4000-8000-000000001021';
select is((select epoch from public.machine_parameter_epochs where machine_id = '00000000-0000-4000-8000-000000000001'),
          (select epoch + 1 from epoch_before),
  'deleting a component with one parameter moves the machine''s epoch by one');

-- monthly partitions of process_data_points ----------------------------------------------------------
insert into public.process_data_points (process_id, parameter_id, ts, value)
values ('00000000-0000-4000-8000-00000000f101', md5('ald-demo/chamber_heater/temperature_read')::uuid,
        '2099-06-15 10:00:00+00', 200.5);
select is((select tableoid::regclass::text from public.process_data_points where ts = '2099-06-15 10:00:00+00'),
  'process_data_points_default',
  'a data point in a month without a partition lands in the default partition');
select results_eq($$select * from public.create_process_data_partitions(0, '2099-06-20')$$,
  $$values ('process_data_points_y2099m06 (moved 1 rows from default)')$$,
  'create_process_data_partitions creates the month''s partition and reports the rows it moved');
select results_eq(
  $$select tableoid::regclass::text, value from public.process_data_points where ts = '2099-06-15 10:00:00+00'$$,
  $$values ('process_data_points_y2099m06', 200.5::float8)$$,
  'the data point now lives in the new partition, unchanged');
select is((select count(*) from public.process_data_points_default where ts >= '2099-06-01' and ts < '2099-07-01'), 0::bigint,
  'the default partition keeps nothing of that month');
select results_eq(
  $$select c.relrowsecurity, obj_description(c.oid, 'pg_class') collate "default" from pg_class c where c.oid = 'public.process_data_points_y2099m06'::regclass$$,
  $$values (true, 'process_data_points for 2099-06 (monthly partition)')$$,
  'the new partition has RLS enabled and a comment');
select ok(not has_table_privilege('authenticated', 'public.process_data_points_y2099m06', 'select')
          and not has_table_privilege('anon', 'public.process_data_points_y2099m06', 'select'),
  'API users cannot read the new partition directly (only through the parent and its policies)');
select ok(has_table_privilege('service_role', 'public.process_data_points_y2099m06', 'insert'),
  'service_role may write the new partition');
select is_empty($$select * from public.create_process_data_partitions(0, '2099-06-01')$$,
  'a second call for the same month creates nothing');
insert into public.process_data_points (process_id, parameter_id, ts, value)
values ('00000000-0000-4000-8000-00000000f101', md5('ald-demo/chamber_heater/temperature_read')::uuid,
        '2099-06-30 23:59:59+00', 201);
select is((select tableoid::regclass::text from public.process_data_points where ts = '2099-06-30 23:59:59+00'),
  'process_data_points_y2099m06',
  'later rows of that month go straight to the new partition');
select throws_ok($$select public.create_process_data_partitions(121)$$, '22023', 'months_ahead must be between 0 and 120',
  'create_process_data_partitions rejects more than 120 months ahead');

-- who may create partitions
set local role service_role;
select set_config('request.jwt.claims', '{"role": "service_role"}', true);
select results_eq($$select * from public.create_process_data_partitions(0, '2099-08-01')$$,
  $$values ('process_data_points_y2099m08')$$,
  'service_role (the controller, pg_cron job) can create a month''s partition');
reset role;
select is((select relowner from pg_class where oid = 'public.process_data_points_y2099m08'::regclass),
          (select relowner from pg_class where oid = 'public.process_data_points'::regclass),
  'a partition created through service_role is owned like its parent');
set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "00000000-0000-4000-8000-000000000103", "role": "authenticated"}', true);
select throws_ok($$select public.create_process_data_partitions(0, '2099-09-01')$$, '42501', null,
  'an authenticated user, even a machine admin, cannot create partitions');
reset role;
select set_config('request.jwt.claims', '', true);

-- deleting a run deletes its data points (trigger; the table has no foreign keys, see 000500) -------
insert into public.process_executions (id, machine_id, recipe_snapshot, status, ended_at)
values ('00000000-0000-4000-8000-00000000f1d1', '00000000-0000-4000-8000-000000000001', '{}', 'completed', now());
insert into public.process_data_points (process_id, parameter_id, ts, value)
select '00000000-0000-4000-8000-00000000f1d1', (select id from chamber_set), now() - make_interval(secs => g), g
from generate_series(1, 5) g;
select is((select count(*) from public.process_data_points where process_id = '00000000-0000-4000-8000-00000000f1d1'), 5::bigint,
  'a finished run has its five data points');
delete from public.process_executions where id = '00000000-0000-4000-8000-00000000f1d1';
select is((select count(*) from public.process_data_points where process_id = '00000000-0000-4000-8000-00000000f1d1'), 0::bigint,
  'deleting a process execution deletes its data points, as a cascading foreign key would');

select * from finish();
rollback;
