-- Issue 14, finding 3: `set search_path = ''` does not keep pg_temp out. PostgreSQL searches the
-- session's temporary schema FIRST for relations and types unless the path names pg_temp, so a
-- session that may create temporary objects (TEMP is granted to PUBLIC) could define a domain
-- pg_temp.text whose check function then ran inside a SECURITY DEFINER function as its owner.
-- The PostgreSQL manual's advice ("Writing SECURITY DEFINER Functions Safely"): name pg_temp
-- explicitly and last. pg_temp is then searched after pg_catalog for relations and types, and
-- never for functions and operators. Every function of ald-db gets the same path, definer or not
-- (an invoker function called from a definer one runs as the definer's owner too); the bodies
-- already schema-qualify every relation, type and function outside pg_catalog, so they resolve
-- exactly as before.
--
-- Functions created by later migrations declare `set search_path = pg_catalog, pg_temp`
-- themselves; supabase/tests/05-search-path.test.sql fails for any function in public or private
-- with another setting.
do $$
declare
  f regprocedure;
begin
  for f in
    select p.oid::regprocedure
    from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'private')
      and p.prokind in ('f', 'p')
      and not exists (select 1 from pg_catalog.pg_depend d
                      where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
  loop
    execute format('alter function %s set search_path = pg_catalog, pg_temp', f);
  end loop;
end
$$;
