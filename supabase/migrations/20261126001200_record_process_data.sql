-- Recording: a whole tick (or many buffered ticks) of PLC readings of a process in one round
-- trip, replacing 1 + N + ceil(P/50) requests: the process-scoped form of record_readings
-- (20261204400200_record_readings.sql). Its rows are stored by private.store_ticks, one row per
-- machine tick in public.readings (20261204400000_readings.sql), and the idempotency key is
-- (machine, tick time): a tick already recorded, by this call's process or by the machine-wide
-- recorder, is not stored again, and a retried call reports how many readings were new.
--
-- Error codes: 22004 null process_id; 22023 multi-dimensional arrays, arrays of unequal length,
-- null ids or timestamps, infinite timestamps or tick times outside private.telemetry_settings'
-- window, NaN/infinite values, more than 100000 rows, parameters not on the process's machine;
-- P0002 unknown process; 42501 caller may not operate the machine; 55000 process not running
-- (rows stamped at or before the end of a finished run are still accepted, so a buffered
-- backlog sent after complete_process is not lost).

create function public.record_process_data(
  process_id uuid,
  parameter_ids uuid[],
  "values" double precision[],
  timestamps timestamptz[] default null,
  set_points double precision[] default null
) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  n integer := coalesce(cardinality(parameter_ids), 0);
  pe record;
  latest timestamptz;
  unknown uuid;
  inserted integer;
  rect_pids uuid[];
  rect_ts timestamptz[];
  rect_counts bigint[];
  rect_vals double precision[];
  rect_sps double precision[];
