-- Issue 14, finding 5: a version is unique for the whole life of a parameter id. Without this, a
-- parameter deleted and inserted again with the same id would start again at version 1, and every
-- cache that had seen version 5 of the old row (the Edge cache, the SDK's VersionedStore: "a
-- version never goes backwards") would keep serving the deleted row. Here a delete remembers the
-- row's last version; the insert trigger private.component_parameters_force_initial_version
-- (20261126000600_parameter_versioning.sql) starts an id one above it. A fresh id still starts at 1.
-- (TRUNCATE fires no row trigger: it is an administrator's reset, after which caches must be
-- restarted too.)

create table private.parameter_version_floors (
  parameter_id uuid primary key,
  version bigint not null check (version >= 1),
  deleted_at timestamptz not null default now()
);
comment on table private.parameter_version_floors is
  'The last version of each deleted parameter id; an insert of the same id starts above it, so versions never repeat for an id.';
comment on column private.parameter_version_floors.parameter_id is 'The id of a deleted component_parameters row (no foreign key: the row is gone).';
comment on column private.parameter_version_floors.version is 'The highest version that id ever had.';
comment on column private.parameter_version_floors.deleted_at is 'When it was last deleted.';
revoke all on private.parameter_version_floors from public, anon, authenticated, service_role;

create function private.component_parameters_remember_version() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  insert into private.parameter_version_floors as f (parameter_id, version, deleted_at)
  values (old.id, old.version, now())
  on conflict (parameter_id) do update set version = greatest(f.version, excluded.version), deleted_at = excluded.deleted_at;
  return null;
end;
$$;
comment on function private.component_parameters_remember_version() is
  'Trigger: remembers the last version of a deleted parameter in private.parameter_version_floors.';
revoke all on function private.component_parameters_remember_version() from public, anon, authenticated, service_role;

create trigger component_parameters_remember_version
  after delete on public.component_parameters
  for each row execute function private.component_parameters_remember_version();
