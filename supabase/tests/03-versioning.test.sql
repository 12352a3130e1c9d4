-- Parameter versions, the setpoint audit, per-machine epochs, and the monthly partitions and
-- retention of readings. Runs as the database owner on the seed (supabase/seed.sql).
--   reactor 00000000-0000-4000-8000-000000000001, bench B 00000000-0000-4000-8000-000000000002,
--   trap_heater 00000000-0000-4000-8000-000000001009; parameter ids are md5('ald-demo/<component>/<name>')::uuid
begin;
select plan(45);

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
select public.record_readings('00000000-0000-4000-8000-000000000001', array[(select id from chamber_set)], array[181.25],
                              array[now()], array[180]);
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

-- monthly partitions of readings ------------------------------------------------------------------
-- The migration prepared the months from now() - max_tick_age to three months ahead; a tick four
-- months ahead (written directly: the RPCs refuse it) lands in the default partition.
create temp table far as
  select (date_trunc('month', now()) + interval '4 months 14 days')::timestamptz as ts,
         'readings_' || to_char(date_trunc('month', now()) + interval '4 months', '"y"YYYY"m"MM') as part;
insert into public.readings (machine_id, ts, layout_version, vals)
values ('00000000-0000-4000-8000-000000000001', (select ts from far), 1, array[200.5]);
select is((select tableoid::regclass::text from public.readings where ts = (select ts from far)),
  'readings_default',
  'a tick in a month without a partition lands in the default partition');
select results_eq($$select * from public.maintain_readings(4)$$,
  $$select 'created ' || part || ' (moved 1 ticks from default)' from far$$,
  'maintain_readings creates the missing month and reports the ticks it moved');
select results_eq(
  $$select tableoid::regclass::text, vals from public.readings where ts = (select ts from far)$$,
  $$select part, array[200.5::float8] from far$$,
  'the tick now lives in the new partition, unchanged');
select is((select count(*) from public.readings_default), 0::bigint,
  'the default partition keeps nothing');
select results_eq(
  $$select c.relrowsecurity, obj_description(c.oid, 'pg_class') collate "default" from pg_class c where c.relname = (select part from far)$$,
  $$select true, 'readings for ' || to_char(date_trunc('month', now()) + interval '4 months', 'YYYY-MM') || ' (monthly partition)'$$,
  'the new partition has RLS enabled and a comment');
select ok(not has_table_privilege('authenticated', (select 'public.' || part from far), 'select')
          and not has_table_privilege('anon', (select 'public.' || part from far), 'select'),
  'API users cannot read the new partition directly (only through the parent and its policies)');
select ok(has_table_privilege('service_role', (select 'public.' || part from far), 'insert'),
  'service_role may write the new partition');
select is_empty($$select * from public.maintain_readings(4)$$,
  'a second call creates nothing');
select throws_ok($$select public.maintain_readings(121)$$, '22023', 'months_ahead must be between 0 and 120',
  'maintain_readings rejects more than 120 months ahead');

-- who may maintain
set local role service_role;
select set_config('request.jwt.claims', '{"role": "service_role"}', true);
select results_eq($$select * from public.maintain_readings(5)$$,
  $$values ('created readings_' || to_char(date_trunc('month', now()) + interval '5 months', '"y"YYYY"m"MM'))$$,
  'service_role (the controller, the pg_cron job) can create partitions');
reset role;
select is((select relowner from pg_class where relname = 'readings_' || to_char(date_trunc('month', now()) + interval '5 months', '"y"YYYY"m"MM')),
          (select relowner from pg_class where oid = 'public.readings'::regclass),
  'a partition created through service_role is owned like its parent');
set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "00000000-0000-4000-8000-000000000103", "role": "authenticated"}', true);
select throws_ok($$select public.maintain_readings(6)$$, '42501', null,
  'an authenticated user, even a machine admin, cannot maintain partitions');
reset role;
select set_config('request.jwt.claims', '', true);

