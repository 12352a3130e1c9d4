-- Read RPCs: one round trip returns every parameter a controller or a cache needs.
-- security invoker: RLS decides what the caller sees. stable: PostgREST (and supabase-js with
-- { get: true }) may call them with GET.

create function public.get_component_parameters_bulk(component_ids uuid[], include_inactive boolean default false)
returns setof public.component_parameters
language plpgsql
stable
security invoker
set search_path = pg_catalog, pg_temp
as $$
begin
  if cardinality(component_ids) > 10000 then
    raise exception using errcode = '22023',
      message = 'too many component ids',
      detail = format('got %s, the limit is 10000', cardinality(component_ids)),
      hint = 'split the ids into several calls';
  end if;
  return query
    select p.*
    from public.component_parameters p
    where p.component_id = any (component_ids)
      and (coalesce(include_inactive, false) or (p.is_active and p.component_activated))
    order by p.component_id, p.name;
end;
$$;
comment on function public.get_component_parameters_bulk(uuid[], boolean) is
  'The parameters of all given components in one call, ordered by component then name. Active parameters of activated components only unless include_inactive. Unknown ids yield nothing; null or empty input an empty result; more than 10000 ids raises 22023. Errors: 22023 (more than 10000 ids).';
revoke execute on function public.get_component_parameters_bulk(uuid[], boolean) from public, anon;
grant execute on function public.get_component_parameters_bulk(uuid[], boolean) to authenticated, service_role;

create function public.get_machine_parameters(machine_id uuid, include_inactive boolean default false)
returns setof public.component_parameters
language plpgsql
stable
security invoker
set search_path = pg_catalog, pg_temp
as $$
begin
  if machine_id is null then
    raise exception using errcode = '22004', message = 'machine_id is required';
  end if;
  if not exists (select 1 from public.machines m where m.id = get_machine_parameters.machine_id) then
    perform private.raise_error('P0002',
      'machine not found',
      format('no machine %s visible to the caller', get_machine_parameters.machine_id));
  end if;
  return query
    select p.*
    from public.component_parameters p
    where p.machine_id = get_machine_parameters.machine_id
      and (coalesce(include_inactive, false) or (p.is_active and p.component_activated))
    order by p.component_id, p.name;
end;
$$;
comment on function public.get_machine_parameters(uuid, boolean) is
  'Every active parameter of the machine''s activated components (all of them with include_inactive), ordered by component then name. 22004 for a null id, P0002 when the machine does not exist or is not visible to the caller. Errors: 22004 null machine_id, P0002 machine unknown or not visible.';
revoke execute on function public.get_machine_parameters(uuid, boolean) from public, anon;
grant execute on function public.get_machine_parameters(uuid, boolean) to authenticated, service_role;

create function public.get_parameters(parameter_ids uuid[])
returns setof public.component_parameters
language plpgsql
stable
security invoker
set search_path = pg_catalog, pg_temp
as $$
begin
  if cardinality(parameter_ids) > 10000 then
    raise exception using errcode = '22023',
      message = 'too many parameter ids',
      detail = format('got %s, the limit is 10000', cardinality(parameter_ids)),
      hint = 'split the ids into several calls';
  end if;
  return query
    select p.* from public.component_parameters p
    where p.id = any (parameter_ids)
    order by p.component_id, p.name;
end;
$$;
comment on function public.get_parameters(uuid[]) is
  'Parameters by id in one call, whatever their state (caches need to see a parameter turn inactive). Unknown ids yield nothing; more than 10000 ids raises 22023. Errors: 22023 (more than 10000 ids).';
revoke execute on function public.get_parameters(uuid[]) from public, anon;
grant execute on function public.get_parameters(uuid[]) to authenticated, service_role;

create function public.get_parameter_epochs(machine_ids uuid[])
returns table (machine_id uuid, epoch bigint, changed_at timestamptz)
language plpgsql
stable
security invoker
set search_path = pg_catalog, pg_temp
as $$
begin
  if cardinality(machine_ids) > 10000 then
    raise exception using errcode = '22023',
      message = 'too many machine ids',
      detail = format('got %s, the limit is 10000', cardinality(machine_ids)),
      hint = 'split the ids into several calls';
  end if;
  return query
    select e.machine_id, e.epoch, e.changed_at
    from public.machine_parameter_epochs e
    where e.machine_id = any (machine_ids)
    order by e.machine_id;
end;
$$;
comment on function public.get_parameter_epochs(uuid[]) is
  'The parameter epoch of each given machine: a cheap check that tells an edge cache whether anything of the machine changed since it last looked. More than 10000 ids raises 22023. Errors: 22023 (more than 10000 ids).';
revoke execute on function public.get_parameter_epochs(uuid[]) from public, anon;
grant execute on function public.get_parameter_epochs(uuid[]) to authenticated, service_role;
