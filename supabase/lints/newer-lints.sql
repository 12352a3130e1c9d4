-- Lints of Supabase's linter (splinter) that are newer than the copy built into the pinned
-- Supabase CLI (`supabase db advisors`, which runs the others). Written for ald-db from the lints'
-- published descriptions (lints 0026-0029: what the anon and authenticated roles can reach through
-- the Data API); same names, levels and metadata keys, so tests/splinter.test.ts treats both alike.
-- One row per finding: name, level, schema, object (function name or relation), detail.
with platform_schemas (name) as (
  values ('auth'), ('cron'), ('extensions'), ('graphql'), ('graphql_public'), ('information_schema'),
         ('net'), ('pgbouncer'), ('pg_catalog'), ('pgsodium'), ('pgsodium_masks'), ('realtime'),
         ('storage'), ('supabase_functions'), ('supabase_migrations'), ('vault'), ('pg_toast')
),
definer_functions as (
  select n.nspname::text as schema_name, p.proname::text as object_name, p.oid,
         pg_catalog.pg_get_function_identity_arguments(p.oid) as args
  from pg_catalog.pg_proc p
  join pg_catalog.pg_namespace n on n.oid = p.pronamespace
  where p.prosecdef
    and n.nspname not in (select name from platform_schemas)
    and n.nspname not like 'pg\_temp\_%' and n.nspname not like 'pg\_toast\_temp\_%'
),
api_relations as (
  select n.nspname::text as schema_name, c.relname::text as object_name, c.oid
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'v', 'm', 'f')
    and n.nspname not in (select name from platform_schemas)
    and n.nspname not like 'pg\_temp\_%' and n.nspname not like 'pg\_toast\_temp\_%'
    and exists (select 1 from pg_catalog.pg_extension e where e.extname = 'pg_graphql')
)
select 'anon_security_definer_function_executable' as name, 'WARN' as level, schema_name as schema, object_name as object,
       format('security definer function %s.%s(%s) is executable by anon', schema_name, object_name, args) as detail
from definer_functions where pg_catalog.has_function_privilege('anon', oid, 'EXECUTE')
union all
select 'authenticated_security_definer_function_executable', 'WARN', schema_name, object_name,
       format('security definer function %s.%s(%s) is executable by authenticated', schema_name, object_name, args)
from definer_functions where pg_catalog.has_function_privilege('authenticated', oid, 'EXECUTE')
union all
select 'pg_graphql_anon_table_exposed', 'WARN', schema_name, object_name,
       format('pg_graphql shows %s.%s to anon', schema_name, object_name)
from api_relations r
where exists (select 1 from pg_catalog.pg_attribute a where a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
                and pg_catalog.has_column_privilege('anon', r.oid, a.attnum, 'SELECT'))
union all
select 'pg_graphql_authenticated_table_exposed', 'WARN', schema_name, object_name,
       format('pg_graphql shows %s.%s to authenticated', schema_name, object_name)
from api_relations r
where exists (select 1 from pg_catalog.pg_attribute a where a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
                and pg_catalog.has_column_privilege('authenticated', r.oid, a.attnum, 'SELECT'))
order by 1, 3, 4;
