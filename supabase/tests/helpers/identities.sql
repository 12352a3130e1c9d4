-- Shared by the pgTAP files (included with \ir helpers/identities.sql after plan()): switching
-- identity the way PostgREST does it, a role and the JWT claims of the request, all
-- transaction-local; and the seed's parameter ids. pg_temp functions vanish with the session.
-- The migrations take EXECUTE on new functions away from PUBLIC (20261204100200_splinter_findings);
-- the pg_temp helpers of a test file are called by the identities it switches to, so the file's
-- rolled-back transaction gives functions created from here on PostgreSQL's usual default back.
alter default privileges grant execute on functions to public;
create function pg_temp.login_as(sub uuid) returns void language plpgsql as $$
begin
  perform set_config('role', 'authenticated', true);
  perform set_config('request.jwt.claims', json_build_object('sub', sub, 'role', 'authenticated')::text, true);
end $$;
create function pg_temp.login_as_anon() returns void language plpgsql as $$
begin
  perform set_config('role', 'anon', true);
  perform set_config('request.jwt.claims', '{"role":"anon"}', true);
end $$;
create function pg_temp.login_as_service() returns void language plpgsql as $$
begin
  perform set_config('role', 'service_role', true);
  perform set_config('request.jwt.claims', '{"role":"service_role"}', true);
end $$;
create function pg_temp.logout() returns void language plpgsql as $$
begin
  perform set_config('role', 'none', true);
  perform set_config('request.jwt.claims', '', true);
end $$;
-- Seed parameter ids: md5('ald-demo/<component>/<parameter>')::uuid.
create function pg_temp.param(component text, name text) returns uuid language sql immutable as $$
  select md5('ald-demo/' || component || '/' || name)::uuid
$$;
