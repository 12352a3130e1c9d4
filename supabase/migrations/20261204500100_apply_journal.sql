-- A controller's journal drained in one round trip: a list of idempotent calls (steps, recording
-- ticks, the end of a run), applied in order in one transaction, each in its own subtransaction,
-- with one outcome per call. The SDK's journal (src/sdk/journal.ts) sends its backlog through here,
-- so a controller that was offline for a minute catches up in a few calls instead of one per step.
--
-- calls        jsonb array, in journal order, of {"kind": <rpc name>, "args": {<its arguments>}}.
--              Kinds: advance_step, complete_process, record_process_data. A record_process_data
--              call carries no arrays: its args name the process and a slice {"from", "to"} (1-based,
--              inclusive) of the four row arrays below, so ticks travel as typed arrays exactly as
--              the recorder sends them (no per-row jsonb parsing).
-- returns      jsonb array of outcomes, one per call attempted, in order:
--                {"ok": true, "result": <the RPC's reply>}
--                {"ok": false, "code": <sqlstate>, "message", "detail", "hint"}   refused for good
--              When a call fails transiently (deadlock, lock timeout, statement timeout, resources,
--              serialization), its outcome has "transient": true and the calls after it are not
--              attempted (the array is shorter), so the order is kept: the caller resends from there.
-- Idempotency: every kind is idempotent (advance_step by (process, step_index), record_process_data
--              by (machine, tick time), complete_process by status). A resent advance_step whose
--              step is no longer the open one (the batch went through, the reply was lost, and later
--              steps followed) is answered {"ok": true, "replayed": true} when step_executions holds
--              that step_index for that step_id, rather than 23505.
-- Privileges:  security invoker: every call runs with the caller's rights, through the RPC's own
--              checks. 42501 (not allowed) is raised for the whole call, never turned into an
--              outcome: a controller without the right keeps its journal and retries.
create function public.apply_journal(
  calls jsonb,
  parameter_ids uuid[] default null,
  "values" double precision[] default null,
  timestamps timestamptz[] default null,
  set_points double precision[] default null
) returns jsonb
language plpgsql
volatile
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
  c jsonb;
  a jsonb;
  kind text;
  result jsonb;
  outcomes jsonb := '[]'::jsonb;
  n integer;
  i integer := 0;
  slice_from integer;
  slice_to integer;
  state text;
  msg text;
  det text;
  hnt text;
begin
  if apply_journal.calls is null then
    raise exception using errcode = '22004', message = 'calls is required';
  end if;
  if jsonb_typeof(apply_journal.calls) <> 'array' then
    raise exception using errcode = '22023', message = 'calls must be a JSON array',
      detail = format('got a JSON %s', jsonb_typeof(apply_journal.calls));
  end if;
  n := jsonb_array_length(apply_journal.calls);
  if n > 10000 then
    raise exception using errcode = '22023', message = 'too many calls',
      detail = format('%s calls, at most 10000 per batch', n), hint = 'send the journal in several batches';
  end if;
  if coalesce(cardinality(apply_journal.parameter_ids), 0) <> coalesce(cardinality(apply_journal."values"), 0)
     or coalesce(cardinality(apply_journal.parameter_ids), 0) <> coalesce(cardinality(apply_journal.timestamps), 0)
     or (apply_journal.set_points is not null and cardinality(apply_journal.set_points) <> coalesce(cardinality(apply_journal.parameter_ids), 0)) then
    raise exception using errcode = '22023', message = 'row arrays must have equal lengths',
      detail = format('parameter_ids %s, values %s, timestamps %s, set_points %s',
        coalesce(cardinality(apply_journal.parameter_ids), 0), coalesce(cardinality(apply_journal."values"), 0),
        coalesce(cardinality(apply_journal.timestamps), 0), coalesce(cardinality(apply_journal.set_points)::text, 'null'));
  end if;

  for c in select x.value from jsonb_array_elements(apply_journal.calls) with ordinality as x(value, ord) order by x.ord loop
    i := i + 1;
    kind := c ->> 'kind';
    a := c -> 'args';
    begin
      if jsonb_typeof(a) is distinct from 'object' then
        raise exception using errcode = '22023', message = 'a call must be {kind, args} with args an object',
          detail = format('call %s: %s', i, left(c::text, 200));
      end if;
      case kind
        when 'advance_step' then
          begin
            result := public.advance_step(
              process_id => (a ->> 'process_id')::uuid,
              step_id => (a ->> 'step_id')::uuid,
              step_index => (a ->> 'step_index')::integer,
              loop_iteration => (a ->> 'loop_iteration')::integer,
              previous_status => coalesce((a ->> 'previous_status')::public.step_execution_status, 'completed'),
              details => a -> 'details',
              error_message => a ->> 'error_message');
          exception when unique_violation then
            -- Applied by an earlier attempt of this batch whose reply was lost; later steps followed.
            if exists (select 1 from public.step_executions x
                       where x.process_id = (a ->> 'process_id')::uuid
                         and x.step_index = (a ->> 'step_index')::integer
                         and x.step_id = (a ->> 'step_id')::uuid) then
              result := jsonb_build_object('replayed', true, 'step_index', (a ->> 'step_index')::integer);
            else
              raise;
            end if;
          end;
        when 'complete_process' then
          result := public.complete_process(
            process_id => (a ->> 'process_id')::uuid,
            status => coalesce((a ->> 'status')::public.execution_status, 'completed'),
            error_message => a ->> 'error_message');
        when 'record_process_data' then
          slice_from := (a ->> 'from')::integer;
          slice_to := (a ->> 'to')::integer;
          if slice_from is null or slice_to is null or slice_from < 1 or slice_to < slice_from
             or slice_to > coalesce(cardinality(apply_journal.parameter_ids), 0) then
            raise exception using errcode = '22023', message = 'record_process_data slice out of range',
              detail = format('call %s: rows %s..%s of %s', i, a ->> 'from', a ->> 'to', coalesce(cardinality(apply_journal.parameter_ids), 0));
          end if;
          result := to_jsonb(public.record_process_data(
            process_id => (a ->> 'process_id')::uuid,
            parameter_ids => apply_journal.parameter_ids[slice_from:slice_to],
            "values" => apply_journal."values"[slice_from:slice_to],
            timestamps => apply_journal.timestamps[slice_from:slice_to],
            set_points => apply_journal.set_points[slice_from:slice_to]));
        else
          raise exception using errcode = '22023', message = 'unknown journal call kind',
            detail = format('call %s: kind %s', i, coalesce(kind, 'null')),
            hint = 'kinds: advance_step, complete_process, record_process_data';
      end case;
      outcomes := outcomes || jsonb_build_array(jsonb_build_object('ok', true, 'result', result));
    exception when others then
      get stacked diagnostics state = returned_sqlstate, msg = message_text, det = pg_exception_detail, hnt = pg_exception_hint;
      if state = '42501' then
        raise;
      end if;
      outcomes := outcomes || jsonb_build_array(jsonb_build_object(
        'ok', false, 'code', state, 'message', msg, 'detail', nullif(det, ''), 'hint', nullif(hnt, ''),
        'transient', (state like '40%' or state like '53%' or state like '57%' or state like '58%' or state = '55P03')));
      exit when state like '40%' or state like '53%' or state like '57%' or state like '58%' or state = '55P03';
    end;
  end loop;
  return outcomes;
end;
$$;
comment on function public.apply_journal(jsonb, uuid[], double precision[], timestamptz[], double precision[]) is
  'Applies a controller journal''s backlog in one round trip: calls is a jsonb array of {kind, args} (advance_step, complete_process, record_process_data whose args name a 1-based slice {from, to} of the row arrays), applied in order, each in its own subtransaction, through the RPCs themselves with the caller''s rights (security invoker). Returns one outcome per attempted call: {ok: true, result} or {ok: false, code, message, detail, hint, transient}; after a transient failure the rest is not attempted. A resent advance_step already applied is answered replayed. Errors raised for the whole call: 22004 (calls null), 22023 (calls not an array, more than 10000 calls, unequal row arrays), 42501 (the caller may not operate a machine named by a call).';
revoke execute on function public.apply_journal(jsonb, uuid[], double precision[], timestamptz[], double precision[]) from public, anon;
grant execute on function public.apply_journal(jsonb, uuid[], double precision[], timestamptz[], double precision[]) to authenticated, service_role;
