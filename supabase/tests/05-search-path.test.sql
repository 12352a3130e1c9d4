-- Finding 3 of issue 14: a session that may create temporary objects (TEMP is granted to PUBLIC)
-- must not be able to run its own code inside a SECURITY DEFINER function. PostgreSQL looks up
-- type and relation names in pg_temp FIRST unless the search_path names pg_temp explicitly, so
-- with `search_path = ''` a domain pg_temp.text with a check function ran as the definer's owner.
-- Every function of public and private therefore runs with `search_path = pg_catalog, pg_temp`
-- (pg_temp last, and never searched for functions or operators).
--
-- The attack below is what a direct database login (one that can set its own claims, like the
-- ALD_DB_URL login functions/README describes) can do: create pg_temp domains named like the
-- built-in types, each with a check function that, when it runs as anyone but the attacker, makes
-- the viewer of machine A admin of machine B; then call definer functions that use those types.
-- (Inside the armed region nothing of this file's own uses those type names: ids are literals.)
begin;
select plan(9);

\ir helpers/identities.sql

-- The attacker's log, readable and writable by every role (it is a temp table of this session).
-- Sequences, not a table: a definer call that fails rolls back what ran inside it, but not nextval.
create temp sequence hijack_any;
create temp sequence hijack_as_owner;
grant usage, select on hijack_any, hijack_as_owner to public;

select pg_temp.login_as('00000000-0000-4000-8000-000000000101');  -- viewer of A, nothing on B

-- The check function: while armed (ald.hijack_armed = on), log who runs it and, if that is not
-- the attacker's own role, escalate. It names its own types explicitly (pg_catalog.text), or the
-- domain would check itself forever.
create function pg_temp.hijack(v pg_catalog.text, type_name pg_catalog.text) returns boolean
language plpgsql set search_path = pg_catalog, pg_temp as $$
begin
  if pg_catalog.current_setting('ald.hijack_armed', true) = 'on' then
    perform pg_catalog.nextval('pg_temp.hijack_any');
    if current_user not in ('authenticated', 'service_role') then
      perform pg_catalog.nextval('pg_temp.hijack_as_owner');
      insert into public.machine_operators (machine_id, user_id, role)
      values ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000101', 'admin')
      on conflict (machine_id, user_id) do update set role = 'admin';
    end if;
  end if;
  return true;
end $$;
create domain pg_temp.text as pg_catalog.text check (pg_temp.hijack(value, 'text'));
create domain pg_temp.jsonb as pg_catalog.jsonb check (pg_temp.hijack(value::pg_catalog.text, 'jsonb'));
create domain pg_temp.uuid as pg_catalog.uuid check (pg_temp.hijack(value::pg_catalog.text, 'uuid'));
create domain pg_temp.timestamptz as pg_catalog.timestamptz check (pg_temp.hijack(value::pg_catalog.text, 'timestamptz'));

-- The definer functions a viewer can reach: the RLS helpers, every writer (refused, but only after
-- their declarations and first checks ran), and a trigger of a table the viewer cannot write.
select set_config('ald.hijack_armed', 'on', true);
do $$
begin
  begin perform private.is_service(); exception when others then null; end;
  begin perform private.has_machine_role('00000000-0000-4000-8000-000000000002', 'viewer'); exception when others then null; end;
  begin perform private.machine_ids_with_role('viewer'); exception when others then null; end;
  begin perform private.change_role(); exception when others then null; end;
  begin perform public.set_parameter_value('2568180d-1671-deba-0546-637a5093744f'::pg_catalog.uuid, 5, reason => 'x');
  exception when others then null; end;
  begin perform public.record_process_data('00000000-0000-4000-8000-000000000099', array['2568180d-1671-deba-0546-637a5093744f'::pg_catalog.uuid], array[1]::double precision[]);
  exception when others then null; end;
  begin perform public.claim_next_command('00000000-0000-4000-8000-000000000001', 'ctl');
  exception when others then null; end;
  begin perform public.start_process('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000003001');
  exception when others then null; end;
  begin perform public.advance_step('00000000-0000-4000-8000-000000000099');
  exception when others then null; end;
  begin perform public.complete_process('00000000-0000-4000-8000-000000000099', 'completed');
  exception when others then null; end;
  begin perform public.get_parameters(array['2568180d-1671-deba-0546-637a5093744f'::pg_catalog.uuid]);
  exception when others then null; end;
end $$;
select set_config('ald.hijack_armed', 'off', true);

-- The same attack as the function owner would see it: the controller's own definer path, with a
-- service session (a pg_temp object of the service's session is equally foreign to the owner).
select pg_temp.login_as_service();
select set_config('ald.hijack_armed', 'on', true);
do $$
begin
  begin perform public.set_parameter_value('2568180d-1671-deba-0546-637a5093744f'::pg_catalog.uuid, 6, reason => 'x');
  exception when others then null; end;
end $$;
select set_config('ald.hijack_armed', 'off', true);
select pg_temp.logout();

-- The domains are dropped before pgTAP's own (unqualified) code runs again.
drop domain pg_temp.text, pg_temp.jsonb, pg_temp.uuid, pg_temp.timestamptz;

create function pg_temp.ran(seq regclass) returns integer language plpgsql as $$
declare
  n integer;
begin
  execute format('select case when is_called then last_value else 0 end from %s', seq) into n;
  return n;
end $$;
select is(pg_temp.ran('pg_temp.hijack_as_owner'), 0,
  'no check function of a pg_temp domain ran inside a definer function (as its owner)');
select is(pg_temp.ran('pg_temp.hijack_any'), 0,
  'no pg_temp domain was used by any of our functions at all');
select is((select count(*)::integer from public.machine_operators
           where machine_id = '00000000-0000-4000-8000-000000000002'
             and user_id = '00000000-0000-4000-8000-000000000101'), 0,
  'the viewer of A did not become a member of machine B');
select is((select set_value from public.component_parameters where id = pg_temp.param('chamber_heater', 'kp')), 6::double precision,
  'the controller''s write went through with pg_temp domains in the session (bodies resolve pg_catalog types)');

-- Every function in public and private (but extension members) has exactly this search_path, so
-- that functions added later follow.
create temp view functions_search_path as
select p.oid::regprocedure::text as function_name, coalesce(
         (select s from unnest(p.proconfig) s where s like 'search\_path=%'), '(none)') as setting
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where n.nspname in ('public', 'private')
  and not exists (select 1 from pg_catalog.pg_depend d
                  where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e');
select ok((select count(*) from functions_search_path) >= 25, 'the search_path check sees our functions (at least 25)');
select is_empty($$select function_name, setting from functions_search_path
                  where setting <> 'search_path=pg_catalog, pg_temp'$$,
  'every function in public and private runs with search_path = pg_catalog, pg_temp');

-- The check fails for each way of getting it wrong.
create function private.probe_empty() returns integer language sql set search_path = '' as 'select 1';
create function private.probe_temp_first() returns integer language sql set search_path = pg_temp, pg_catalog as 'select 1';
create function public.probe_none() returns integer language sql as 'select 1';
select results_eq($$select function_name from functions_search_path
                    where setting <> 'search_path=pg_catalog, pg_temp' order by 1$$,
  $$values ('private.probe_empty()'), ('private.probe_temp_first()'), ('probe_none()')$$,
  'the search_path check lists functions with an empty, a pg_temp-first or no search_path');

-- And the hijack test itself can fail: the same domain does run inside a function without it.
-- (plpgsql compiles a function when it is created, with the creating session's search_path, and
-- again after every alter: the alter below makes the call compile it under its own setting.)
create function private.probe_vulnerable() returns boolean language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  t text := 'x';
begin
  return t is not null;
end $$;
create domain pg_temp.text as pg_catalog.text check (pg_temp.hijack(value, 'text'));
alter function private.probe_vulnerable() set search_path = '';
select set_config('ald.hijack_armed', 'on', true);
select private.probe_vulnerable();
select set_config('ald.hijack_armed', 'off', true);
select ok(pg_temp.ran('pg_temp.hijack_as_owner') > 0,
  'a definer function with search_path = '''' does run the pg_temp.text check (the attack is real)');
select setval('pg_temp.hijack_any', 1, false);
alter function private.probe_vulnerable() set search_path = pg_catalog, pg_temp;
select set_config('ald.hijack_armed', 'on', true);
select private.probe_vulnerable();
select set_config('ald.hijack_armed', 'off', true);
drop domain pg_temp.text;
select is(pg_temp.ran('pg_temp.hijack_any'), 0,
  'the same function with search_path = pg_catalog, pg_temp does not');

select * from finish();
rollback;