begin
  if process_id is null then
    raise exception using errcode = '22004', message = 'process_id is required';
  end if;
  -- A 2-D array would reach array_position() (0A000) or be read by timestamps[1] as null.
  if coalesce(array_ndims(parameter_ids), 1) > 1 or coalesce(array_ndims("values"), 1) > 1
     or coalesce(array_ndims(timestamps), 1) > 1 or coalesce(array_ndims(set_points), 1) > 1 then
    raise exception using errcode = '22023', message = 'arrays must be one-dimensional',
      detail = format('dimensions: parameter_ids %s, values %s, timestamps %s, set_points %s',
        coalesce(array_ndims(parameter_ids), 1), coalesce(array_ndims("values"), 1),
        coalesce(array_ndims(timestamps), 1), coalesce(array_ndims(set_points), 1));
  end if;
  if n > 100000 then
    raise exception using errcode = '22023', message = 'too many rows in one call',
      detail = format('got %s, the limit is 100000', n), hint = 'send the backlog in several calls';
  end if;
  if coalesce(cardinality("values"), 0) <> n then
    raise exception using errcode = '22023', message = 'parameter_ids and values must have the same length',
      detail = format('parameter_ids has %s elements, values has %s', n, coalesce(cardinality("values"), 0));
  end if;
  if timestamps is not null and cardinality(timestamps) not in (1, n) then
    raise exception using errcode = '22023', message = 'timestamps must have one element or as many as parameter_ids',
      detail = format('parameter_ids has %s elements, timestamps has %s', n, cardinality(timestamps));
  end if;
  if set_points is not null and cardinality(set_points) <> n then
    raise exception using errcode = '22023', message = 'set_points must have as many elements as parameter_ids',
      detail = format('parameter_ids has %s elements, set_points has %s', n, cardinality(set_points));
  end if;
  if array_position(parameter_ids, null) is not null then
    raise exception using errcode = '22023', message = 'parameter_ids must not contain null',
      detail = format('null at position %s', array_position(parameter_ids, null));
  end if;
  if timestamps is not null and array_position(timestamps, null) is not null then
    raise exception using errcode = '22023', message = 'timestamps must not contain null',
      detail = format('null at position %s', array_position(timestamps, null));
  end if;
  -- A row at 'infinity' would be the latest reading of its parameter for ever after.
  if timestamps is not null and exists (select 1 from unnest(timestamps) t where not isfinite(t)) then
    raise exception using errcode = '22023', message = 'timestamps must be finite',
      detail = 'infinity and -infinity are not times at which the PLC was read';
  end if;
  if exists (select 1 from unnest("values") v where v in ('NaN', 'Infinity', '-Infinity'))
     or exists (select 1 from unnest(set_points) v where v in ('NaN', 'Infinity', '-Infinity')) then
    raise exception using errcode = '22023', message = 'values and set_points must be finite numbers or null',
      hint = 'send null for a reading the PLC could not provide';
  end if;

  select e.id, e.machine_id, e.status, e.ended_at into pe
  from public.process_executions e where e.id = record_process_data.process_id;
  if not found then
    perform private.raise_error('P0002', 'process not found', format('no process execution %s', record_process_data.process_id));
  end if;
  if not private.has_machine_role(pe.machine_id, 'operator') then
    raise exception using errcode = '42501', message = 'not allowed to operate this machine',
      detail = format('recording for process %s needs the operator role on machine %s', pe.id, pe.machine_id);
  end if;
  latest := coalesce((select max(t) from unnest(timestamps) t), now());
  if pe.status <> 'running' and latest > pe.ended_at then
    perform private.raise_error('55000',
      'process is not running',
      format('process %s is %s since %s; rows after that are refused', pe.id, pe.status, pe.ended_at));
  end if;

  select u.id into unknown
  from (select distinct x as id from unnest(parameter_ids) x) u
  where not exists (
    select 1 from public.component_parameters p where p.id = u.id and p.machine_id = pe.machine_id)
  limit 1;
  if unknown is not null then
    raise exception using errcode = '22023', message = 'parameter does not belong to the process''s machine',
      detail = format('parameter %s is not a parameter of machine %s', unknown, pe.machine_id);
  end if;

  if n = 0 then
    return 0;
  end if;

  -- The rows go to private.store_ticks as a rectangle: the call's distinct tick times by its
  -- distinct parameters (in order of first appearance), null where a row is missing. Of rows
  -- repeated within one call, the first one sent is kept, as before.
  with r as (
    select x.pid, x.v, x.sp, x.ord,
           case when timestamps is null then now() when cardinality(timestamps) = 1 then timestamps[1] else x.t end as t
    from unnest(parameter_ids, "values", set_points, timestamps) with ordinality as x(pid, v, sp, t, ord)
    where x.pid is not null
  ),
  d as (select distinct on (r.t, r.pid) r.t, r.pid, r.v, r.sp from r order by r.t, r.pid, r.ord),
  ps as (select r.pid, row_number() over (order by min(r.ord)) as pi from r group by r.pid),
  ts as (select d.t, row_number() over (order by d.t) as ti, count(*) as n from d group by d.t)
  select (select array_agg(ps.pid order by ps.pi) from ps),
         (select array_agg(ts.t order by ts.ti) from ts),
         (select array_agg(ts.n order by ts.ti) from ts),
         (select array_agg(d.v order by ts.ti, ps.pi) from ts cross join ps left join d on d.t = ts.t and d.pid = ps.pid),
         (select array_agg(d.sp order by ts.ti, ps.pi) from ts cross join ps left join d on d.t = ts.t and d.pid = ps.pid)
  into rect_pids, rect_ts, rect_counts, rect_vals, rect_sps;

  select coalesce(sum(c.n), 0) into inserted
  from unnest(rect_ts, rect_counts) as c(t, n)
  where c.t = any (array(select private.store_ticks(pe.machine_id, pe.id, rect_ts, rect_pids, rect_vals,
                                                    case when set_points is not null then rect_sps end)));
  return inserted;
end;
$$;
comment on function public.record_process_data(uuid, uuid[], double precision[], timestamptz[], double precision[]) is
  'Records readings of a process in one round trip (the process-scoped form of record_readings): parallel arrays parameter_ids/values (and optional set_points); timestamps null (now), one element (the whole call is one tick) or one per row (several buffered ticks). Idempotent on (machine, tick time): a tick already recorded is not stored again, even with other parameters, so send each tick whole. Returns the number of new readings. Errors: 22004, 22023 (multi-dimensional arrays, unequal lengths, nulls, infinite timestamps or outside the accepted window, non-finite values, foreign parameters, > 100000 rows), P0002, 42501, 55000 (process ended before the rows'' timestamps).';
revoke execute on function public.record_process_data(uuid, uuid[], double precision[], timestamptz[], double precision[]) from public, anon;
grant execute on function public.record_process_data(uuid, uuid[], double precision[], timestamptz[], double precision[]) to authenticated, service_role;
