-- Versions, epochs, notifications and the setpoint audit, all done by triggers so that every
-- writer (RPC, dashboard, admin SQL) is covered, not only the well-behaved ones.
--
-- NOTIFY channel: ald_parameter_changes
-- payload: {"id": "<parameter uuid>", "version": <bigint>, "machine_id": "<uuid>", "op": "INSERT|UPDATE|DELETE"}
-- Notifications are delivered at commit, so a listener never sees a version that can roll back.

-- BEFORE UPDATE: bump version when anything changed. The caller cannot move version itself (in
-- either direction): a version never goes backwards.
create function private.component_parameters_bump_version() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  -- component_activated mirrors machine_components.is_activated: only that table's trigger
  -- (one trigger level down) may change it.
  if pg_trigger_depth() = 1 then
    new.component_activated := old.component_activated;
  end if;
  new.version := old.version;
  new.updated_at := old.updated_at;
  if new is distinct from old then
    new.version := old.version + 1;
    new.updated_at := now();
    return new;
  end if;
  -- Equal is not identical: -0 = 0 for float8, so writing 0 over -0 would change the stored row
  -- (and its text and JSON) without moving the version. Keep the old row as it was.
  return old;
end;
$$;
comment on function private.component_parameters_bump_version() is 'Trigger: version := old.version + 1 on any change of the row; an update that changes nothing (by equality: -0 = 0) keeps the row exactly as it was, version included.';

create trigger component_parameters_bump_version
  before update on public.component_parameters
  for each row execute function private.component_parameters_bump_version();

-- A new parameter starts at version 1, or one above the last version its id ever had: a
-- parameter deleted and inserted again with the same id must not start again at 1, or every cache
-- that had seen a higher version of the old row (the Edge cache, the SDK's VersionedStore: "a
-- version never goes backwards") would keep serving the deleted row (issue 14, finding 5). The
-- floors are kept by a delete trigger in private.parameter_version_floors
-- (20261204100300_parameter_version_floors.sql). Definer: the floors are private, and an admin
-- inserting a parameter must not need to read them.
create function private.component_parameters_force_initial_version() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  new.version := coalesce((select f.version from private.parameter_version_floors f where f.parameter_id = new.id), 0) + 1;
  select c.is_activated into new.component_activated from public.machine_components c where c.id = new.component_id;
  new.component_activated := coalesce(new.component_activated, true);
  return new;
end;
$$;
comment on function private.component_parameters_force_initial_version() is
  'Trigger: a new parameter starts at version 1, or one above the last version of a deleted parameter with the same id (versions never repeat for an id); copies its component''s is_activated.';

create trigger component_parameters_force_initial_version
  before insert on public.component_parameters
  for each row execute function private.component_parameters_force_initial_version();

-- AFTER: epoch, audit and notification. security definer so that the audit row and the epoch are
-- written even when the writer may not touch those tables directly.
create function private.component_parameters_changed() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  row_ public.component_parameters := case when tg_op = 'DELETE' then old else new end;
  claims jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
  sub_text text := claims ->> 'sub';
  actor uuid;
begin
  -- Who, for the audit: the JWT's user when it is one (a service token may carry any subject, or
  -- one that is not a uuid); an unknown subject is recorded as null rather than failing the write.
  if sub_text ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    select u.id into actor from auth.users u where u.id = sub_text::uuid;
  end if;

  -- A delete may come from deleting the machine itself (cascade), whose epoch row is then gone or
  -- going: re-creating it would violate its foreign key. So a delete only moves an existing epoch.
  if tg_op = 'DELETE' then
    update public.machine_parameter_epochs e set epoch = e.epoch + 1, changed_at = now()
    where e.machine_id = row_.machine_id;
  else
    insert into public.machine_parameter_epochs as e (machine_id, epoch, changed_at)
    values (row_.machine_id, 1, now())
    on conflict (machine_id) do update set epoch = e.epoch + 1, changed_at = now();
  end if;

  if tg_op = 'UPDATE' and new.set_value is distinct from old.set_value then
    insert into public.parameter_changes
      (parameter_id, machine_id, old_value, new_value, old_version, new_version,
       changed_by, changed_by_role, source, reason, process_id, step_execution_id, request_id)
    values
      (new.id, new.machine_id, old.set_value, new.set_value, old.version, new.version,
       actor,
       private.change_role(),
       coalesce(nullif(current_setting('ald.change_source', true), '')::public.change_source, 'system'),
       nullif(current_setting('ald.change_reason', true), ''),
       nullif(current_setting('ald.change_process_id', true), '')::uuid,
       nullif(current_setting('ald.change_step_execution_id', true), '')::uuid,
       nullif(current_setting('ald.change_request_id', true), '')::uuid);
  end if;

  perform pg_notify('ald_parameter_changes', json_build_object(
    'id', row_.id, 'version', row_.version, 'machine_id', row_.machine_id, 'op', tg_op)::text);
  return null;
end;
$$;
comment on function private.component_parameters_changed() is
  'Trigger: moves the machine''s parameter epoch, writes the parameter_changes audit row when set_value changed (context from the ald.change_* settings of set_parameter_value), and NOTIFYs ald_parameter_changes.';

create trigger component_parameters_changed_on_update
  after update on public.component_parameters
  for each row when (old.version is distinct from new.version)
  execute function private.component_parameters_changed();

create trigger component_parameters_changed_on_insert_delete
  after insert or delete on public.component_parameters
  for each row execute function private.component_parameters_changed();

-- A component switched on or off changes what its parameters mean to every reader.
create function private.machine_components_touch_parameters() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  update public.component_parameters set component_activated = new.is_activated where component_id = new.id;
  return null;
end;
$$;
comment on function private.machine_components_touch_parameters() is 'Trigger: activating or deactivating a component bumps the version of each of its parameters, so caches drop them.';

create trigger machine_components_activation_changed
  after update of is_activated on public.machine_components
  for each row when (old.is_activated is distinct from new.is_activated)
  execute function private.machine_components_touch_parameters();

-- Every machine gets its epoch row at creation, so readers never miss it.
create function private.machines_create_epoch() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  insert into public.machine_parameter_epochs (machine_id) values (new.id) on conflict do nothing;
  return null;
end;
$$;
comment on function private.machines_create_epoch() is 'Trigger: creates the machine_parameter_epochs row of a new machine.';

create trigger machines_create_epoch
  after insert on public.machines
  for each row execute function private.machines_create_epoch();

-- updated_at for the other tables that have one.
create function private.touch_updated_at() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
comment on function private.touch_updated_at() is 'Trigger: sets updated_at to the transaction time.';

create trigger machines_touch_updated_at before update on public.machines
  for each row execute function private.touch_updated_at();
create trigger machine_components_touch_updated_at before update on public.machine_components
  for each row execute function private.touch_updated_at();
create trigger recipes_touch_updated_at before update on public.recipes
  for each row execute function private.touch_updated_at();

-- Closed by default: nothing in private is executable by PUBLIC; these run only inside the
-- definer RPCs and triggers (as their owner).
revoke execute on function
  private.component_parameters_bump_version(),
  private.component_parameters_force_initial_version(),
  private.component_parameters_changed(),
  private.machine_components_touch_parameters(),
  private.machines_create_epoch(),
  private.touch_updated_at()
from public;
