-- Issue 14, finding 6 (lesser findings) that the schema itself can close. The others are fixed in
-- the Edge Functions or documented as accepted in docs/security.md.

-- Size limits: an operator could store 200 MB in a command's parameters or a step's details.
-- Generous for what the controller writes (a few hundred bytes), small enough that nobody fills the
-- disk through them. A larger value is refused with 23514 and changes nothing.
alter table public.recipe_commands
  add constraint recipe_commands_parameters_size check (pg_column_size(parameters) <= 65536),
  add constraint recipe_commands_error_message_length check (length(error_message) <= 10000),
  add constraint recipe_commands_claimed_by_length check (length(claimed_by) <= 200);
alter table public.step_executions
  add constraint step_executions_details_size check (pg_column_size(details) <= 65536),
  add constraint step_executions_error_message_length check (length(error_message) <= 10000);
alter table public.process_executions
  add constraint process_executions_error_message_length check (length(error_message) <= 10000);

-- A binary setpoint is 0 or 1, not -0 (equal to 0 for float8, but stored, returned and cached with
-- its sign). A float or integer setpoint may be -0: that is a number the operator wrote.
alter table public.component_parameters
  add constraint component_parameters_binary_not_negative_zero check (
    data_type <> 'binary' or set_value is null or set_value::text <> '-0');

-- private.is_service(): a session without JWT claims counted as the service when its login was a
-- member of service_role. PostgREST's login `authenticator` is one (it switches to every API role),
-- so a direct login as authenticator without claims was trusted as the controller. Now a claim-less
-- session is the service only when its login bypasses RLS (a superuser, postgres on Supabase, a
-- BYPASSRLS controller login) or is a member of service_role but of neither anon nor authenticated,
-- i.e. a dedicated controller login, not a login that switches between the API roles.
create or replace function private.is_service() returns boolean
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
