-- claim_next_command: the controller's queue. The oldest pending command of a machine is claimed
-- exactly once. pgTAP runs in one session, so the concurrent half of "exactly once" is asserted
-- on the definition (the claim is one statement over `for update skip locked`); the vitest
-- controller test runs real concurrent claims. Here: order, exactly-once in sequence, errors,
-- and who may claim.
begin;
select plan(32);
\ir helpers/identities.sql

create function pg_temp.status_of(id uuid) returns text language sql stable security definer set search_path = '' as $$
  select c.status::text from public.recipe_commands c where c.id = status_of.id
$$;

-- Commands of the reactor, issued in this order (created_at), and one of machine B. The cancelled
-- and completed ones are older than all of them and must never be claimed.
insert into public.recipe_commands (id, machine_id, command_type, recipe_id, status, created_at, claimed_at, completed_at) values
  ('c0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001', 'start_recipe', '00000000-0000-4000-8000-000000003001', 'pending',   now() - interval '3 minutes', null, null),
  ('c0000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'pause_recipe', null,                                   'pending',   now() - interval '2 minutes', null, null),
  ('c0000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001', 'stop_recipe',  null,                                   'pending',   now() - interval '1 minute',  null, null),
  ('c0000000-0000-4000-8000-000000000009', '00000000-0000-4000-8000-000000000001', 'stop_recipe',  null,                                   'cancelled', now() - interval '1 hour',    null, now()),
  ('c0000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000001', 'stop_recipe',  null,                                   'completed', now() - interval '1 hour',    now() - interval '1 hour', now()),
  ('c0000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-000000000002', 'stop_recipe',  null,                                   'pending',   now() - interval '1 day',     null, null);

-- Definition ------------------------------------------------------------------------------------------
select is(
  (select p.provolatile::text || ':' || p.prosecdef::text || ':' || array_to_string(p.proconfig, ',') from pg_catalog.pg_proc p
   where p.oid = 'public.claim_next_command(uuid, text, uuid)'::regprocedure),
  'v:true:search_path=pg_catalog, pg_temp',
  'claim_next_command is VOLATILE, SECURITY DEFINER and runs with search_path = pg_catalog, pg_temp');
select ok(
  pg_catalog.pg_get_functiondef('public.claim_next_command(uuid, text, uuid)'::regprocedure) ilike '%for update skip locked%',
  'claim_next_command picks its row with for update skip locked, so concurrent controllers never get the same command');
select ok(
  pg_catalog.pg_get_functiondef('public.claim_next_command(uuid, text, uuid)'::regprocedure) ~* 'update\s+public\.recipe_commands[^;]*where\s+c\.id\s*=\s*\(\s*select[^;]*for update skip locked\s*\)\s*returning',
  'the claim is a single update over the locked subselect: there is no read-then-write window');
select ok(
  not has_function_privilege('anon', 'public.claim_next_command(uuid, text, uuid)', 'execute'),
  'anon has no execute privilege on claim_next_command');

-- Oldest first, each command once --------------------------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
create temp table first_claim as
  select * from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'controller-1');
select is((select count(*)::int from first_claim), 1, 'a claim returns one command');
select is((select id from first_claim), 'c0000000-0000-4000-8000-000000000001'::uuid, 'the first claim returns the oldest pending command');
select is(
  (select row(status::text, claimed_by, claimed_at) from first_claim),
  row('claimed'::text, 'controller-1'::text, now()),
  'the returned command is claimed, by the given controller, now');
select is(pg_temp.status_of('c0000000-0000-4000-8000-000000000001'), 'claimed', 'the claim is stored');
select is(
  (select id from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'controller-1')),
  'c0000000-0000-4000-8000-000000000002'::uuid,
  'the second claim returns the next oldest command, not the claimed one');
select is(
  (select id from public.claim_next_command('00000000-0000-4000-8000-000000000001')),
  'c0000000-0000-4000-8000-000000000003'::uuid,
  'the third claim returns the third command');
select is_empty(
  $$ select * from public.claim_next_command('00000000-0000-4000-8000-000000000001') $$,
  'with no pending command left the claim returns no row');
select is_empty(
  $$ select * from public.claim_next_command('00000000-0000-4000-8000-000000000001') $$,
  'claiming again still returns no row: a claimed command is never returned twice');
select pg_temp.logout();

select set_eq(
  $$ select id from public.recipe_commands where machine_id = '00000000-0000-4000-8000-000000000001' and status = 'claimed' $$,
  array['c0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000003']::uuid[],
  'exactly the three pending commands were claimed, each once');
select is(
  (select claimed_by from public.recipe_commands where id = 'c0000000-0000-4000-8000-000000000003'),
  'authenticated',
  'without claimed_by the claim records the caller''s role');
select is(pg_temp.status_of('c0000000-0000-4000-8000-000000000009'), 'cancelled', 'a cancelled command is never claimed');
select is(pg_temp.status_of('c0000000-0000-4000-8000-00000000000a'), 'completed', 'a completed command is never claimed');
select is(pg_temp.status_of('c0000000-0000-4000-8000-0000000000b1'), 'pending', 'claims on the reactor leave machine B''s command pending');

