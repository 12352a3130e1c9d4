-- Functions are closed by default: nothing in private is executable by PUBLIC. The RLS helpers are
-- opened to the API roles that policies evaluate for; everything else runs only inside the
-- definer RPCs (as their owner).
revoke execute on all functions in schema private from public, anon, authenticated, service_role;
grant execute on function private.is_service() to authenticated, service_role;
grant execute on function private.machine_ids_with_role(public.operator_role) to authenticated, service_role;
grant execute on function private.has_machine_role(uuid, public.operator_role) to authenticated, service_role;
grant execute on function private.change_role() to authenticated, service_role;
