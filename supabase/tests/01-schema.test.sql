-- The schema passes the checks of the Supabase linter (splinter) that matter here: RLS on every
-- table, foreign keys covered by an index, a comment on every table, column and function, a fixed
-- search_path on every function, nothing executable by anon. Each check is a query that lists the
-- offenders and must be empty; the second half of the file breaks the schema on purpose (inside
-- this rolled-back transaction) to show that each check would fail.
begin;
select plan(42);

-- The 17 domain tables ---------------------------------------------------------------------------
select has_table('public', 'machines', 'machines exists');
select has_table('public', 'machine_operators', 'machine_operators exists');
select has_table('public', 'machine_components', 'machine_components exists');
select has_table('public', 'component_parameters', 'component_parameters exists');
select has_table('public', 'machine_parameter_epochs', 'machine_parameter_epochs exists');
select has_table('public', 'recipes', 'recipes exists');
select has_table('public', 'recipe_steps', 'recipe_steps exists');
select has_table('public', 'valve_step_configs', 'valve_step_configs exists');
select has_table('public', 'purge_step_configs', 'purge_step_configs exists');
select has_table('public', 'parameter_step_configs', 'parameter_step_configs exists');
select has_table('public', 'loop_step_configs', 'loop_step_configs exists');
select has_table('public', 'recipe_commands', 'recipe_commands exists');
select has_table('public', 'process_executions', 'process_executions exists');
select has_table('public', 'process_execution_state', 'process_execution_state exists');
select has_table('public', 'step_executions', 'step_executions exists');
select has_table('public', 'parameter_changes', 'parameter_changes exists');
select has_table('public', 'readings', 'readings exists');
select has_table('public', 'reading_layouts', 'reading_layouts exists');
select has_table('public', 'latest_readings', 'latest_readings exists');
select has_view('public', 'process_data_points', 'process_data_points exists, as the narrow view of readings');

-- The checks, as views so that they can be asked again after breaking the schema. ----------------

-- Tables (ordinary, partitioned and every partition) in public without row level security.
create temp view tables_without_rls as
select c.oid::regclass::text as table_name
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity;

-- Foreign keys of public tables (partitions included) that no index covers, by splinter's rule
-- (unindexed_foreign_keys): a valid index whose leading key columns are the foreign key's columns
-- in the key's order. Stricter than splinter in one way: a partial index does not count. (A unique
-- index on a subset of the key, like the config tables' step_id primary key, does not count either.)
create temp view foreign_keys_without_index as
select c.conrelid::regclass::text as table_name, c.conname::text collate "default" as constraint_name
from pg_catalog.pg_constraint c
join pg_catalog.pg_class t on t.oid = c.conrelid
join pg_catalog.pg_namespace n on n.oid = t.relnamespace
where c.contype = 'f' and n.nspname = 'public'
  and not exists (
    select 1
    from pg_catalog.pg_index i
    where i.indrelid = c.conrelid
      and i.indisvalid
      and i.indpred is null
      and (pg_catalog.string_to_array(i.indkey::text, ' ')::smallint[])[1:cardinality(c.conkey)] = c.conkey);