-- Ties on created_at go by id; claimed_by is capped ---------------------------------------------------
insert into public.recipe_commands (id, machine_id, command_type, created_at) values
  ('c0000000-0000-4000-8000-000000000022', '00000000-0000-4000-8000-000000000001', 'stop_recipe', '2026-01-01 00:00:00+00'),
  ('c0000000-0000-4000-8000-000000000021', '00000000-0000-4000-8000-000000000001', 'stop_recipe', '2026-01-01 00:00:00+00');
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select is(
  (select id from public.claim_next_command('00000000-0000-4000-8000-000000000001', repeat('x', 300))),
  'c0000000-0000-4000-8000-000000000021'::uuid,
  'of two commands issued at the same time the one with the smaller id is claimed first');
select pg_temp.logout();
select is(
  (select length(claimed_by) from public.recipe_commands where id = 'c0000000-0000-4000-8000-000000000021'),
  200,
  'a claimed_by longer than 200 characters is cut to 200');

-- Errors ----------------------------------------------------------------------------------------------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
select throws_ok(
  $$ select * from public.claim_next_command(null) $$,
  '22004', null,
  'a null machine id is refused with 22004');
select throws_ok(
  $$ select * from public.claim_next_command('6f1c1d6e-0000-4000-8000-00000000dead') $$,
  'P0002', null,
  'an unknown machine raises P0002');

-- Who may claim -------------------------------------------------------------------------------------
select pg_temp.login_as_anon();
select throws_ok(
  $$ select * from public.claim_next_command('00000000-0000-4000-8000-000000000001') $$,
  '42501', null,
  'anon may not claim commands (42501)');
select pg_temp.login_as('00000000-0000-4000-8000-000000000101');
select throws_ok(
  $$ select * from public.claim_next_command('00000000-0000-4000-8000-000000000001') $$,
  '42501', null,
  'viewers of the reactor may not claim its commands (42501)');
select pg_temp.login_as('00000000-0000-4000-8000-000000000201');
select throws_ok(
  $$ select * from public.claim_next_command('00000000-0000-4000-8000-000000000001') $$,
  '42501', null,
  'operators of machine B may not claim commands of the reactor (42501)');
select pg_temp.logout();
select is(pg_temp.status_of('c0000000-0000-4000-8000-000000000022'), 'pending', 'the refused claims left the pending command pending');

select pg_temp.login_as('00000000-0000-4000-8000-000000000201');
select is(
  (select id from public.claim_next_command('00000000-0000-4000-8000-000000000002')),
  'c0000000-0000-4000-8000-0000000000b1'::uuid,
  'operators of machine B claim their own machine''s commands');
select pg_temp.login_as('00000000-0000-4000-8000-000000000103');
select is(
  (select id from public.claim_next_command('00000000-0000-4000-8000-000000000001')),
  'c0000000-0000-4000-8000-000000000022'::uuid,
  'admins of the reactor claim its commands');
select pg_temp.logout();
insert into public.recipe_commands (id, machine_id, command_type) values
  ('c0000000-0000-4000-8000-000000000031', '00000000-0000-4000-8000-000000000001', 'stop_recipe'),
  ('c0000000-0000-4000-8000-000000000032', '00000000-0000-4000-8000-000000000001', 'stop_recipe');
select pg_temp.login_as_service();
select is(
  (select row(id, claimed_by) from public.claim_next_command('00000000-0000-4000-8000-000000000001')),
  row('c0000000-0000-4000-8000-000000000031'::uuid, 'service_role'::text),
  'service_role (the controller) claims commands, recorded as service_role');
select pg_temp.logout();
select is(
  (select id from public.claim_next_command('00000000-0000-4000-8000-000000000001', 'pool')),
  'c0000000-0000-4000-8000-000000000032'::uuid,
  'a trusted direct session claims commands too');

-- Operators issue commands through the table, controllers claim them through the function ------
select pg_temp.login_as('00000000-0000-4000-8000-000000000102');
insert into public.recipe_commands (machine_id, command_type, recipe_id, created_by) values
  ('00000000-0000-4000-8000-000000000001', 'start_recipe', '00000000-0000-4000-8000-000000003001', '00000000-0000-4000-8000-000000000102');
select is(
  (select row(created_by, command_type::text, status::text) from public.claim_next_command('00000000-0000-4000-8000-000000000001')),
  row('00000000-0000-4000-8000-000000000102'::uuid, 'start_recipe'::text, 'claimed'::text),
  'a command an operator issued is claimed by the next claim');
select throws_ok(
  $$ update public.recipe_commands set claimed_by = 'me' where created_by = '00000000-0000-4000-8000-000000000102' $$,
  '42501', null,
  'operators cannot write the claim columns themselves (42501): claiming goes through the function');
select pg_temp.logout();
select is(
  (select count(*)::int from public.recipe_commands where status = 'pending' and machine_id = '00000000-0000-4000-8000-000000000001'),
  0,
  'every pending command of the reactor has been claimed once');

select * from finish();
rollback;
