-- Who may do what. Every policy and every definer RPC asks these helpers.
--
-- Identity comes from the JWT claims PostgREST puts in request.jwt.claims:
--   role service_role  -> the controller: everything;
--   role authenticated -> the machines listed for auth.uid() in machine_operators, by role;
--   role anon / other  -> nothing.
-- A session without JWT claims (a direct PostgreSQL connection, like the controller's pool) is
-- trusted when its login role bypasses RLS (a superuser, postgres on Supabase, a BYPASSRLS
-- controller login) or is a member of service_role but of neither anon nor authenticated, i.e. a
-- dedicated controller login; otherwise nothing.

-- The helpers are plpgsql rather than sql: a security definer sql function with its own
-- search_path is never inlined and is planned again on every call, which cost about 0.2 ms per
-- RPC; plpgsql caches its plans for the session.

-- Membership of service_role alone is not enough for a claim-less session (issue 14, finding 6):
-- PostgREST's login `authenticator` is a member (it switches to every API role), so a direct login
-- as authenticator without claims would be trusted as the controller. A login that is also a
-- member of anon or authenticated switches between the API roles and is not the service.
create function private.is_service() returns boolean
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  claims text := nullif(current_setting('request.jwt.claims', true), '');
begin
  if claims is not null then
    return coalesce(claims::jsonb ->> 'role', '') = 'service_role';
  end if;
  return exists (
    select 1 from pg_catalog.pg_roles r
    where r.rolname = session_user
      and (r.rolsuper or r.rolbypassrls
           or (pg_catalog.pg_has_role(session_user, 'service_role', 'member')
               and not pg_catalog.pg_has_role(session_user, 'anon', 'member')
               and not pg_catalog.pg_has_role(session_user, 'authenticated', 'member'))));
end;
$$;
comment on function private.is_service() is
  'True for the controller: a service_role JWT, or a session without claims whose login bypasses RLS or is a member of service_role but not of anon or authenticated (so PostgREST''s authenticator is not).';

create function private.machine_ids_with_role(min_role public.operator_role) returns uuid[]
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  return (select coalesce(array_agg(mo.machine_id), '{}')
          from public.machine_operators mo
          where mo.user_id = (select auth.uid())
            and mo.role >= min_role);
end;
$$;
comment on function private.machine_ids_with_role(public.operator_role) is
  'The machines on which the calling user holds at least min_role. Definer so that policies on machine_operators itself do not recurse. Use as machine_id = any ((select private.machine_ids_with_role(...))::uuid[]) so it runs once per statement.';

create function private.has_machine_role(machine_id uuid, min_role public.operator_role) returns boolean
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  return private.is_service() or exists (
    select 1 from public.machine_operators mo
    where mo.machine_id = has_machine_role.machine_id
      and mo.user_id = (select auth.uid())
      and mo.role >= min_role);
end;
$$;
comment on function private.has_machine_role(uuid, public.operator_role) is 'True when the caller is the controller or holds at least min_role on the machine. Used by the definer RPCs.';

-- The process a controller call acts on, locked for the rest of the transaction so that calls on
-- one process queue instead of racing: P0002 when it does not exist, 42501 when the caller may not
-- operate its machine (action names the call in the message's detail).
create function private.lock_process_to_operate(process_id uuid, action text)
returns public.process_executions
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  pe public.process_executions;
begin
  select * into pe from public.process_executions e where e.id = lock_process_to_operate.process_id for update;
  if not found then
    perform private.raise_error('P0002',
      'process not found',
      format('no process execution %s', lock_process_to_operate.process_id));
  end if;
  if not private.has_machine_role(pe.machine_id, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('%s process %s needs the operator role on machine %s', action, pe.id, pe.machine_id);
  end if;
  return pe;
end;
$$;
comment on function private.lock_process_to_operate(uuid, text) is
  'Locks (for update) and returns the process execution a controller call acts on; P0002 if unknown, 42501 if the caller may not operate its machine.';

create function private.change_role() returns text
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role', session_user::text);
$$;
comment on function private.change_role() is 'The JWT role of the caller, or the login role of a direct session; recorded in audits.';

revoke all on all functions in schema private from public;
grant usage on schema private to authenticated, service_role;
grant execute on function private.is_service() to authenticated, service_role;
grant execute on function private.machine_ids_with_role(public.operator_role) to authenticated, service_role;
grant execute on function private.has_machine_role(uuid, public.operator_role) to authenticated, service_role;
grant execute on function private.change_role() to authenticated, service_role;

-- Closed by default: nothing in private is executable by PUBLIC. The RLS helpers are opened to
-- the API roles that policies evaluate for; lock_process_to_operate runs only inside the definer
-- RPCs (as their owner).
revoke execute on function
  private.is_service(),
  private.machine_ids_with_role(public.operator_role),
  private.has_machine_role(uuid, public.operator_role),
  private.lock_process_to_operate(uuid, text),
  private.change_role()
from public;
grant execute on function private.is_service() to authenticated, service_role;
grant execute on function private.machine_ids_with_role(public.operator_role) to authenticated, service_role;
grant execute on function private.has_machine_role(uuid, public.operator_role) to authenticated, service_role;
grant execute on function private.change_role() to authenticated, service_role;
