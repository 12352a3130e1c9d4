-- Telemetry always on, in compact storage (issue 12).
--
-- A reading belongs to a machine and a time, and to a process when one runs. The controller
-- records every parameter every tick whether or not a recipe runs, so the store is one row per
-- (machine, tick) holding the tick's values (and setpoints) as arrays, ordered by a versioned
-- per-machine parameter layout. Adding or removing a parameter makes a new layout version and
-- never rewrites history. About 12 bytes per reading on disk instead of 188 for one row per
-- (process, parameter, ts) (bench/bytes-per-reading.ts measures both layouts side by side).
--
--   public.reading_layouts   machine, version -> ordered parameter ids
--   public.readings          one row per (machine, tick): the idempotency key; monthly partitions
--   public.latest_readings   one row per machine: its last tick, for the UI and Realtime
--   public.process_data_points  the narrow view (security_invoker): one row per
--                               (machine, process, parameter, ts, value, set_point), for SQL users
--   private.telemetry_settings  retention, partitions ahead, accepted tick time window

create table private.telemetry_settings (
  id boolean primary key default true check (id),
  retention interval check (retention is null or retention >= interval '1 day'),
  retention_action text not null default 'drop' check (retention_action in ('drop', 'detach')),
  months_ahead integer not null default 3 check (months_ahead between 0 and 120),
  max_tick_age interval not null default interval '31 days' check (max_tick_age > interval '0'),
  max_tick_lead interval not null default interval '5 minutes' check (max_tick_lead >= interval '0')
);
comment on table private.telemetry_settings is 'The one row of telemetry settings read by the recording RPCs and public.maintain_readings. Not exposed to the API.';
comment on column private.telemetry_settings.id is 'Always true: the table holds one row.';
comment on column private.telemetry_settings.retention is 'How long readings are kept; null (the default) keeps everything. Partitions whose whole month is older are dropped or detached by public.maintain_readings.';
comment on column private.telemetry_settings.retention_action is 'drop (delete the old partitions) or detach (keep them as standalone tables, out of public.readings, for archiving).';
comment on column private.telemetry_settings.months_ahead is 'How many months of partitions public.maintain_readings prepares ahead of the current one.';
comment on column private.telemetry_settings.max_tick_age is 'Oldest accepted tick time, relative to now(): a replayed backlog older than this is refused (22023).';
comment on column private.telemetry_settings.max_tick_lead is 'How far ahead of now() a tick time may be (controller clock skew); later ticks are refused (22023).';
insert into private.telemetry_settings default values;
revoke all on private.telemetry_settings from public, anon, authenticated, service_role;

create table public.reading_layouts (
  machine_id uuid not null references public.machines (id) on delete cascade,
  version integer not null check (version >= 1),
  parameter_ids uuid[] not null check (array_ndims(parameter_ids) = 1 and array_position(parameter_ids, null) is null),
  created_at timestamptz not null default now(),
  primary key (machine_id, version)
);
comment on table public.reading_layouts is 'Versioned per-machine parameter layouts: position i of a reading''s value arrays is parameter_ids[i] of its layout version. A tick carrying a parameter the current layout lacks makes a new version; history is never rewritten.';
comment on column public.reading_layouts.machine_id is 'The machine.';
comment on column public.reading_layouts.version is 'Layout version, from 1, per machine.';
comment on column public.reading_layouts.parameter_ids is 'The parameters in array order (no nulls). A parameter deleted since stays in the layouts that had it.';
comment on column public.reading_layouts.created_at is 'When the version was made.';

create table public.readings (
  machine_id uuid not null,
  ts timestamptz not null,
  layout_version integer not null,
  process_id uuid,
  vals double precision[] not null,
  set_points double precision[],
  constraint readings_finite check (
    not ('NaN' = any (vals) or 'Infinity' = any (vals) or '-Infinity' = any (vals)
         or 'NaN' = any (set_points) or 'Infinity' = any (set_points) or '-Infinity' = any (set_points))),
  -- the idempotency key: a retried or replayed tick conflicts here and is stored once
  primary key (machine_id, ts),
  foreign key (machine_id, layout_version) references public.reading_layouts (machine_id, version) on delete cascade,
  foreign key (process_id) references public.process_executions (id) on delete set null
) partition by range (ts);
comment on table public.readings is 'Recorded PLC readings: one row per (machine, tick), the values as arrays in the order of the machine''s layout version. Monthly partitions plus a default partition (public.maintain_readings). Read through public.process_data_points for one row per reading.';
comment on column public.readings.machine_id is 'The machine read.';
comment on column public.readings.ts is 'When the PLC was read (controller clock): the tick time.';
comment on column public.readings.layout_version is 'The reading_layouts version giving the parameter of each array position.';
comment on column public.readings.process_id is 'The process execution running on the machine at ts (set by the server, or given by the caller); null outside runs.';
comment on column public.readings.vals is 'The readings by layout position; null where the PLC had none or the tick did not carry the parameter; never NaN or infinite.';
comment on column public.readings.set_points is 'The setpoints in force by layout position, when known; null when the tick carried none.';
-- (machine_id, ts) leads with machine_id: covers the machine and layout foreign keys and every
-- chart query. (process_id, ts) covers the process foreign key and the charts of one run.
create index readings_process_id_idx on public.readings (process_id, ts);
create index readings_machine_id_layout_version_idx on public.readings (machine_id, layout_version);
-- The rollup job (20261204400150) reads the closed minutes of every machine by time. BRIN: a few
-- pages per partition, ticks arrive in time order; without it that read was a scan of the month
-- partition's whole (process_id, ts) index every minute.
create index readings_ts_brin_idx on public.readings using brin (ts);

