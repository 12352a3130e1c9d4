-- Machines, who may use them, their components and their parameters.

create table public.machines (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (length(btrim(name)) between 1 and 200),
  model text,
  serial_number text unique,
  location text,
  status public.machine_status not null default 'idle',
  current_process_id uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.machines is 'An ALD reactor with its controller. RLS: visible to the users listed in machine_operators.';
comment on column public.machines.id is 'Machine id.';
comment on column public.machines.name is 'Unique human name of the machine.';
comment on column public.machines.model is 'Reactor model.';
comment on column public.machines.serial_number is 'Manufacturer serial number, unique when given.';
comment on column public.machines.location is 'Where the machine stands (lab, bay).';
comment on column public.machines.status is 'idle, running (a process execution is open), paused, error, maintenance or offline.';
comment on column public.machines.current_process_id is 'The open process execution while status is running; null otherwise.';
comment on column public.machines.created_at is 'When the row was created.';
comment on column public.machines.updated_at is 'When the row last changed.';

create table public.machine_operators (
  machine_id uuid not null references public.machines (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role public.operator_role not null default 'viewer',
  created_at timestamptz not null default now(),
  primary key (machine_id, user_id)
);
comment on table public.machine_operators is 'Which user may do what on which machine; the basis of every RLS policy.';
comment on column public.machine_operators.machine_id is 'The machine.';
comment on column public.machine_operators.user_id is 'The Supabase Auth user.';
comment on column public.machine_operators.role is 'viewer reads; operator also writes setpoints and commands; admin also manages components and recipes.';
comment on column public.machine_operators.created_at is 'When the grant was made.';
create index machine_operators_user_id_idx on public.machine_operators (user_id);

create table public.machine_components (
  id uuid primary key default gen_random_uuid(),
  machine_id uuid not null references public.machines (id) on delete cascade,
  name text not null check (length(btrim(name)) between 1 and 200),
  component_type text not null check (component_type ~ '^[a-z][a-z0-9_]{0,62}$'),
  is_activated boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (machine_id, name),
  -- target of the composite foreign key from component_parameters that keeps its machine_id honest
  unique (id, machine_id)
);
comment on table public.machine_components is 'A physical part of a machine (heater, valve, gauge, pump, mass-flow controller ...).';
comment on column public.machine_components.id is 'Component id.';
comment on column public.machine_components.machine_id is 'The machine the component belongs to.';
comment on column public.machine_components.name is 'Name, unique within the machine.';
comment on column public.machine_components.component_type is 'Kind of component in snake_case (heater, valve, pressure_gauge, ...).';
comment on column public.machine_components.is_activated is 'False takes the component and all its parameters out of reads and writes.';
comment on column public.machine_components.created_at is 'When the row was created.';
comment on column public.machine_components.updated_at is 'When the row last changed.';
-- leading column machine_id covers the foreign key and the (machine_id, name) lookups
-- (the unique constraint above already provides it).

create table public.component_parameters (
  id uuid primary key default gen_random_uuid(),
  component_id uuid not null,
  machine_id uuid not null,
  name text not null check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  display_name text,
  unit text,
  data_type public.parameter_data_type not null default 'float',
  min_value double precision,
  max_value double precision,
  set_value double precision,
  is_writable boolean not null default false,
  is_active boolean not null default true,
  component_activated boolean not null default true,
  read_modbus_address integer check (read_modbus_address between 0 and 65535),
  read_modbus_type public.modbus_register_type,
  write_modbus_address integer check (write_modbus_address between 0 and 65535),
  write_modbus_type public.modbus_register_type,
  modbus_value_type public.modbus_value_type,
  version bigint not null default 1 check (version >= 1),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (component_id, name),
  foreign key (component_id, machine_id) references public.machine_components (id, machine_id) on delete cascade,
  constraint component_parameters_limits_finite check (
    (min_value is null or min_value not in ('NaN', 'Infinity', '-Infinity'))
    and (max_value is null or max_value not in ('NaN', 'Infinity', '-Infinity'))),
  constraint component_parameters_min_le_max check (min_value <= max_value),
  constraint component_parameters_set_value_finite check (set_value not in ('NaN', 'Infinity', '-Infinity')),
  constraint component_parameters_set_value_in_range check (
    (min_value is null or set_value >= min_value) and (max_value is null or set_value <= max_value)),
  constraint component_parameters_integer_whole check (
    data_type <> 'integer' or set_value = trunc(set_value)),
  constraint component_parameters_binary_01 check (
    data_type <> 'binary' or (set_value in (0, 1)
      and coalesce(min_value, 0) = 0 and coalesce(max_value, 1) = 1)),
  constraint component_parameters_writable_has_address check (
    not is_writable or (write_modbus_address is not null and write_modbus_type is not null)),
  constraint component_parameters_write_register_writable check (
    write_modbus_type is null or write_modbus_type in ('coil', 'holding_register')),
  constraint component_parameters_read_pair check (
    (read_modbus_address is null) = (read_modbus_type is null)),
  constraint component_parameters_write_pair check (
    (write_modbus_address is null) = (write_modbus_type is null))
);
comment on table public.component_parameters is 'A value of a component: its limits, setpoint and Modbus addresses; version moves on every change. Readings are not stored here (they change every second and would churn every cache): the last reading of a parameter is its latest row in process_data_points, and a controller always reads the PLC.';
comment on column public.component_parameters.id is 'Parameter id.';
comment on column public.component_parameters.component_id is 'The component the parameter belongs to.';
comment on column public.component_parameters.machine_id is 'The component''s machine, denormalised for RLS and per-machine reads; kept equal by the composite foreign key.';
comment on column public.component_parameters.name is 'snake_case name, unique within the component (temperature_set, flow_rate, ...).';
comment on column public.component_parameters.display_name is 'Human label.';
comment on column public.component_parameters.unit is 'Engineering unit (°C, Pa, sccm, ms, %); null for dimensionless values.';
comment on column public.component_parameters.data_type is 'float, integer (whole numbers only) or binary (0/1).';
comment on column public.component_parameters.min_value is 'Lowest allowed setpoint, inclusive; null for no lower bound.';
comment on column public.component_parameters.max_value is 'Highest allowed setpoint, inclusive; null for no upper bound.';
comment on column public.component_parameters.set_value is 'The setpoint: within [min_value, max_value], finite, whole for integer, 0/1 for binary.';
comment on column public.component_parameters.is_writable is 'Whether setpoints may be written (needs a write address).';
comment on column public.component_parameters.is_active is 'Inactive parameters are neither read by default nor written.';
comment on column public.component_parameters.component_activated is 'Copy of machine_components.is_activated kept by a trigger, so that switching a component moves the version of its parameters and cached rows carry it.';
comment on column public.component_parameters.read_modbus_address is 'Modbus address the reading comes from (0-65535).';
comment on column public.component_parameters.read_modbus_type is 'Modbus table of the read address.';
comment on column public.component_parameters.write_modbus_address is 'Modbus address the setpoint is written to (0-65535).';
comment on column public.component_parameters.write_modbus_type is 'Modbus table of the write address: coil or holding_register.';
comment on column public.component_parameters.modbus_value_type is 'Register encoding (bool, int16, float32 ...).';
comment on column public.component_parameters.version is 'Starts at 1 and is bumped by a trigger on every change of the row; caches compare it and never go back to a lower one.';
comment on column public.component_parameters.created_at is 'When the row was created.';
comment on column public.component_parameters.updated_at is 'When the definition or setpoint last changed.';
-- Serves get_machine_parameters and start_process's plan (private.process_plan): both read the
-- parameters of one machine ordered by component then name, so the index scan on machine_id
-- returns them already in order (no sort) and touches only that machine's rows. The RLS
-- policies on component_parameters (machine_id = any (...)) use it too. Its leading columns
-- {machine_id, component_id} are the composite foreign key to machine_components
-- (component_id, machine_id), so it also serves that key (the cascade from a deleted component).
create index component_parameters_machine_id_component_id_name_idx
  on public.component_parameters (machine_id, component_id, name);

create table public.machine_parameter_epochs (
  machine_id uuid primary key references public.machines (id) on delete cascade,
  epoch bigint not null default 0 check (epoch >= 0),
  changed_at timestamptz not null default now()
);
comment on table public.machine_parameter_epochs is 'One cheap row per machine whose epoch moves whenever any parameter of that machine changes; edge caches poll it to bound staleness.';
comment on column public.machine_parameter_epochs.machine_id is 'The machine.';
comment on column public.machine_parameter_epochs.epoch is 'Incremented once per changed parameter row.';
comment on column public.machine_parameter_epochs.changed_at is 'When the epoch last moved.';

alter table public.machines
  add constraint machines_current_process_only_when_running check (current_process_id is null or status in ('running', 'paused'));
