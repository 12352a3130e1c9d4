-- Realtime: the tables a UI follows are in the supabase_realtime publication, so Supabase Realtime
-- streams their changes as postgres_changes, filtered per subscriber by each table's SELECT policy
-- (a viewer receives exactly their machines' rows). The publication is created if missing, so
-- plain PostgreSQL migrates the same way. Other issues add their tables with the same snippet.

do $$
begin
  if not exists (select 1 from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end $$;

do $$
declare
  t text;
begin
  if (select p.puballtables from pg_catalog.pg_publication p where p.pubname = 'supabase_realtime') then
    return;
  end if;
  foreach t in array array['machines', 'controllers', 'recipe_commands', 'process_executions', 'process_execution_state'] loop
    if not exists (select 1 from pg_catalog.pg_publication_tables p
                   where p.pubname = 'supabase_realtime' and p.schemaname = 'public' and p.tablename = t) then
      execute format('alter publication supabase_realtime add table public.%I', t);
    end if;
  end loop;
end $$;
