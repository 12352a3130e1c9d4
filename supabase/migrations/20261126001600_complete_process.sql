-- Ending a run in one round trip: closes the open step, ends the execution, frees the machine and
-- completes the command. Idempotent: completing an execution again with the same status replies
-- with its summary. The call is also the controller's heartbeat, a paused run can be completed
-- (stopped), and the ending itself is private.end_process (20261204300100_run_control_schema.sql),
-- shared with a stop command and the dead-controller job (issue 13).
-- A journaled end (issue 16) carries the controller's time, `at`: the run ends when the controller
-- ended it, not when its journal drained.

create function private.process_summary(process_id uuid, replayed boolean)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object(
    'process_id', e.id,
    'machine_id', e.machine_id,
    'command_id', e.command_id,
    'status', e.status,
    'started_at', e.started_at,
    'ended_at', e.ended_at,
    'duration_ms', round(extract(epoch from (e.ended_at - e.started_at)) * 1000),
    'completed_steps', st.completed_steps,
    'total_steps', st.total_steps,
    'progress_percent', st.progress_percent,
    'error_message', e.error_message,
    'replayed', replayed)
  from public.process_executions e
  join public.process_execution_state st on st.process_id = e.id
  where e.id = process_summary.process_id;
$$;
comment on function private.process_summary(uuid, boolean) is 'The jsonb reply of complete_process.';

create function public.complete_process(
  process_id uuid,
  status public.execution_status default 'completed',
  error_message text default null,
  at timestamptz default null
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  pe public.process_executions;
  t timestamptz;
begin
  if complete_process.process_id is null then
    raise exception using errcode = '22004', message = 'process_id is required';
  end if;
  if complete_process.status is null or complete_process.status in ('running', 'paused') then
    raise exception using errcode = '22023', message = 'status must be completed, failed or aborted',
      detail = format('got %s', coalesce(complete_process.status::text, 'null'));
  end if;
  t := private.controller_time(complete_process.at);

  pe := private.lock_process_to_operate(complete_process.process_id, 'completing');
  -- The controller is alive: this call is its heartbeat (no extra round trip).
  perform private.note_controller_seen(pe.machine_id);
  if pe.status not in ('running', 'paused') then
    if pe.status = complete_process.status then
      return private.process_summary(pe.id, true);
    end if;
    perform private.raise_error('55000',
      'process has already ended',
      format('process %s ended as %s', pe.id, pe.status));
  end if;

  -- Closes the open step, ends the execution, frees the machine (idle) and finishes its command;
  -- the step and the run end at t (never before the open step or the run began: private.run_time).
  perform private.end_process(pe.id, complete_process.status, complete_process.error_message, p_at => t);

  return private.process_summary(pe.id, false);
end;
$$;
comment on function public.complete_process(uuid, public.execution_status, text, timestamptz) is
  'Ends a run in one round trip: closes the open step (completed, or aborted when the run did not complete), sets the execution''s status and ended_at, frees the machine (idle) and completes or fails its command; returns a summary (jsonb). A paused run may be completed too (a stop while paused). at (default null: now()) is when the controller ended it, on its clock: the open step''s and the run''s ended_at; checked like a tick time (private.controller_time: the window of private.telemetry_settings, finite, else 22023) and taken as greatest(at, the open step''s started_at or the run''s started_at) so that clock skew never ends a step or the run before it began. Completing again with the same status replies with replayed=true (at ignored). A failed command always carries a reason (the given error_message, or "process <id> ended <status>"). Errors: 22004, 22023 (status running or null; at not finite or outside the tick time window), P0002, 42501, 55000 (already ended with another status).';
revoke execute on function public.complete_process(uuid, public.execution_status, text, timestamptz) from public, anon;
grant execute on function public.complete_process(uuid, public.execution_status, text, timestamptz) to authenticated, service_role;

-- Closed by default: nothing in private is executable by PUBLIC; these run only inside the
-- definer RPCs and triggers (as their owner).
revoke execute on function
  private.process_summary(uuid, boolean)
from public;
