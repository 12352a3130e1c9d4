-- Every recorded tick is a heartbeat of the machine's controller, at no extra round trip.
--
-- The controller's liveness (public.controllers.last_seen_at) rides on the calls it already makes;
-- the run-control RPCs call private.note_controller_seen themselves. Recording stores its ticks in
-- public.readings through private.store_ticks (record_readings and record_process_data), so one
-- statement trigger on that table covers both RPCs, and any later recording path, without copying
-- their bodies: after each insert statement it notes the machines whose ticks went in. A replayed
-- tick (on conflict do nothing) inserts nothing and moves nothing; the controller's next new tick
-- does, a second later. note_controller_seen writes at most once a second and never waits on a lock.
create function private.readings_note_controller_seen() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  m uuid;
begin
  for m in select distinct i.machine_id from inserted i loop
    perform private.note_controller_seen(m);
  end loop;
  return null;
end;
$$;
comment on function private.readings_note_controller_seen() is
  'Statement trigger on public.readings: notes the controller of every machine whose ticks the statement inserted as seen (private.note_controller_seen), so recording is a heartbeat.';
revoke execute on function private.readings_note_controller_seen() from public;

create trigger readings_note_controller_seen
  after insert on public.readings
  referencing new table as inserted
  for each statement execute function private.readings_note_controller_seen();
comment on trigger readings_note_controller_seen on public.readings is
  'Recording is a heartbeat: moves the machine''s live controller''s last_seen_at (at most once a second).';
