-- Setpoints reach the PLC and come back confirmed.
--
-- component_parameters.set_value is what was asked (the desired setpoint, validated as before);
-- applied_value / applied_at / applied_version are what the PLC confirmed. applied_* move only
-- through ack_setpoint_requests or report_plc_values (a trigger refuses every other writer), so the
-- database never says a setpoint is in force that the machine has not confirmed.
--
-- Every accepted change of set_value, whoever makes it (an operator through set_parameter_value or
-- the Edge function, the API, a recipe step through advance_step, an admin's direct UPDATE), creates
-- one setpoint_requests row, pending. A newer request for the same parameter supersedes an older
-- pending one, so the PLC only ever gets the latest. The controller applying requests never creates
-- one: its writes (ack, PLC report, the importer) run with ald.applying = 'on'.
--
-- Life cycle:  pending --claim--> claimed --ack ok--> applied
--                 |                  |  \----ack failed--> failed
--                 |                  \--claim timeout (default 30 s)--> claimable again (re-delivered)
--                 \--newer request for the parameter--> superseded
--
-- NOTIFY channel ald_setpoint_requests, payload {"machine_id": "<uuid>", "request_id": "<uuid>",
-- "parameter_id": "<uuid>", "source": "<change_source>"}, sent at commit for every new request.

-- Desired vs applied, and what a UI needs from a real plant's table ------------------------------------
alter table public.component_parameters
  add column applied_value double precision,
  add column applied_at timestamptz,
  add column applied_version bigint check (applied_version >= 1),
  add column operand text check (length(operand) <= 200),
  add column description text check (length(description) <= 2000),
  add column show_in_ui boolean not null default true,
  add column show_in_graph boolean not null default true,
  add constraint component_parameters_applied_value_finite check (applied_value not in ('NaN', 'Infinity', '-Infinity')),
  add constraint component_parameters_applied_at_with_value check ((applied_value is null) = (applied_at is null));
comment on column public.component_parameters.applied_value is 'The setpoint the PLC confirmed (by ack_setpoint_requests or report_plc_values); null until it confirmed one. Moves only through those two RPCs.';
comment on column public.component_parameters.applied_at is 'When the PLC confirmed applied_value.';
comment on column public.component_parameters.applied_version is 'The parameter version whose set_value the PLC confirmed (the version carried by the applied request); null when the PLC reported a value no setpoint version asked for.';
comment on column public.component_parameters.operand is 'The PLC tag (operand) of the parameter in the PLC program, e.g. MW100 or DB1.DBD4.';
comment on column public.component_parameters.description is 'Free text description for operators.';
comment on column public.component_parameters.show_in_ui is 'Whether operator UIs list the parameter.';
comment on column public.component_parameters.show_in_graph is 'Whether operator UIs plot the parameter''s readings.';
comment on column public.component_parameters.set_value is 'The desired setpoint (what was asked): within [min_value, max_value], finite, whole for integer, 0/1 for binary. What the PLC holds is applied_value.';
comment on column public.component_parameters.is_writable is 'Whether setpoints may be requested. A writable parameter without a write address (not wired yet) can be requested; the controller fails such a request with a clear error.';

-- Real plant tables: a writable parameter not yet wired to a PLC address is safe to store (the
-- controller refuses to act on it), and a binary flag may carry odd limits (its value is still 0/1).
alter table public.component_parameters drop constraint component_parameters_writable_has_address;
alter table public.component_parameters drop constraint component_parameters_binary_01;
alter table public.component_parameters add constraint component_parameters_binary_01 check (
  data_type <> 'binary' or set_value in (0, 1));

-- applied_* are facts from the PLC: nobody but the applying RPCs may write them.
create function private.component_parameters_guard_applied() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if coalesce(current_setting('ald.applying', true), '') = 'on' then
    return new;
  end if;
  if tg_op = 'INSERT' then
    if new.applied_value is not null or new.applied_at is not null or new.applied_version is not null then
      perform private.raise_error('55000', 'applied_value is set only by the PLC', format('parameter %s was inserted with applied_value %s', new.name, new.applied_value), 'applied_value moves only through ack_setpoint_requests or report_plc_values (or ald-db import parameters)');
    end if;
  elsif (new.applied_value, new.applied_at, new.applied_version) is distinct from (old.applied_value, old.applied_at, old.applied_version) then
    perform private.raise_error('55000', 'applied_value is set only by the PLC', format('parameter %s: applied_value %s -> %s', old.id, old.applied_value, new.applied_value), 'applied_value moves only through ack_setpoint_requests or report_plc_values');
  end if;
  return new;
end;
$$;
comment on function private.component_parameters_guard_applied() is 'Trigger: refuses (55000) any write of applied_value, applied_at or applied_version that does not come from ack_setpoint_requests, report_plc_values or the importer (which set ald.applying for their transaction).';

revoke all on function private.component_parameters_guard_applied() from public, anon, authenticated, service_role;

create trigger component_parameters_guard_applied
  before insert or update on public.component_parameters
  for each row execute function private.component_parameters_guard_applied();

-- Users may not even name applied_* in a write (column privileges; the trigger covers every role).
revoke insert, update on public.component_parameters from authenticated;
grant insert (id, component_id, machine_id, name, display_name, unit, data_type, min_value, max_value, set_value,
              is_writable, is_active, read_modbus_address, read_modbus_type, write_modbus_address, write_modbus_type,
              modbus_value_type, operand, description, show_in_ui, show_in_graph)
  on public.component_parameters to authenticated;
grant update (component_id, machine_id, name, display_name, unit, data_type, min_value, max_value, set_value,
              is_writable, is_active, read_modbus_address, read_modbus_type, write_modbus_address, write_modbus_type,
              modbus_value_type, operand, description, show_in_ui, show_in_graph)
  on public.component_parameters to authenticated;

-- The audit says which value moved: the desired setpoint or the applied one (report_plc_values).
alter table public.parameter_changes
  add column field text not null default 'set_value' check (field in ('set_value', 'applied_value'));
comment on column public.parameter_changes.field is 'Which value changed: set_value (a setpoint was asked) or applied_value (the PLC reported holding another value, source plc).';

-- The queue ------------------------------------------------------------------------------------------------
create type public.setpoint_request_status as enum ('pending', 'claimed', 'applied', 'failed', 'superseded');
comment on type public.setpoint_request_status is 'Life cycle of a setpoint request: pending -> claimed -> applied | failed; pending -> superseded by a newer request; a claim not acked in time makes it claimable again.';

create table public.setpoint_requests (
  id uuid primary key default gen_random_uuid(),
  machine_id uuid not null references public.machines (id) on delete cascade,
  parameter_id uuid not null references public.component_parameters (id) on delete cascade,
  value double precision not null check (value not in ('NaN', 'Infinity', '-Infinity')),
  version bigint not null check (version >= 1),
  requested_by uuid references auth.users (id) on delete set null,
  requested_by_role text not null,
  source public.change_source not null,
  reason text check (length(reason) <= 1000),
  request_id uuid,
  status public.setpoint_request_status not null default 'pending',
  created_at timestamptz not null default now(),
  claimed_at timestamptz,
  claimed_by text check (length(claimed_by) <= 200),
  claim_expires_at timestamptz,
  claim_count integer not null default 0 check (claim_count >= 0),
  superseded_by uuid references public.setpoint_requests (id) on delete set null deferrable initially deferred,
  acked_at timestamptz,
  ack_ok boolean,
  ack_value double precision check (ack_value not in ('NaN', 'Infinity', '-Infinity')),
  error text check (length(error) <= 2000),
  applied_at timestamptz,
  constraint setpoint_requests_claimed_has_claim check (status <> 'claimed' or (claimed_at is not null and claim_expires_at is not null)),
  constraint setpoint_requests_applied_has_ack check (status <> 'applied' or (acked_at is not null and ack_ok and applied_at is not null)),
  constraint setpoint_requests_failed_has_error check (status <> 'failed' or (acked_at is not null and not ack_ok and error is not null)),
  constraint setpoint_requests_ack_complete check ((acked_at is null) = (ack_ok is null))
);
comment on table public.setpoint_requests is 'One row per accepted change of a desired setpoint: the controller claims it, writes the PLC and acks it, so applied_value only says what the PLC confirmed. Created by a trigger on component_parameters; moved by claim_setpoint_requests and ack_setpoint_requests. RLS: viewers of the machine read.';
comment on column public.setpoint_requests.id is 'Request id.';
comment on column public.setpoint_requests.machine_id is 'The parameter''s machine (whose controller applies it).';
comment on column public.setpoint_requests.parameter_id is 'The parameter to write.';
comment on column public.setpoint_requests.value is 'The requested setpoint (the set_value the change wrote).';
comment on column public.setpoint_requests.version is 'The parameter version that carries this set_value; becomes applied_version when applied.';
comment on column public.setpoint_requests.requested_by is 'Auth user who made the change (null for the controller, a service token or a direct session).';
comment on column public.setpoint_requests.requested_by_role is 'JWT role or login role that made the change.';
comment on column public.setpoint_requests.source is 'operator, recipe, api, controller or system, as given to set_parameter_value (system for a direct table write).';
comment on column public.setpoint_requests.reason is 'Why, in words, as given to set_parameter_value (a recipe step: its name).';
comment on column public.setpoint_requests.request_id is 'The idempotency key of the set_parameter_value call that made the change, if any.';
comment on column public.setpoint_requests.status is 'pending, claimed, applied, failed or superseded.';
comment on column public.setpoint_requests.created_at is 'When the change was made (transaction time).';
comment on column public.setpoint_requests.claimed_at is 'When a controller last claimed it.';
comment on column public.setpoint_requests.claimed_by is 'Who last claimed it (the claimed_by of claim_setpoint_requests, or the caller''s role).';
comment on column public.setpoint_requests.claim_expires_at is 'A claim not acked by then makes the request claimable again (controller crash between claim and ack).';
comment on column public.setpoint_requests.claim_count is 'How many times it was claimed (more than 1: re-delivered after a claim timed out).';
comment on column public.setpoint_requests.superseded_by is 'The newer request of the same parameter that replaced it before it was written.';
comment on column public.setpoint_requests.acked_at is 'When the controller reported the outcome.';
comment on column public.setpoint_requests.ack_ok is 'The outcome the controller reported: true written and confirmed by the PLC, false failed.';
comment on column public.setpoint_requests.ack_value is 'The value the PLC confirmed holding after the write (may differ from value by the PLC''s rounding).';
comment on column public.setpoint_requests.error is 'Why the write failed, as the controller reported it.';
comment on column public.setpoint_requests.applied_at is 'When the PLC confirmed it (status applied).';

create index setpoint_requests_machine_id_idx on public.setpoint_requests (machine_id, created_at desc);
create index setpoint_requests_parameter_id_idx on public.setpoint_requests (parameter_id, created_at desc);
create index setpoint_requests_requested_by_idx on public.setpoint_requests (requested_by);
create index setpoint_requests_superseded_by_idx on public.setpoint_requests (superseded_by);
-- What claim_setpoint_requests scans: the open requests of one machine.
create index setpoint_requests_open_idx on public.setpoint_requests (machine_id, created_at)
  where status in ('pending', 'claimed');
-- The invariants the supersede rule and the claim keep: per parameter at most one pending request
-- (the latest) and at most one in flight to the PLC.
create unique index setpoint_requests_one_pending_idx on public.setpoint_requests (parameter_id) where status = 'pending';
create unique index setpoint_requests_one_claimed_idx on public.setpoint_requests (parameter_id) where status = 'claimed';

alter table public.setpoint_requests enable row level security;
create policy setpoint_requests_viewer_select on public.setpoint_requests for select to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('viewer'))::uuid[]));
revoke all on public.setpoint_requests from public, anon, authenticated;
grant select on public.setpoint_requests to authenticated;
grant all on public.setpoint_requests to service_role;

