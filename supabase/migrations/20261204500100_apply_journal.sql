-- A controller's journal drained in one round trip: a list of idempotent calls (steps, recording
-- ticks, setpoint acks, run-control commands, the end of a run), applied in order in one
-- transaction, each in its own subtransaction, with one outcome per call. The SDK's journal
-- (src/sdk/journal.ts) sends its backlog through here, so a controller that was offline for a
-- minute catches up in a few calls instead of one per step.
--
-- calls        jsonb array, in journal order, of {"kind": <rpc name>, "args": {<its arguments>}}.
--              Kinds and their args:
--                advance_step           {process_id, step_id, step_index, loop_iteration?, previous_status?,
--                                        details?, error_message?, at?}
--                complete_process       {process_id, status?, error_message?, at?}
--                apply_run_command      {command_id, at?}: a stop, pause or resume the controller applied
--                                        between two steps, in journal order after the steps before it
--                at (ISO 8601) is when the controller made the call, on the clock of its tick times:
--                the step, pause or end is stamped with it, not with the drain's now() (absent: now(),
--                as entries journaled by an older SDK)
--                ack_setpoint_requests  {machine_id, request_ids: [uuid], ok: [bool], applied_values?: [number|null],
--                                        errors?: [text|null]}
--                record_process_data    {process_id, from, to}: a slice (1-based, inclusive) of the four row
--                                        arrays below, so ticks travel as typed arrays exactly as the
--                                        recorder sends them (no per-row jsonb parsing)
--                record_readings        {machine_id, from, to, ids, ts, process_id?}: whole ticks of a
--                                        machine in record_readings' rectangular form: ids (the
--                                        parameters, once) and ts (one time per tick) in args, the
--                                        values tick by tick in rows from..to of the values (and
--                                        set_points) arrays, (to - from + 1) = |ids| x |ts| (22023
--                                        otherwise); the parameter_ids and timestamps of those rows
--                                        are not read (send nulls): a tick's ids and time travel once.
-- returns      jsonb array of outcomes, one per call attempted, in order:
--                {"ok": true, "result": <the RPC's reply>}   (ack_setpoint_requests: its rows as a jsonb array)
--                {"ok": false, "code": <sqlstate>, "message", "detail", "hint"}   refused for good
--              When a call fails transiently (deadlock, lock timeout, statement timeout, resources,
--              serialization), its outcome has "transient": true and the calls after it are not
--              attempted (the array is shorter), so the order is kept: the caller resends from there.
-- Idempotency: every kind is idempotent (advance_step by (process, step_index), record_process_data
--              and record_readings by (machine, tick time), complete_process by status,
--              ack_setpoint_requests by an identical outcome (replayed), apply_run_command by the
--              command (replayed once applied)). A resent advance_step whose step is no longer the
--              open one (the batch went through, the reply was lost, and later steps followed) is
--              answered {"ok": true, "replayed": true} when step_executions holds that step_index for
--              that step_id, rather than 23505.
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
  np integer;
  rows_n integer;
  state text;
  msg text;
  det text;
  hnt text;
  pgrst jsonb;
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
              error_message => a ->> 'error_message',
              at => (a ->> 'at')::timestamptz);
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
            error_message => a ->> 'error_message',
            at => (a ->> 'at')::timestamptz);
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
        when 'record_readings' then
          -- Whole ticks in record_readings' own rectangular form: the parameters once and one time
          -- per tick in args, the values tick by tick as a slice of the values (and set_points) row
          -- arrays; the slice's parameter_ids and timestamps rows are not read (the SDK sends nulls).
          slice_from := (a ->> 'from')::integer;
          slice_to := (a ->> 'to')::integer;
          if jsonb_typeof(a -> 'ids') is distinct from 'array' or jsonb_typeof(a -> 'ts') is distinct from 'array' then
            raise exception using errcode = '22023', message = 'record_readings needs ids and ts arrays',
              detail = format('call %s: args %s', i, left(a::text, 200)),
              hint = 'args: {machine_id, from, to, ids: [the parameters, once], ts: [one time per tick]}';
          end if;
          np := jsonb_array_length(a -> 'ids');
          rows_n := slice_to - slice_from + 1;
          if slice_from is null or slice_to is null or slice_from < 1 or slice_to < slice_from
             or slice_to > coalesce(cardinality(apply_journal."values"), 0) or np < 1
             or rows_n <> np * jsonb_array_length(a -> 'ts') then
            raise exception using errcode = '22023', message = 'record_readings slice out of range',
              detail = format('call %s: rows %s..%s of %s for %s parameters x %s ticks', i, a ->> 'from', a ->> 'to',
                coalesce(cardinality(apply_journal."values"), 0), np, jsonb_array_length(a -> 'ts'));
          end if;
          result := to_jsonb(public.record_readings(
            machine_id => (a ->> 'machine_id')::uuid,
            parameter_ids => array(select x::uuid from jsonb_array_elements_text(a -> 'ids') with ordinality as t(x, o) order by o),
            "values" => apply_journal."values"[slice_from:slice_to],
            timestamps => array(select x::timestamptz from jsonb_array_elements_text(a -> 'ts') with ordinality as t(x, o) order by o),
            -- a slice without any set point is sent as none (as the recorder sends such ticks)
            set_points => case when exists (select 1 from unnest(apply_journal.set_points[slice_from:slice_to]) x where x is not null)
                               then apply_journal.set_points[slice_from:slice_to] end,
            process_id => (a ->> 'process_id')::uuid));
        when 'ack_setpoint_requests' then
          select coalesce(jsonb_agg(jsonb_build_object('request_id', r.request_id, 'parameter_id', r.parameter_id,
                   'status', r.status, 'replayed', r.replayed) order by r.ord), '[]'::jsonb) into result
          from public.ack_setpoint_requests(
            machine_id => (a ->> 'machine_id')::uuid,
            request_ids => array(select x::uuid from jsonb_array_elements_text(a -> 'request_ids') with ordinality as t(x, o) order by o),
            ok => array(select x::boolean from jsonb_array_elements_text(a -> 'ok') with ordinality as t(x, o) order by o),
            applied_values => case when jsonb_typeof(a -> 'applied_values') = 'array' then
              array(select case when jsonb_typeof(x) = 'null' then null else (x #>> '{}')::double precision end
                    from jsonb_array_elements(a -> 'applied_values') with ordinality as t(x, o) order by o) end,
            errors => case when jsonb_typeof(a -> 'errors') = 'array' then
              array(select x #>> '{}' from jsonb_array_elements(a -> 'errors') with ordinality as t(x, o) order by o) end)
            with ordinality as r(request_id, parameter_id, status, replayed, ord);
        when 'apply_run_command' then
          result := public.apply_run_command(command_id => (a ->> 'command_id')::uuid, at => (a ->> 'at')::timestamptz);
        else
          raise exception using errcode = '22023', message = 'unknown journal call kind',
            detail = format('call %s: kind %s', i, coalesce(kind, 'null')),
            hint = 'kinds: advance_step, complete_process, apply_run_command, ack_setpoint_requests, record_process_data, record_readings';
      end case;
      outcomes := outcomes || jsonb_build_array(jsonb_build_object('ok', true, 'result', result));
    exception when others then
      get stacked diagnostics state = returned_sqlstate, msg = message_text, det = pg_exception_detail, hnt = pg_exception_hint;
      -- Inside a PostgREST request private.raise_error raises PostgREST's 'PGRST' form, the SQLSTATE
      -- in the JSON of its message: the outcome carries the SQLSTATE, as it does for a direct caller.
      if state = 'PGRST' then
        begin
          pgrst := msg::jsonb;
          state := coalesce(pgrst ->> 'code', state);
          msg := coalesce(pgrst ->> 'message', msg);
          det := coalesce(pgrst ->> 'details', '');
          hnt := coalesce(pgrst ->> 'hint', '');
        exception when others then
          null; -- not the JSON raise_error writes: keep what was raised
        end;
      end if;
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
  'Applies a controller journal''s backlog in one round trip: calls is a jsonb array of {kind, args} (advance_step, complete_process, apply_run_command, ack_setpoint_requests, record_process_data whose args name a 1-based slice {from, to} of the row arrays, and record_readings whose args carry the ticks'' parameters and times and name the slice of their values), applied in order, each in its own subtransaction, through the RPCs themselves with the caller''s rights (security invoker); the args of advance_step, complete_process and apply_run_command may carry at, the controller''s time of the call, passed on to the RPC. Returns one outcome per attempted call: {ok: true, result} or {ok: false, code, message, detail, hint, transient}; after a transient failure the rest is not attempted. A resent advance_step already applied is answered replayed; an identical resent ack and an applied run command replay. Errors raised for the whole call: 22004 (calls null), 22023 (calls not an array, more than 10000 calls, unequal row arrays), 42501 (the caller may not operate a machine named by a call).';
revoke execute on function public.apply_journal(jsonb, uuid[], double precision[], timestamptz[], double precision[]) from public, anon;
grant execute on function public.apply_journal(jsonb, uuid[], double precision[], timestamptz[], double precision[]) to authenticated, service_role;