create table public.readings_default partition of public.readings default;
comment on table public.readings_default is 'Catch-all partition for ticks outside every monthly partition; public.maintain_readings moves them out.';

create table public.latest_readings (
  machine_id uuid primary key references public.machines (id) on delete cascade,
  ts timestamptz not null,
  layout_version integer not null,
  process_id uuid references public.process_executions (id) on delete set null,
  vals double precision[] not null,
  set_points double precision[],
  updated_at timestamptz not null default now()
);
comment on table public.latest_readings is 'The last recorded tick of each machine, kept current by the recording RPCs (never by touching component_parameters, whose cache must not churn). In the supabase_realtime publication: a subscriber sees every tick; RLS applies.';
comment on column public.latest_readings.machine_id is 'The machine.';
comment on column public.latest_readings.ts is 'Time of the machine''s latest tick.';
comment on column public.latest_readings.layout_version is 'Layout version of that tick: reading_layouts gives the parameter of each position (a subscriber reads it once per version).';
comment on column public.latest_readings.process_id is 'The process running at that tick, if any.';
comment on column public.latest_readings.vals is 'The tick''s values by position.';
comment on column public.latest_readings.set_points is 'The tick''s setpoints by position, when known.';
comment on column public.latest_readings.updated_at is 'When the row was last written.';
create index latest_readings_process_id_idx on public.latest_readings (process_id);
create index latest_readings_machine_id_layout_version_idx on public.latest_readings (machine_id, layout_version);
alter table public.latest_readings
  add foreign key (machine_id, layout_version) references public.reading_layouts (machine_id, version) on delete cascade;

-- The narrow view: one row per reading, as a table of one row per (process, parameter, ts)
-- would hold it.
create view public.process_data_points with (security_invoker = true) as
select r.machine_id, r.process_id, p.parameter_id, r.ts, r.vals[p.pos] as value, r.set_points[p.pos] as set_point
from public.readings r
join public.reading_layouts l on l.machine_id = r.machine_id and l.version = r.layout_version
cross join lateral unnest(l.parameter_ids) with ordinality as p(parameter_id, pos)
where r.vals[p.pos] is not null or r.set_points[p.pos] is not null;
comment on view public.process_data_points is 'Narrow view of public.readings for SQL users and existing queries: one row per (machine, process, parameter, ts) with a value or setpoint. security_invoker: the caller''s RLS on readings applies (viewers see their machines). Read only.';
comment on column public.process_data_points.machine_id is 'The machine read.';
comment on column public.process_data_points.process_id is 'The process running at ts; null outside runs.';
comment on column public.process_data_points.parameter_id is 'The parameter read.';
comment on column public.process_data_points.ts is 'When the PLC was read (controller clock).';
comment on column public.process_data_points.value is 'The reading; null when the PLC had none.';
comment on column public.process_data_points.set_point is 'The setpoint in force at that time, when known.';

-- Row level security: viewers read their machines; only the definer RPCs (and service_role) write.
alter table public.reading_layouts enable row level security;
alter table public.readings enable row level security;
alter table public.readings_default enable row level security;
alter table public.latest_readings enable row level security;
create policy reading_layouts_viewer_select on public.reading_layouts for select to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('viewer'))::uuid[]));
create policy readings_viewer_select on public.readings for select to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('viewer'))::uuid[]));
create policy latest_readings_viewer_select on public.latest_readings for select to authenticated
  using (machine_id = any ((select private.machine_ids_with_role('viewer'))::uuid[]));

revoke all on public.reading_layouts, public.readings, public.readings_default, public.latest_readings,
  public.process_data_points from public, anon, authenticated;
grant all on public.reading_layouts, public.readings, public.readings_default, public.latest_readings to service_role;
grant select on public.process_data_points to service_role;
grant select on public.reading_layouts, public.readings, public.latest_readings, public.process_data_points to authenticated;

-- Realtime watches the latest readings (RLS applies to subscribers).
do $$
begin
  if not exists (select 1 from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
  if not exists (select 1 from pg_catalog.pg_publication where pubname = 'supabase_realtime' and puballtables)
     and not exists (select 1 from pg_catalog.pg_publication_tables
                     where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'latest_readings') then
    alter publication supabase_realtime add table public.latest_readings;
  end if;
end $$;
