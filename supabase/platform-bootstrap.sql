-- Supabase platform objects that a hosted project has and a plain PostgreSQL lacks.
-- Used by the test harness, the demo and the benchmark on plain or embedded PostgreSQL.
-- This is a test/demo bootstrap, NEVER a migration: on Supabase these objects already exist.
-- Roles are cluster-wide, so their creation tolerates a concurrent run creating them first.

do $$
declare
  r record;
begin
  for r in select * from (values
      ('anon', 'nologin noinherit'),
      ('authenticated', 'nologin noinherit'),
      ('service_role', 'nologin noinherit bypassrls'),
      ('authenticator', 'login noinherit')) v(name, opts)
  loop
    begin
      execute format('create role %I %s', r.name, r.opts);
    exception when duplicate_object or unique_violation then
      null;
    end;
  end loop;
end
$$;

grant anon, authenticated, service_role to authenticator;

create schema if not exists extensions;
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;
grant usage on schema extensions to anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  email text unique,
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
comment on table auth.users is 'Stand-in for Supabase Auth users (platform bootstrap for plain PostgreSQL).';

-- The same definitions Supabase ships: identity comes from the JWT claims PostgREST sets.
create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

grant execute on function auth.jwt(), auth.uid(), auth.role() to anon, authenticated, service_role;

-- Statement timeouts of the API roles, as hosted Supabase sets them (anon 3 s, authenticated 8 s).
-- PostgREST applies a role's own settings when it switches to that role for a request (set local
-- role does not); the PostgREST stand-in of the tests (support/postgrest-endpoint.ts) and the fuzz
-- harness do the same, so the fuzz and load suites run under the production limits.
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
