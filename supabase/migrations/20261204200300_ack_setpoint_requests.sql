-- The controller's side of the setpoint queue, part 2: the outcome of many PLC writes in one round trip.
--
-- For each request: ok = true records it applied and moves the parameter's applied_value (the value
-- the PLC confirmed: applied_values[i], or the requested value when that is null), applied_at and
-- applied_version (the request's version); ok = false records it failed with errors[i] and leaves
-- applied_* as they were. All or nothing: one bad element refuses the whole call and changes nothing.
--
-- Idempotent under retry: acking a request again with the same outcome (same ok, same value, same
-- error) changes nothing and says so (replayed = true). A request whose claim timed out can still be
-- acked by the controller that wrote it, until it is acked once; a request superseded after its claim
-- timed out keeps status superseded, but an ok ack still records what the PLC holds.
-- applied_version never moves back: an ok ack of a request older than the applied one records the
-- outcome on the request only.
--
-- Errors (stable):
--   22004  machine_id or request_ids null
--   22023  multi-dimensional arrays, arrays of unequal length, more than 10000 ids, a null id or ok, an id twice, a
--          non-finite applied value, a request of another machine ('request of another machine')
--   P0002  unknown machine or unknown request id
--   42501  the caller may not operate the machine
--   55000  a request that was never claimed (pending), or superseded before it was claimed
--   23505  a request already acked with another outcome (acked twice)

create function public.ack_setpoint_requests(
  machine_id uuid,
  request_ids uuid[],
  ok boolean[],
  applied_values double precision[] default null,
  errors text[] default null
) returns table (request_id uuid, parameter_id uuid, status public.setpoint_request_status, replayed boolean)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
  m uuid := ack_setpoint_requests.machine_id;
  n integer := coalesce(cardinality(ack_setpoint_requests.request_ids), 0);
  a record;
  r public.setpoint_requests;
  v double precision;
  e text;
  same boolean;
begin
  if m is null then
    raise exception using errcode = '22004', message = 'machine_id is required';
  end if;
  if ack_setpoint_requests.request_ids is null then
    raise exception using errcode = '22004', message = 'request_ids is required';
  end if;
  if coalesce(array_ndims(ack_setpoint_requests.request_ids), 1) > 1 or coalesce(array_ndims(ack_setpoint_requests.ok), 1) > 1
     or coalesce(array_ndims(ack_setpoint_requests.applied_values), 1) > 1 or coalesce(array_ndims(ack_setpoint_requests.errors), 1) > 1 then
    raise exception using errcode = '22023', message = 'arrays must be one-dimensional',
      detail = format('dimensions: request_ids %s, ok %s, applied_values %s, errors %s',
        coalesce(array_ndims(ack_setpoint_requests.request_ids), 1), coalesce(array_ndims(ack_setpoint_requests.ok), 1),
        coalesce(array_ndims(ack_setpoint_requests.applied_values), 1), coalesce(array_ndims(ack_setpoint_requests.errors), 1));
  end if;
  if n > 10000 then
    raise exception using errcode = '22023', message = 'too many request ids',
      detail = format('got %s, the limit is 10000', n), hint = 'split the outcomes into several calls';
  end if;
  if coalesce(cardinality(ack_setpoint_requests.ok), 0) <> n
     or (ack_setpoint_requests.applied_values is not null and cardinality(ack_setpoint_requests.applied_values) <> n)
     or (ack_setpoint_requests.errors is not null and cardinality(ack_setpoint_requests.errors) <> n) then
    raise exception using errcode = '22023', message = 'arrays of unequal length',
      detail = format('request_ids %s, ok %s, applied_values %s, errors %s', n,
        coalesce(cardinality(ack_setpoint_requests.ok), 0),
        coalesce(cardinality(ack_setpoint_requests.applied_values)::text, 'null'),
        coalesce(cardinality(ack_setpoint_requests.errors)::text, 'null')),
      hint = 'one ok (and applied value and error, when given) per request id';
  end if;
  if array_position(ack_setpoint_requests.request_ids, null) is not null
     or array_position(ack_setpoint_requests.ok, null) is not null then
    raise exception using errcode = '22023', message = 'request ids and ok must not contain null',
      detail = format('null at position %s', coalesce(array_position(ack_setpoint_requests.request_ids, null),
                                                      array_position(ack_setpoint_requests.ok, null)));
  end if;
  if (select count(distinct u) from unnest(ack_setpoint_requests.request_ids) u) <> n then
    raise exception using errcode = '22023', message = 'a request id appears twice',
      hint = 'ack each request once per call';
  end if;
  if exists (select 1 from unnest(ack_setpoint_requests.applied_values) x where x in ('NaN', 'Infinity', '-Infinity')) then
    raise exception using errcode = '22023', message = 'applied values must be finite numbers',
      detail = 'NaN or infinity among applied_values';
  end if;
  if not exists (select 1 from public.machines x where x.id = m) then
    perform private.raise_error('P0002', 'machine not found', format('no machine %s', m));
  end if;
  if not private.has_machine_role(m, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('acking setpoint requests needs the operator role on machine %s', m);
  end if;

  perform pg_catalog.set_config('ald.applying', 'on', true);
  -- In creation order, so that of two requests of one parameter the newer one is applied last.
  for a in
    select t.id, t.ok, t.v, t.e, t.i
    from unnest(ack_setpoint_requests.request_ids, ack_setpoint_requests.ok,
                coalesce(ack_setpoint_requests.applied_values, array_fill(null::double precision, array[n])),
                coalesce(ack_setpoint_requests.errors, array_fill(null::text, array[n])))
         with ordinality as t (id, ok, v, e, i)
    left join public.setpoint_requests q on q.id = t.id
    order by q.created_at nulls first, t.i
  loop
    select * into r from public.setpoint_requests q where q.id = a.id for update;
    if not found then
      perform private.raise_error('P0002', 'setpoint request not found', format('no setpoint request %s', a.id));
    end if;
    if r.machine_id <> m then
      raise exception using errcode = '22023', message = 'request of another machine',
        detail = format('setpoint request %s belongs to machine %s, not %s', r.id, r.machine_id, m),
        hint = 'ack requests with the machine id they were claimed for';
    end if;
    v := case when a.ok then coalesce(a.v, r.value) end;
    e := case when a.ok then null else coalesce(nullif(left(a.e, 2000), ''), 'failed (no error message given)') end;
    if r.acked_at is not null then
      same := r.ack_ok = a.ok and r.ack_value is not distinct from v and r.error is not distinct from e;
      if not same then
        raise exception using errcode = '23505', message = 'setpoint request already acked',
          detail = format('request %s was acked %s at %s; this ack says %s', r.id,
            case when r.ack_ok then 'ok with ' || r.ack_value else 'failed: ' || r.error end, r.acked_at,
            case when a.ok then 'ok with ' || v else 'failed: ' || e end),
          hint = 'a request is acked once; an identical repeat is a no-op';
      end if;
      request_id := r.id; parameter_id := r.parameter_id; status := r.status; replayed := true;
      return next;
      continue;
    end if;
    if r.claimed_at is null then
      perform private.raise_error('55000', 'setpoint request was not claimed', format('request %s is %s and was never claimed', r.id, r.status), 'claim_setpoint_requests first; a superseded request must not be written');
    end if;

    update public.setpoint_requests q
    set acked_at = now(), ack_ok = a.ok, ack_value = v, error = e,
        applied_at = case when a.ok then now() end,
        status = case when q.status = 'superseded' then q.status when a.ok then 'applied' else 'failed' end
    where q.id = r.id
    returning * into r;

    if a.ok then
      update public.component_parameters p
      set applied_value = v, applied_at = now(), applied_version = r.version
      where p.id = r.parameter_id
        and (p.applied_version is null or p.applied_version <= r.version)
        and (p.applied_value, p.applied_version) is distinct from (v, r.version);
    end if;
    request_id := r.id; parameter_id := r.parameter_id; status := r.status; replayed := false;
    return next;
  end loop;
  perform pg_catalog.set_config('ald.applying', '', true);
end;
$$;
comment on function public.ack_setpoint_requests(uuid, uuid[], boolean[], double precision[], text[]) is
  'Records the outcome of many claimed setpoint requests in one round trip: ok moves the parameter''s applied_value/at/version (the PLC-confirmed value, applied_values[i] or the requested value), failed stores errors[i] and leaves them. All or nothing. An identical repeat is a no-op reported as replayed. Errors: 22004 null machine_id or request_ids; 22023 multi-dimensional or unequal arrays, null id or ok, duplicate id, non-finite value, more than 10000, request of another machine; P0002 unknown machine or request; 42501 caller may not operate the machine; 55000 request never claimed; 23505 request already acked with another outcome.';
revoke execute on function public.ack_setpoint_requests(uuid, uuid[], boolean[], double precision[], text[]) from public, anon;
grant execute on function public.ack_setpoint_requests(uuid, uuid[], boolean[], double precision[], text[]) to authenticated, service_role;
