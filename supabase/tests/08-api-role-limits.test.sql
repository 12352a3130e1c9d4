-- Finding 8 of issue 14: the API roles carry the statement timeouts hosted Supabase gives them
-- (anon 3 s, authenticated 8 s). They are platform settings, not migrations: the test bootstrap
-- (supabase/platform-bootstrap.sql) sets them, and the PostgREST stand-in of the tests and the
-- fuzz harness apply them per request as PostgREST does, so the fuzz and load suites run under them.
begin;
select plan(3);

create temp view role_timeouts as
select r.rolname::text as role_name, split_part(c, '=', 2) as timeout
from pg_catalog.pg_db_role_setting d
join pg_catalog.pg_roles r on r.oid = d.setrole
cross join lateral unnest(d.setconfig) c
where d.setdatabase = 0 and c like 'statement\_timeout=%';

select is((select timeout from role_timeouts where role_name = 'anon'), '3s', 'anon: statement_timeout 3s');
select is((select timeout from role_timeouts where role_name = 'authenticated'), '8s', 'authenticated: statement_timeout 8s');
select is((select count(*)::integer from role_timeouts where role_name = 'service_role'), 0,
  'service_role keeps the server default (the controller''s bulk writes)');

select * from finish();
rollback;
