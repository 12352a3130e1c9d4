-- The previous record_process_data, recording into the previous layout bench_old.process_data_points
-- (one row per process, parameter and tick; bench/bytes-per-reading.sql creates both): the body
-- the first migrations gave public.record_process_data, before it stored its ticks in
-- public.readings through private.store_ticks (20261126001200_record_process_data.sql today).
-- Loaded by bench/bytes-per-reading.ts, which compares the two layouts side by side.

create function bench_old.record_process_data(
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
    perform private.raise_error('P0002',
      'process not found',
      format('no process execution %s', record_process_data.process_id));
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

  -- Rows go in key order: two calls carrying some of the same rows (a retry overlapping its first
  -- attempt, controllers sending one backlog in different orders) then wait for each other on the
  -- first shared key instead of each holding a key the other needs (a deadlock, 40P01). Of rows
  -- repeated within one call, the first one sent is kept, as before.
  insert into bench_old.process_data_points as d (process_id, parameter_id, ts, value, set_point)
  select pe.id, r.parameter_id,
         case when timestamps is null then now()
              when cardinality(timestamps) = 1 then timestamps[1]
              else r.ts end,
         r.value, r.set_point
  from unnest(parameter_ids, "values", set_points, timestamps) with ordinality as r(parameter_id, value, set_point, ts, position)
  where r.parameter_id is not null
  order by 2, 3, r.position
  on conflict do nothing;
  get diagnostics inserted = row_count;

  return inserted;
end;
$$;