-- Tables and views in public without a comment (partitions included). Relations that belong to an
-- extension (pgTAP's views when the harness installs it in public) are not ours to comment.
create temp view relations_without_comment as
select c.oid::regclass::text as relation_name
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm')
  and pg_catalog.obj_description(c.oid, 'pg_class') is null
  and not exists (select 1 from pg_catalog.pg_depend d
                  where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e');

-- Columns without a comment. Partitions are excluded: their columns are the parent's columns,
-- commented on the parent, and maintain_readings does not copy column comments.
create temp view columns_without_comment as
select c.oid::regclass::text || '.' || (a.attname::text collate "default") as column_name
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition
  and pg_catalog.col_description(c.oid, a.attnum) is null
  and not exists (select 1 from pg_catalog.pg_depend d
                  where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e');

-- Our functions: public and private, excluding those that belong to an extension (pgTAP lives in
-- public when the test harness installs it there).
create temp view own_functions as
select p.oid, p.oid::regprocedure::text collate "default" as function_name, n.nspname as schema_name,
       p.prosecdef as is_definer, p.proconfig
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where n.nspname in ('public', 'private')
  and not exists (select 1 from pg_catalog.pg_depend d
                  where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e');

create temp view functions_without_search_path as
select function_name, is_definer from own_functions
where not exists (select 1 from unnest(proconfig) s where s like 'search\_path=%');

-- Views that run with their owner's rights (splinter: security_definer_view).
create temp view definer_views as
select c.oid::regclass::text as view_name
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relkind = 'v'
  and not coalesce('security_invoker=true' = any (c.reloptions), false)
  and not exists (select 1 from pg_catalog.pg_depend d
                  where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e');

-- The checks on the schema as migrated ------------------------------------------------------------
select is_empty('select * from tables_without_rls',
  'every table in public, partitions included, has row level security enabled');
select ok((select count(*) from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
           where n.nspname = 'public' and c.relispartition) >= 2,
  'the RLS check sees the partitions of readings (default and monthly)');
select is_empty('select * from foreign_keys_without_index',
  'every foreign key of a public table is covered by an index leading with its columns');
select ok((select count(*) from pg_catalog.pg_constraint c join pg_catalog.pg_class t on t.oid = c.conrelid
           join pg_catalog.pg_namespace n on n.oid = t.relnamespace
           where c.contype = 'f' and n.nspname = 'public') >= 30,
  'the foreign-key check sees the schema''s foreign keys (at least 30)');
select is_empty('select * from relations_without_comment',
  'every table, partition and view in public has a comment');
select is_empty('select * from columns_without_comment',
  'every column of every public table has a comment');
select is_empty($$select function_name from own_functions where obj_description(oid, 'pg_proc') is null$$,
  'every function in public and private has a comment');
select is_empty('select * from functions_without_search_path where is_definer',
  'no SECURITY DEFINER function in public or private lacks a fixed search_path');
select is_empty('select * from functions_without_search_path',
  'no function in public or private has a mutable search_path');
select is_empty($$select function_name from own_functions
                  where has_function_privilege('anon', oid, 'execute')
                    and has_schema_privilege('anon', schema_name, 'usage')$$,
  'anon can execute no function in public or private');
select is_empty($$select function_name from own_functions
                  where schema_name = 'private' and has_function_privilege('authenticated', oid, 'execute')
                    and oid not in ('private.is_service()'::regprocedure,
                                    'private.machine_ids_with_role(public.operator_role)'::regprocedure,
                                    'private.has_machine_role(uuid, public.operator_role)'::regprocedure,
                                    'private.change_role()'::regprocedure,
                                    'private.raise_error(text, text, text, text)'::regprocedure,
                                    'private.reading_rollup_coverage(uuid, timestamptz, timestamptz)'::regprocedure)$$,
  'authenticated can execute no private function but the four access helpers the policies call and raise_error (the invoker read RPCs raise through it), and reading_rollup_coverage (get_readings reads the rollup bookkeeping through it)');
select is_empty('select * from definer_views',
  'no view in public bypasses RLS by running as its owner');

-- Each check fails when the schema is broken -------------------------------------------------------
alter table public.recipes disable row level security;
select results_eq('select * from tables_without_rls', $$values ('recipes')$$,
  'the RLS check lists a table whose RLS was disabled');

drop index public.recipe_commands_recipe_id_idx;
select results_eq('select table_name, constraint_name from foreign_keys_without_index',
  $$values ('recipe_commands', 'recipe_commands_recipe_id_fkey')$$,
  'the foreign-key check lists a foreign key whose index was dropped');

create index machine_operators_partial_idx on public.machine_operators (user_id) where role = 'admin';
drop index public.machine_operators_user_id_idx;
select results_eq('select table_name, constraint_name from foreign_keys_without_index order by 1',
  $$values ('machine_operators', 'machine_operators_user_id_fkey'), ('recipe_commands', 'recipe_commands_recipe_id_fkey')$$,
  'the foreign-key check does not count a partial index as cover');

drop index public.valve_step_configs_step_id_step_type_idx;
create index valve_step_configs_reversed_idx on public.valve_step_configs (step_type, step_id);
select results_eq('select table_name, constraint_name from foreign_keys_without_index order by 1, 2',
  $$values ('machine_operators', 'machine_operators_user_id_fkey'), ('recipe_commands', 'recipe_commands_recipe_id_fkey'),
           ('valve_step_configs', 'valve_step_configs_step_id_step_type_fkey')$$,
  'the foreign-key check counts neither the unique step_id primary key nor an index in the other column order (splinter''s rule)');

comment on column public.machines.model is null;
select results_eq('select * from columns_without_comment', $$values ('machines.model')$$,
  'the comment check lists a column whose comment was removed');

create function public.probe_without_search_path() returns integer language sql security definer as 'select 1';
select results_eq('select function_name from functions_without_search_path where is_definer',
  $$values ('probe_without_search_path()')$$,
  'the search_path check lists a definer function created without one');
create function private.probe_private() returns integer language sql set search_path = pg_catalog, pg_temp as 'select 1';
select ok(not has_function_privilege('authenticated', 'private.probe_private()', 'execute'),
  'a new private function is not executable by PUBLIC without a revoke (global default privileges)');
grant execute on function private.probe_private() to public;
select results_eq($$select function_name from own_functions
                    where schema_name = 'private' and has_function_privilege('authenticated', oid, 'execute')
                      and oid not in ('private.is_service()'::regprocedure,
                                      'private.machine_ids_with_role(public.operator_role)'::regprocedure,
                                      'private.has_machine_role(uuid, public.operator_role)'::regprocedure,
                                      'private.change_role()'::regprocedure,
                                      'private.raise_error(text, text, text, text)'::regprocedure,
                                    'private.reading_rollup_coverage(uuid, timestamptz, timestamptz)'::regprocedure)$$,
  $$values ('private.probe_private()')$$,
  'the private-function check lists a new private function made executable by PUBLIC');
select is_empty($$select function_name from own_functions
                  where has_function_privilege('anon', oid, 'execute')
                    and has_schema_privilege('anon', schema_name, 'usage')$$,
  'a new public function is not executable by anon although nobody revoked it (global default privileges)');
grant execute on function public.probe_without_search_path() to public;
select results_eq($$select function_name from own_functions
                    where has_function_privilege('anon', oid, 'execute')
                      and has_schema_privilege('anon', schema_name, 'usage')$$,
  $$values ('probe_without_search_path()')$$,
  'the anon check lists a public function executable by PUBLIC');

select * from finish();
rollback;
