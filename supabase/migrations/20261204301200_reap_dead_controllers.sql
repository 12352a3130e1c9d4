-- The dead-controller job. A controller silent for longer than its timeout_ms (default 30 s) is
-- declared dead; its machine's open run is failed with "controller lost", the machine set to error
-- with the reason (offline, with the reason, when it had no run), and the commands it had claimed
-- go back to pending (failed after 3 claims). Commands claimed more than stale_claim_after ago
-- (default 10 minutes) on a machine without a live controller (an unregistered claimer that went
-- away) are re-queued the same way. A plain function: pg_cron runs it every 10 seconds
-- where the extension can be created (below), and anything else (a test, a cron outside the
-- database, the controller of another machine) can run it too.

create function private.reap_dead_controllers(as_of timestamptz default now(), stale_claim_after interval default interval '10 minutes')
returns jsonb
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  k public.controllers;
  run public.process_executions;
  reason text;
  dead integer := 0;
  runs_failed integer := 0;
  requeued integer := 0;
  failed integer := 0;
  n integer;
begin
  for k in
    select * from public.controllers c
    where c.status = 'alive' and c.last_seen_at + c.timeout_ms * interval '1 millisecond' < as_of
    order by c.last_seen_at
    for update skip locked
  loop
    reason := format('controller lost: controller %s on %s silent since %s (timeout %s ms)',
                     k.id, coalesce(k.host, 'an unknown host'), k.last_seen_at, k.timeout_ms);
    update public.controllers c set status = 'dead', ended_at = greatest(now(), c.started_at), ended_reason = reason
    where c.id = k.id;
    dead := dead + 1;

    -- Locks in the order every run-control call takes them: controller, run, machine.
    select * into run from public.process_executions e
    where e.machine_id = k.machine_id and e.status in ('running', 'paused') for update;
    perform 1 from public.machines m where m.id = k.machine_id for update;
    if run.id is not null then
      perform private.end_process(run.id, 'failed', 'controller lost', 'error', reason);
      runs_failed := runs_failed + 1;
    else
      update public.machines m set status = 'offline', status_reason = reason
      where m.id = k.machine_id and m.status = 'idle';
    end if;

    -- Its claims: back to the queue for the next controller, or failed after the third claim.
    update public.recipe_commands c set status = 'pending'
    where c.machine_id = k.machine_id and c.status = 'claimed' and c.attempts < 3
      and c.controller_id = k.id;
    get diagnostics n = row_count;
    requeued := requeued + n;
    update public.recipe_commands c set status = 'failed', error_message = format('claimed %s times, %s', c.attempts, reason)
    where c.machine_id = k.machine_id and c.status in ('claimed', 'executing')
      and c.controller_id = k.id;
    get diagnostics n = row_count;
    failed := failed + n;
  end loop;

  -- Claims nobody alive answers for: claimed longer than stale_claim_after ago on a machine without
  -- a live controller (its claimer never registered, or is gone). Back to the queue, or failed
  -- after the third claim; an executing command is its run's, which complete_process ends.
  if stale_claim_after is not null then
    update public.recipe_commands c set status = 'pending'
    where c.status = 'claimed' and c.claimed_at < as_of - stale_claim_after and c.attempts < 3
      and not exists (select 1 from public.controllers live where live.machine_id = c.machine_id and live.status = 'alive');
    get diagnostics n = row_count;
    requeued := requeued + n;
    update public.recipe_commands c
    set status = 'failed', error_message = format('claimed %s times and never confirmed', c.attempts)
    where c.status = 'claimed' and c.claimed_at < as_of - stale_claim_after
      and not exists (select 1 from public.controllers live where live.machine_id = c.machine_id and live.status = 'alive');
    get diagnostics n = row_count;
    failed := failed + n;
  end if;
  return jsonb_build_object('controllers_dead', dead, 'runs_failed', runs_failed,
                            'commands_requeued', requeued, 'commands_failed', failed);
end;
$$;
comment on function private.reap_dead_controllers(timestamptz, interval) is
  'The dead-controller job: declares dead every alive controller silent past its timeout_ms at as_of (default now), fails its machine''s open run with "controller lost" (machine error, with the reason in status_reason; offline when it had no run), re-queues its claimed commands (failed after 3 claims); also re-queues (or fails, after 3 claims) commands claimed longer than stale_claim_after (default 10 minutes, null: never) ago on a machine without a live controller; returns counts as jsonb {controllers_dead, runs_failed, commands_requeued, commands_failed}. Scheduled by pg_cron every 10 s where available.';
revoke execute on function private.reap_dead_controllers(timestamptz, interval) from public, anon, authenticated;
grant execute on function private.reap_dead_controllers(timestamptz, interval) to service_role;

-- Schedule it where pg_cron can be created (the database named in cron.database_name; on Supabase
-- the project database). Elsewhere (a test database on a server whose pg_cron serves another
-- database) nothing is scheduled here: run private.reap_dead_controllers() from any scheduler, or
-- from the cron database with cron.schedule_in_database.
do $$
begin
  if not exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_cron') then
    raise notice 'pg_cron is not available: schedule private.reap_dead_controllers() elsewhere';
    return;
  end if;
  begin
    create extension if not exists pg_cron;
  exception when others then
    raise notice 'pg_cron cannot be created in this database (%): schedule private.reap_dead_controllers() elsewhere', sqlerrm;
    return;
  end;
  begin
    -- seconds need pg_cron 1.5; 1.4 falls back to once a minute
    perform cron.schedule('ald-reap-dead-controllers', '10 seconds', 'select private.reap_dead_controllers()');
  exception when others then
    perform cron.schedule('ald-reap-dead-controllers', '* * * * *', 'select private.reap_dead_controllers()');
  end;
end $$;
