-- Finding 5 of issue 14: a parameter deleted and inserted again with the same id must not start
-- again at version 1, or every cache that saw a higher version of the old row (the Edge cache and
-- the SDK's VersionedStore never go back to a lower version) keeps serving the deleted row.
-- Versions are unique for the whole life of an id.
begin;
select plan(9);
\ir helpers/identities.sql

create function pg_temp.version_of(id uuid) returns bigint language sql stable security definer
set search_path = pg_catalog, pg_temp as $$ select p.version from public.component_parameters p where p.id = version_of.id $$;

insert into public.component_parameters (id, component_id, machine_id, name, min_value, max_value, set_value)
values ('00000000-0000-4000-8000-00000000e501', '00000000-0000-4000-8000-000000001001',
        '00000000-0000-4000-8000-000000000001', 'lifetime_probe', 0, 100, 1);
select is(pg_temp.version_of('00000000-0000-4000-8000-00000000e501'), 1::bigint, 'a fresh id starts at version 1');
update public.component_parameters set set_value = set_value + 1 where id = '00000000-0000-4000-8000-00000000e501';
update public.component_parameters set set_value = set_value + 1 where id = '00000000-0000-4000-8000-00000000e501';
update public.component_parameters set set_value = set_value + 1 where id = '00000000-0000-4000-8000-00000000e501';
update public.component_parameters set set_value = set_value + 1 where id = '00000000-0000-4000-8000-00000000e501';
select is(pg_temp.version_of('00000000-0000-4000-8000-00000000e501'), 5::bigint, 'four changes later it is at version 5');

delete from public.component_parameters where id = '00000000-0000-4000-8000-00000000e501';
insert into public.component_parameters (id, component_id, machine_id, name, min_value, max_value, set_value, version)
values ('00000000-0000-4000-8000-00000000e501', '00000000-0000-4000-8000-000000001001',
        '00000000-0000-4000-8000-000000000001', 'lifetime_probe', 0, 100, 1, 1);
select is(pg_temp.version_of('00000000-0000-4000-8000-00000000e501'), 6::bigint,
  'deleted and inserted again with the same id, it continues at version 6, not 1 (nor the version the insert names)');

delete from public.component_parameters where id = '00000000-0000-4000-8000-00000000e501';
insert into public.component_parameters (id, component_id, machine_id, name)
values ('00000000-0000-4000-8000-00000000e501', '00000000-0000-4000-8000-000000001001',
        '00000000-0000-4000-8000-000000000001', 'lifetime_probe');
select is(pg_temp.version_of('00000000-0000-4000-8000-00000000e501'), 7::bigint, 'and again at 7 after a second delete');

-- The same through the API, by an admin of the machine (the floors are private: the triggers read
-- and write them as their owner).
select pg_temp.login_as('00000000-0000-4000-8000-000000000103');
select lives_ok($$ delete from public.component_parameters where id = '00000000-0000-4000-8000-00000000e501' $$,
  'an admin deletes the parameter');
select lives_ok($$ insert into public.component_parameters (id, component_id, machine_id, name)
  values ('00000000-0000-4000-8000-00000000e501', '00000000-0000-4000-8000-000000001001',
          '00000000-0000-4000-8000-000000000001', 'lifetime_probe') $$,
  'and inserts it again with the same id');
select throws_ok($$ select * from private.parameter_version_floors $$, '42501', null,
  'users cannot read the version floors');
select pg_temp.logout();
select is(pg_temp.version_of('00000000-0000-4000-8000-00000000e501'), 8::bigint, 'the admin''s insert continued at version 8');

-- What the next insert of the id builds on.
select is((select version from private.parameter_version_floors where parameter_id = '00000000-0000-4000-8000-00000000e501'),
  7::bigint, 'the floor holds the last version of the deleted row');

select * from finish();
rollback;