-- A UI follows the queue through Supabase Realtime.
do $$
begin
  if not exists (select 1 from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end $$;
alter publication supabase_realtime add table public.setpoint_requests;

-- Every accepted change of set_value becomes a request ----------------------------------------------------
create function private.component_parameters_request_setpoint() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  claims jsonb := nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
  sub_text text := claims ->> 'sub';
  actor uuid;
  new_id uuid := pg_catalog.gen_random_uuid();
  src public.change_source := coalesce(nullif(pg_catalog.current_setting('ald.change_source', true), '')::public.change_source, 'system');
begin
  -- The controller confirming what the PLC holds (ack, PLC report, importer) asks for nothing.
  if coalesce(pg_catalog.current_setting('ald.applying', true), '') = 'on' or new.set_value is null then
    return null;
  end if;
  if sub_text ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    select u.id into actor from auth.users u where u.id = sub_text::uuid;
  end if;
  -- The PLC gets only the latest: an older request not yet claimed is superseded. A claimed one is
  -- in flight and is acked as it is; claim_setpoint_requests delivers this one after it.
  update public.setpoint_requests r
  set status = 'superseded', superseded_by = new_id
  where r.parameter_id = new.id and r.status = 'pending';
  insert into public.setpoint_requests
    (id, machine_id, parameter_id, value, version, requested_by, requested_by_role, source, reason, request_id)
  values
    (new_id, new.machine_id, new.id, new.set_value, new.version, actor, private.change_role(), src,
     nullif(pg_catalog.current_setting('ald.change_reason', true), ''),
     nullif(pg_catalog.current_setting('ald.change_request_id', true), '')::uuid);
  perform pg_catalog.pg_notify('ald_setpoint_requests', pg_catalog.json_build_object(
    'machine_id', new.machine_id, 'request_id', new_id, 'parameter_id', new.id, 'source', src)::text);
  return null;
end;
$$;
comment on function private.component_parameters_request_setpoint() is
  'Trigger: every change of set_value not made by the applying controller (ald.applying) supersedes the parameter''s pending request, inserts a new pending setpoint_requests row and NOTIFYs ald_setpoint_requests at commit.';
revoke all on function private.component_parameters_request_setpoint() from public, anon, authenticated, service_role;

create trigger component_parameters_request_setpoint
  after update of set_value on public.component_parameters
  for each row when (old.set_value is distinct from new.set_value)
  execute function private.component_parameters_request_setpoint();