-- retention: keep everything by default; detach or drop whole months older than the retention ----
update private.telemetry_settings set max_tick_age = interval '400 days';
select ok((select count(*) from public.maintain_readings() r where r like 'created %') >= 12,
  'a longer max_tick_age prepares the older months too');
insert into public.readings (machine_id, ts, layout_version, vals)
values ('00000000-0000-4000-8000-000000000001', now() - interval '390 days', 1, array[1.5]);
select is_empty($$select * from public.maintain_readings() r where r not like 'created %'$$,
  'with no retention (the default) nothing is dropped or detached');
update private.telemetry_settings set retention = interval '100 days', retention_action = 'detach';
create temp table detached as select r from public.maintain_readings() r;
select ok((select count(*) from detached where r like 'detached readings_y%') >= 8
          and not exists (select 1 from detached where r not like 'detached %'),
  'retention with detach detaches every month older than the retention, and nothing else');
select is((select count(*) from public.readings where ts = now() - interval '390 days'), 0::bigint,
  'a detached month''s ticks are no longer in readings');
select is((select count(*) from pg_inherits i join pg_class c on c.oid = i.inhrelid
           where i.inhparent = 'public.readings'::regclass
             and c.relname = 'readings_' || to_char(now() - interval '390 days', '"y"YYYY"m"MM')), 0::bigint,
  'the detached month is no partition of readings any more');
select ok(to_regclass('public.readings_' || to_char(now() - interval '390 days', '"y"YYYY"m"MM')) is not null,
  'the detached month is kept as a table of its own');
update private.telemetry_settings set retention = interval '40 days', retention_action = 'drop';
create temp table dropped as select r from public.maintain_readings() r;
select ok(exists (select 1 from dropped) and not exists (select 1 from dropped where r not like 'dropped readings_y%'),
  'retention with drop drops the months that have become older than the retention');
select ok(exists (select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
                  where i.inhparent = 'public.readings'::regclass
                    and c.relname = 'readings_' || to_char(now(), '"y"YYYY"m"MM')),
  'the current month is never dropped');
update private.telemetry_settings set retention = null, retention_action = 'drop', max_tick_age = interval '31 days';

-- the schedule: where pg_cron could be created in this database (Supabase; a server whose
-- cron.database_name is this database), the migration scheduled the job; elsewhere it is skipped.
create function pg_temp.maintain_readings_jobs() returns bigint language plpgsql as $$
declare n bigint;
begin
  execute $q$select count(*) from cron.job where jobname = 'ald-db-maintain-readings' and command = 'select public.maintain_readings()'$q$ into n;
  return n;
end $$;
select case when exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron')
  then is(pg_temp.maintain_readings_jobs(), 1::bigint, 'pg_cron runs public.maintain_readings daily (job ald-db-maintain-readings)')
  else skip('pg_cron cannot be created in this database; public.maintain_readings is tested directly above', 1) end;

-- deleting a run keeps the machine's readings, no longer linked to it ---------------------------------
insert into public.process_executions (id, machine_id, recipe_snapshot, status, ended_at)
values ('00000000-0000-4000-8000-00000000f1d1', '00000000-0000-4000-8000-000000000001', '{}', 'completed', now());
select public.record_process_data('00000000-0000-4000-8000-00000000f1d1', array[md5('ald-demo/chamber_heater/temperature_read')::uuid], array[g::float8],
                                  array[now() - make_interval(secs => g)])
from generate_series(1, 5) g;
select is((select count(*) from public.process_data_points where process_id = '00000000-0000-4000-8000-00000000f1d1'), 5::bigint,
  'a finished run has its five readings');
delete from public.process_executions where id = '00000000-0000-4000-8000-00000000f1d1';
select is((select count(*) from public.readings where machine_id = '00000000-0000-4000-8000-000000000001' and process_id is null
             and ts >= now() - interval '5 seconds' and ts < now()), 5::bigint,
  'deleting a process execution keeps its machine''s readings, with process_id null');

select * from finish();
rollback;
