-- The controller's queue: the oldest pending command of a machine, claimed exactly once.
-- for update skip locked: concurrent controllers never wait on each other and never both get
-- the same row; the claim is one statement, so there is no read-then-write window.
--
-- A claim key (issue 13): a claim whose reply was lost can be retried with the same claim_key and
-- returns the same command, never a second one; a call without claim_key claims the next command.
-- The claim is also the controller's heartbeat (private.note_controller_seen,
-- 20261204300100_run_control_schema.sql), stamps the claiming registered controller and counts the
-- attempt (a claim lost with its controller is re-queued while attempts < 3).

create function public.claim_next_command(machine_id uuid, claimed_by text default null, claim_key uuid default null)
returns setof public.recipe_commands
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  earlier public.recipe_commands;
begin
  if claim_next_command.machine_id is null then
    raise exception using errcode = '22004', message = 'machine_id is required';
  end if;
  if not exists (select 1 from public.machines m where m.id = claim_next_command.machine_id) then
    perform private.raise_error('P0002', 'machine not found', format('no machine %s', claim_next_command.machine_id));
  end if;
  if not private.has_machine_role(claim_next_command.machine_id, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('claiming commands needs the operator role on machine %s', claim_next_command.machine_id);
  end if;

  -- The controller is alive: polling for commands is its heartbeat (no extra round trip).
  perform private.note_controller_seen(claim_next_command.machine_id);

  if claim_next_command.claim_key is not null then
    -- Two overlapping attempts with one key queue here, so the second finds what the first claimed.
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(claim_next_command.claim_key::text, 13));
    select * into earlier from public.recipe_commands c where c.claim_key = claim_next_command.claim_key;
    if found then
      if earlier.machine_id <> claim_next_command.machine_id then
        raise exception using errcode = '23505', message = 'claim_key was used for another machine',
          detail = format('claim_key %s claimed command %s of machine %s', claim_next_command.claim_key, earlier.id, earlier.machine_id),
          hint = 'use a new claim_key for every claim; reuse it only to retry that same claim';
      end if;
      return next earlier;
      return;
    end if;
  end if;

  return query
    update public.recipe_commands c
    set status = 'claimed',
        claimed_at = now(),
        claimed_by = coalesce(left(claim_next_command.claimed_by, 200), private.change_role()),
        claim_key = claim_next_command.claim_key,
        attempts = c.attempts + 1,
        controller_id = (select k.id from public.controllers k
                         where k.machine_id = claim_next_command.machine_id and k.status = 'alive')
    where c.id = (
      select q.id from public.recipe_commands q
      where q.machine_id = claim_next_command.machine_id and q.status = 'pending'
      order by q.created_at, q.id
      limit 1
      for update skip locked)
    returning c.*;
end;
$$;
comment on function public.claim_next_command(uuid, text, uuid) is
  'Claims the oldest pending command of the machine exactly once (for update skip locked) and returns it; returns no row when none is pending. With claim_key, a retry of a claim whose reply was lost returns the command that key claimed (whatever its status now), never a second one. Also the controller''s heartbeat. Errors: 22004 null machine_id, P0002 unknown machine, 42501 caller may not operate it, 23505 claim_key already used on another machine.';
revoke execute on function public.claim_next_command(uuid, text, uuid) from public, anon;
grant execute on function public.claim_next_command(uuid, text, uuid) to authenticated, service_role;
