-- The controller's queue: the oldest pending command of a machine, claimed exactly once.
-- for update skip locked: concurrent controllers never wait on each other and never both get
-- the same row; the claim is one statement, so there is no read-then-write window.

create function public.claim_next_command(machine_id uuid, claimed_by text default null)
returns setof public.recipe_commands
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if claim_next_command.machine_id is null then
    raise exception using errcode = '22004', message = 'machine_id is required';
  end if;
  if not exists (select 1 from public.machines m where m.id = claim_next_command.machine_id) then
    perform private.raise_error('P0002',
      'machine not found',
      format('no machine %s', claim_next_command.machine_id));
  end if;
  if not private.has_machine_role(claim_next_command.machine_id, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('claiming commands needs the operator role on machine %s', claim_next_command.machine_id);
  end if;
  return query
    update public.recipe_commands c
    set status = 'claimed',
        claimed_at = now(),
        claimed_by = coalesce(left(claim_next_command.claimed_by, 200), private.change_role())
    where c.id = (
      select q.id from public.recipe_commands q
      where q.machine_id = claim_next_command.machine_id and q.status = 'pending'
      order by q.created_at, q.id
      limit 1
      for update skip locked)
    returning c.*;
end;
$$;
comment on function public.claim_next_command(uuid, text) is
  'Claims the oldest pending command of the machine exactly once (for update skip locked) and returns it; returns no row when none is pending. Errors: 22004 null machine_id, P0002 unknown machine, 42501 caller may not operate it.';
revoke execute on function public.claim_next_command(uuid, text) from public, anon;
grant execute on function public.claim_next_command(uuid, text) to authenticated, service_role;
