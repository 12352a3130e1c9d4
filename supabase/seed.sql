-- Demo data: one realistic ALD reactor, a small second machine, their users and one recipe.
-- Loaded by `supabase db push --include-seed` (and `supabase db reset`) or by psql. Every insert
-- is `on conflict do nothing` on a fixed key, so a second run changes nothing.
--
-- Fixed ids (documentation and tests refer to them):
--   machines
--     00000000-0000-4000-8000-000000000001  ALD Reactor A   (the reactor: 21 components, 137 parameters)
--     00000000-0000-4000-8000-000000000002  Test Bench B    (2 components, 4 parameters; for RLS tests)
--   users (auth.users, no password: they exist for RLS tests and demos; create real logins through Auth)
--     00000000-0000-4000-8000-000000000101  viewer@ald.example          viewer   of ALD Reactor A
--     00000000-0000-4000-8000-000000000102  operator@ald.example        operator of ALD Reactor A
--     00000000-0000-4000-8000-000000000103  admin@ald.example           admin    of ALD Reactor A
--     00000000-0000-4000-8000-000000000201  bench-operator@ald.example  operator of Test Bench B (nothing on A)
--   components of ALD Reactor A: 00000000-0000-4000-8000-0000000010NN, NN = 01..21
--     01 chamber_heater  02 substrate_heater  03 lid_heater  04..07 precursor_line_heater_1..4
--     08 foreline_heater  09 trap_heater  10 carrier_gas_mfc  11 nitrogen_generator
--     12 chamber_pressure_gauge  13 foreline_pressure_gauge  14..19 valve_1..valve_6
--     20 gate_valve  21 vacuum_pump
--   components of Test Bench B: 00000000-0000-4000-8000-000000002001 bench_heater, ...2002 bench_valve
--   recipe 00000000-0000-4000-8000-000000003001  'Al2O3 (TMA/H2O) 10 cycles' on ALD Reactor A,
--     steps 00000000-0000-4000-8000-0000000031NN (NN = 01..09, in execution order, see below)
--   parameters: md5('ald-demo/' || component name || '/' || parameter name)::uuid,
--     e.g. md5('ald-demo/chamber_heater/temperature_set')::uuid. Component names are unique across
--     both demo machines, so the formula is unambiguous.
--
-- Modbus map of ALD Reactor A (float32 and uint32 span two registers and start at even addresses;
-- setpoints are read back from the holding register or coil they are written to):
--   holding registers 1000 + 20*h (heater h = 0..8), 2000 (MFC), 2100 (N2 generator),
--                     2200 / 2220 (pressure gauges)
--   input registers   3000 + 10*h (heaters), 3100 (MFC), 3200 (N2 generator), 3300 / 3310 (gauges)
--   coils             100 + 10*h (heaters), 200 (MFC), 300 (N2 generator), 310 / 311 (gauges),
--                     400..405 (valve_1..6), 410 (gate valve), 420 (pump)
--   discrete inputs   300 (N2 generator alarm), 310 / 311 (gauge sensor status)

begin;

-- users and their roles ----------------------------------------------------------------------------
insert into auth.users (id, email, raw_user_meta_data) values
  ('00000000-0000-4000-8000-000000000101', 'viewer@ald.example',         '{"full_name": "Demo Viewer"}'),
  ('00000000-0000-4000-8000-000000000102', 'operator@ald.example',       '{"full_name": "Demo Operator"}'),
  ('00000000-0000-4000-8000-000000000103', 'admin@ald.example',          '{"full_name": "Demo Admin"}'),
  ('00000000-0000-4000-8000-000000000201', 'bench-operator@ald.example', '{"full_name": "Bench B Operator"}')
on conflict (id) do nothing;

insert into public.machines (id, name, model, serial_number, location) values
  ('00000000-0000-4000-8000-000000000001', 'ALD Reactor A', 'Thermal ALD, 200 mm', 'ALD-A-0001', 'Clean room, bay 2'),
  ('00000000-0000-4000-8000-000000000002', 'Test Bench B', 'PLC test bench', 'BENCH-B-0001', 'Electronics lab')
on conflict (id) do nothing;

insert into public.machine_operators (machine_id, user_id, role) values
  ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000101', 'viewer'),
  ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000102', 'operator'),
  ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000103', 'admin'),
  ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000201', 'operator')
on conflict (machine_id, user_id) do nothing;

-- components of ALD Reactor A: 9 heaters, MFC, N2 generator, 2 gauges, 6 valves, gate valve, pump = 21
insert into public.machine_components (id, machine_id, name, component_type) values
  ('00000000-0000-4000-8000-000000001001', '00000000-0000-4000-8000-000000000001', 'chamber_heater', 'heater'),
  ('00000000-0000-4000-8000-000000001002', '00000000-0000-4000-8000-000000000001', 'substrate_heater', 'heater'),
  ('00000000-0000-4000-8000-000000001003', '00000000-0000-4000-8000-000000000001', 'lid_heater', 'heater'),
  ('00000000-0000-4000-8000-000000001004', '00000000-0000-4000-8000-000000000001', 'precursor_line_heater_1', 'heater'),
  ('00000000-0000-4000-8000-000000001005', '00000000-0000-4000-8000-000000000001', 'precursor_line_heater_2', 'heater'),
  ('00000000-0000-4000-8000-000000001006', '00000000-0000-4000-8000-000000000001', 'precursor_line_heater_3', 'heater'),
  ('00000000-0000-4000-8000-000000001007', '00000000-0000-4000-8000-000000000001', 'precursor_line_heater_4', 'heater'),
  ('00000000-0000-4000-8000-000000001008', '00000000-0000-4000-8000-000000000001', 'foreline_heater', 'heater'),
  ('00000000-0000-4000-8000-000000001009', '00000000-0000-4000-8000-000000000001', 'trap_heater', 'heater'),
  ('00000000-0000-4000-8000-000000001010', '00000000-0000-4000-8000-000000000001', 'carrier_gas_mfc', 'mass_flow_controller'),
  ('00000000-0000-4000-8000-000000001011', '00000000-0000-4000-8000-000000000001', 'nitrogen_generator', 'nitrogen_generator'),
  ('00000000-0000-4000-8000-000000001012', '00000000-0000-4000-8000-000000000001', 'chamber_pressure_gauge', 'pressure_gauge'),
  ('00000000-0000-4000-8000-000000001013', '00000000-0000-4000-8000-000000000001', 'foreline_pressure_gauge', 'pressure_gauge'),
  ('00000000-0000-4000-8000-000000001014', '00000000-0000-4000-8000-000000000001', 'valve_1', 'valve'),
  ('00000000-0000-4000-8000-000000001015', '00000000-0000-4000-8000-000000000001', 'valve_2', 'valve'),
  ('00000000-0000-4000-8000-000000001016', '00000000-0000-4000-8000-000000000001', 'valve_3', 'valve'),
  ('00000000-0000-4000-8000-000000001017', '00000000-0000-4000-8000-000000000001', 'valve_4', 'valve'),
  ('00000000-0000-4000-8000-000000001018', '00000000-0000-4000-8000-000000000001', 'valve_5', 'valve'),
  ('00000000-0000-4000-8000-000000001019', '00000000-0000-4000-8000-000000000001', 'valve_6', 'valve'),
  ('00000000-0000-4000-8000-000000001020', '00000000-0000-4000-8000-000000000001', 'gate_valve', 'gate_valve'),
  ('00000000-0000-4000-8000-000000001021', '00000000-0000-4000-8000-000000000001', 'vacuum_pump', 'pump')
on conflict (id) do nothing;

-- 9 heaters x 11 parameters = 99. Per heater: setpoint range, idle setpoint, over-temperature
-- limit and PID gains; the template gives the rest. Offsets are relative to the heater's block.
insert into public.component_parameters
  (id, component_id, machine_id, name, display_name, unit, data_type, min_value, max_value, set_value,
   is_writable, read_modbus_address, read_modbus_type, write_modbus_address, write_modbus_type, modbus_value_type)
select
  md5('ald-demo/' || h.name || '/' || p.name)::uuid,
  h.id,
  '00000000-0000-4000-8000-000000000001',
  p.name,
  p.display_name,
  p.unit,
  p.data_type::public.parameter_data_type,
  p.min_value,
  coalesce(p.max_value, h.t_max),
  case p.name
    when 'temperature_set' then h.t_set
    when 'temp_max_limit' then h.t_limit
    when 'kp' then h.kp
    when 'ki' then h.ki
    when 'kd' then h.kd
    else p.set_value
  end,
  p.is_writable,
  case p.register
    when 'input_register' then 3000 + 10 * h.slot + p.offset_
    when 'holding_register' then 1000 + 20 * h.slot + p.offset_
    when 'coil' then 100 + 10 * h.slot + p.offset_
  end,
  p.register::public.modbus_register_type,
  case when p.is_writable then
    case p.register
      when 'holding_register' then 1000 + 20 * h.slot + p.offset_
      when 'coil' then 100 + 10 * h.slot + p.offset_
    end
  end,
  case when p.is_writable then p.register::public.modbus_register_type end,
  p.value_type::public.modbus_value_type
from (values
  -- id,                                    name,                      slot, t_max, t_set, t_limit, kp,  ki,    kd
  ('00000000-0000-4000-8000-000000001001'::uuid, 'chamber_heater',          0, 400.0, 150.0, 300.0, 4.0, 0.020, 20.0),
  ('00000000-0000-4000-8000-000000001002'::uuid, 'substrate_heater',        1, 400.0, 200.0, 350.0, 6.0, 0.030, 15.0),
  ('00000000-0000-4000-8000-000000001003'::uuid, 'lid_heater',              2, 300.0, 150.0, 250.0, 3.5, 0.020, 12.0),
  ('00000000-0000-4000-8000-000000001004'::uuid, 'precursor_line_heater_1', 3, 200.0,  80.0, 150.0, 2.0, 0.050,  5.0),
  ('00000000-0000-4000-8000-000000001005'::uuid, 'precursor_line_heater_2', 4, 200.0,  80.0, 150.0, 2.0, 0.050,  5.0),
  ('00000000-0000-4000-8000-000000001006'::uuid, 'precursor_line_heater_3', 5, 200.0,  90.0, 150.0, 2.0, 0.050,  5.0),
  ('00000000-0000-4000-8000-000000001007'::uuid, 'precursor_line_heater_4', 6, 200.0,  90.0, 150.0, 2.0, 0.050,  5.0),
  ('00000000-0000-4000-8000-000000001008'::uuid, 'foreline_heater',         7, 200.0, 120.0, 180.0, 2.5, 0.040,  8.0),
  ('00000000-0000-4000-8000-000000001009'::uuid, 'trap_heater',             8, 250.0, 150.0, 220.0, 3.0, 0.030, 10.0)
) h (id, name, slot, t_max, t_set, t_limit, kp, ki, kd)
cross join (values
  -- name,             display name,                     unit,   type,      min,  max,     set,    writable, register,          offset, value type
  ('temperature_read', 'Temperature (reading)',           '°C',   'float',    0.0, 400.0,    null::float8, false, 'input_register',   0, 'float32'),
  ('temperature_set',  'Temperature setpoint',            '°C',   'float',    0.0, null,     null,   true,  'holding_register',  0, 'float32'),
  ('temp_min_limit',   'Low temperature alarm limit',     '°C',   'float',    0.0, null,     20.0,   true,  'holding_register',  2, 'float32'),
  ('temp_max_limit',   'Over-temperature limit',          '°C',   'float',    0.0, null,     null,   true,  'holding_register',  4, 'float32'),
  ('kp',               'PID proportional gain',           '%/°C', 'float',    0.0, 1000.0,   null,   true,  'holding_register',  6, 'float32'),
  ('ki',               'PID integral gain',               '1/s',  'float',    0.0, 100.0,    null,   true,  'holding_register',  8, 'float32'),
  ('kd',               'PID derivative gain',             's',    'float',    0.0, 1000.0,   null,   true,  'holding_register', 10, 'float32'),
  ('pid_output',       'PID output (reading)',            '%',    'float',    0.0, 100.0,    null,   false, 'input_register',   2, 'float32'),
  ('pid_period',       'PID cycle period',                'ms',   'integer', 10.0, 5000.0,   1000.0, true,  'holding_register', 12, 'uint16'),
  ('power_on',         'Heater power',                    null,   'binary',   0.0, 1.0,      1.0,    true,  'coil',              0, 'bool'),
  ('autotune_on',      'PID autotune running',            null,   'binary',   0.0, 1.0,      0.0,    true,  'coil',              1, 'bool')
) p (name, display_name, unit, data_type, min_value, max_value, set_value, is_writable, register, offset_, value_type)
on conflict (id) do nothing;

-- The other 38 parameters of ALD Reactor A: MFC 9, N2 generator 7, gauges 2 x 7, valves 6,
-- gate valve 1, pump 1. Read-only readings have no setpoint and no write address.
insert into public.component_parameters
  (id, component_id, machine_id, name, display_name, unit, data_type, min_value, max_value, set_value,
   is_writable, read_modbus_address, read_modbus_type, write_modbus_address, write_modbus_type, modbus_value_type)
select
  md5('ald-demo/' || c.name || '/' || p.name)::uuid,
  c.id,
  c.machine_id,
  p.name,
  p.display_name,
  p.unit,
  p.data_type::public.parameter_data_type,
  p.min_value,
  p.max_value,
  p.set_value,
  p.is_writable,
  p.address,
  p.register::public.modbus_register_type,
  case when p.is_writable then p.address end,
  case when p.is_writable then p.register::public.modbus_register_type end,
  p.value_type::public.modbus_value_type
from (values
  -- component,               name,                   display name,                              unit,   type,       min,    max,      set,     writable, register,          address, value type
  ('carrier_gas_mfc',         'flow_rate_set',         'Flow setpoint',                           'sccm', 'float',      0.0,  500.0,    100.0::float8, true,  'holding_register', 2000, 'float32'),
  ('carrier_gas_mfc',         'flow_rate_read',        'Flow (reading)',                          'sccm', 'float',      0.0,  500.0,    null,    false, 'input_register',   3100, 'float32'),
  ('carrier_gas_mfc',         'valve_override',        'Valve override (0 control, 1 closed, 2 open)', null, 'integer', 0.0,  2.0,      0.0,     true,  'holding_register', 2002, 'uint16'),
  ('carrier_gas_mfc',         'gas_correction_factor', 'Gas correction factor (N2 = 1)',          null,   'float',      0.1,  10.0,     1.0,     true,  'holding_register', 2004, 'float32'),
  ('carrier_gas_mfc',         'valve_position_read',   'Control valve position (reading)',        '%',    'float',      0.0,  100.0,    null,    false, 'input_register',   3102, 'float32'),
  ('carrier_gas_mfc',         'ramp_time',             'Setpoint ramp time',                      'ms',   'integer',   10.0,  5000.0,   500.0,   true,  'holding_register', 2006, 'uint16'),
  ('carrier_gas_mfc',         'flow_total_read',       'Totalised flow (reading)',                'scc',  'float',      0.0,  null,     null,    false, 'input_register',   3104, 'float32'),
  ('carrier_gas_mfc',         'flow_deviation_alarm',  'Flow deviation alarm threshold',          '%',    'float',      0.0,  100.0,    5.0,     true,  'holding_register', 2008, 'float32'),
  ('carrier_gas_mfc',         'power_on',              'MFC enabled',                             null,   'binary',     0.0,  1.0,      1.0,     true,  'coil',              200, 'bool'),

  ('nitrogen_generator',      'purity_read',           'N2 purity (reading)',                     '%',    'float',     90.0,  100.0,    null,    false, 'input_register',   3200, 'float32'),
  ('nitrogen_generator',      'purity_set',            'N2 purity setpoint',                      '%',    'float',     95.0,  99.999,   99.99,   true,  'holding_register', 2100, 'float32'),
  ('nitrogen_generator',      'outlet_pressure_read',  'Outlet pressure (reading)',               'kPa',  'float',      0.0,  1000.0,   null,    false, 'input_register',   3202, 'float32'),
  ('nitrogen_generator',      'flow_read',             'N2 flow (reading)',                       'slm',  'float',      0.0,  50.0,     null,    false, 'input_register',   3204, 'float32'),
  ('nitrogen_generator',      'running',               'Generator running',                       null,   'binary',     0.0,  1.0,      1.0,     true,  'coil',              300, 'bool'),
  ('nitrogen_generator',      'alarm_active',          'Generator alarm (reading)',               null,   'binary',     0.0,  1.0,      null,    false, 'discrete_input',    300, 'bool'),
  ('nitrogen_generator',      'operating_hours_read',  'Operating hours (reading)',               'h',    'integer',    0.0,  null,     null,    false, 'input_register',   3206, 'uint32'),

  ('chamber_pressure_gauge',  'pressure_read',         'Chamber pressure (reading)',              'Pa',   'float',      0.0,  100000.0, null,    false, 'input_register',   3300, 'float32'),
  ('chamber_pressure_gauge',  'pressure_setpoint',     'Process pressure setpoint',               'Pa',   'float',      0.0,  100000.0, 100.0,   true,  'holding_register', 2200, 'float32'),
  ('chamber_pressure_gauge',  'alarm_low_limit',       'Low pressure alarm limit',                'Pa',   'float',      0.0,  100000.0, 0.0,     true,  'holding_register', 2202, 'float32'),
  ('chamber_pressure_gauge',  'alarm_high_limit',      'High pressure alarm limit',               'Pa',   'float',      0.0,  100000.0, 2000.0,  true,  'holding_register', 2204, 'float32'),
  ('chamber_pressure_gauge',  'filter_time',           'Reading filter time',                     'ms',   'integer',   10.0,  5000.0,   100.0,   true,  'holding_register', 2206, 'uint16'),
  ('chamber_pressure_gauge',  'sensor_ok',             'Sensor healthy (reading)',                null,   'binary',     0.0,  1.0,      null,    false, 'discrete_input',    310, 'bool'),
  ('chamber_pressure_gauge',  'power_on',              'Gauge powered',                           null,   'binary',     0.0,  1.0,      1.0,     true,  'coil',              310, 'bool'),

  ('foreline_pressure_gauge', 'pressure_read',         'Foreline pressure (reading)',             'Pa',   'float',      0.0,  100000.0, null,    false, 'input_register',   3310, 'float32'),
  ('foreline_pressure_gauge', 'pressure_setpoint',     'Foreline pressure setpoint',              'Pa',   'float',      0.0,  100000.0, 10.0,    true,  'holding_register', 2220, 'float32'),
  ('foreline_pressure_gauge', 'alarm_low_limit',       'Low pressure alarm limit',                'Pa',   'float',      0.0,  100000.0, 0.0,     true,  'holding_register', 2222, 'float32'),
  ('foreline_pressure_gauge', 'alarm_high_limit',      'High pressure alarm limit',               'Pa',   'float',      0.0,  100000.0, 500.0,   true,  'holding_register', 2224, 'float32'),
  ('foreline_pressure_gauge', 'filter_time',           'Reading filter time',                     'ms',   'integer',   10.0,  5000.0,   100.0,   true,  'holding_register', 2226, 'uint16'),
  ('foreline_pressure_gauge', 'sensor_ok',             'Sensor healthy (reading)',                null,   'binary',     0.0,  1.0,      null,    false, 'discrete_input',    311, 'bool'),
  ('foreline_pressure_gauge', 'power_on',              'Gauge powered',                           null,   'binary',     0.0,  1.0,      1.0,     true,  'coil',              311, 'bool'),

  ('valve_1',                 'state',                 'Valve 1 (TMA) open',                      null,   'binary',     0.0,  1.0,      0.0,     true,  'coil',              400, 'bool'),
  ('valve_2',                 'state',                 'Valve 2 (H2O) open',                      null,   'binary',     0.0,  1.0,      0.0,     true,  'coil',              401, 'bool'),
  ('valve_3',                 'state',                 'Valve 3 open',                            null,   'binary',     0.0,  1.0,      0.0,     true,  'coil',              402, 'bool'),
  ('valve_4',                 'state',                 'Valve 4 open',                            null,   'binary',     0.0,  1.0,      0.0,     true,  'coil',              403, 'bool'),
  ('valve_5',                 'state',                 'Valve 5 (N2 purge) open',                 null,   'binary',     0.0,  1.0,      0.0,     true,  'coil',              404, 'bool'),
  ('valve_6',                 'state',                 'Valve 6 (vent) open',                     null,   'binary',     0.0,  1.0,      0.0,     true,  'coil',              405, 'bool'),
  ('gate_valve',              'state',                 'Gate valve open',                         null,   'binary',     0.0,  1.0,      1.0,     true,  'coil',              410, 'bool'),
  ('vacuum_pump',             'power_on',              'Vacuum pump running',                     null,   'binary',     0.0,  1.0,      1.0,     true,  'coil',              420, 'bool')
) p (component, name, display_name, unit, data_type, min_value, max_value, set_value, is_writable, register, address, value_type)
join public.machine_components c
  on c.machine_id = '00000000-0000-4000-8000-000000000001' and c.name = p.component
on conflict (id) do nothing;

-- Test Bench B: 2 components, 4 parameters; exists so that RLS between machines can be tested.
insert into public.machine_components (id, machine_id, name, component_type) values
  ('00000000-0000-4000-8000-000000002001', '00000000-0000-4000-8000-000000000002', 'bench_heater', 'heater'),
  ('00000000-0000-4000-8000-000000002002', '00000000-0000-4000-8000-000000000002', 'bench_valve', 'valve')
on conflict (id) do nothing;

insert into public.component_parameters
  (id, component_id, machine_id, name, display_name, unit, data_type, min_value, max_value, set_value,
   is_writable, read_modbus_address, read_modbus_type, write_modbus_address, write_modbus_type, modbus_value_type)
values
  (md5('ald-demo/bench_heater/temperature_read')::uuid, '00000000-0000-4000-8000-000000002001', '00000000-0000-4000-8000-000000000002',
   'temperature_read', 'Temperature (reading)', '°C', 'float', 0, 200, null, false, 3000, 'input_register', null, null, 'float32'),
  (md5('ald-demo/bench_heater/temperature_set')::uuid, '00000000-0000-4000-8000-000000002001', '00000000-0000-4000-8000-000000000002',
   'temperature_set', 'Temperature setpoint', '°C', 'float', 0, 200, 25, true, 1000, 'holding_register', 1000, 'holding_register', 'float32'),
  (md5('ald-demo/bench_heater/power_on')::uuid, '00000000-0000-4000-8000-000000002001', '00000000-0000-4000-8000-000000000002',
   'power_on', 'Heater power', null, 'binary', 0, 1, 0, true, 100, 'coil', 100, 'coil', 'bool'),
  (md5('ald-demo/bench_valve/state')::uuid, '00000000-0000-4000-8000-000000002002', '00000000-0000-4000-8000-000000000002',
   'state', 'Bench valve open', null, 'binary', 0, 1, 0, true, 400, 'coil', 400, 'coil', 'bool')
on conflict (id) do nothing;

-- Recipe: thermal Al2O3 from trimethylaluminium (valve 1) and water (valve 2), every step type.
--   3101  1 parameter  Chamber to 200 °C            chamber_heater.temperature_set = 200
--   3102  2 purge      Initial purge                N2, 5000 ms, 100 sccm
--   3103  3 loop       ALD cycle                    10 iterations of:
--   3104    1 valve      TMA pulse                    valve 1, 50 ms
--   3105    2 purge      Purge after TMA              N2, 3000 ms, 100 sccm
--   3106    3 valve      H2O pulse                    valve 2, 50 ms
--   3107    4 purge      Purge after H2O              N2, 4000 ms, 100 sccm
--   3108  4 purge      Final purge                  N2, 5000 ms, 200 sccm
--   3109  5 parameter  Chamber back to 150 °C       chamber_heater.temperature_set = 150
insert into public.recipes (id, machine_id, name, description, created_by) values
  ('00000000-0000-4000-8000-000000003001', '00000000-0000-4000-8000-000000000001', 'Al2O3 (TMA/H2O) 10 cycles',
   'Thermal ALD of Al2O3 at 200 °C: TMA on valve 1, H2O on valve 2, N2 purges; about 1.1 Å per cycle.',
   '00000000-0000-4000-8000-000000000103')
on conflict (id) do nothing;

-- The loop is inserted before its children: the parent-is-a-loop trigger looks it up.
insert into public.recipe_steps (id, recipe_id, parent_step_id, sequence_number, step_type, name) values
  ('00000000-0000-4000-8000-000000003101', '00000000-0000-4000-8000-000000003001', null, 1, 'parameter', 'Chamber to 200 °C'),
  ('00000000-0000-4000-8000-000000003102', '00000000-0000-4000-8000-000000003001', null, 2, 'purge', 'Initial purge'),
  ('00000000-0000-4000-8000-000000003103', '00000000-0000-4000-8000-000000003001', null, 3, 'loop', 'ALD cycle'),
  ('00000000-0000-4000-8000-000000003108', '00000000-0000-4000-8000-000000003001', null, 4, 'purge', 'Final purge'),
  ('00000000-0000-4000-8000-000000003109', '00000000-0000-4000-8000-000000003001', null, 5, 'parameter', 'Chamber back to 150 °C')
on conflict (id) do nothing;

insert into public.recipe_steps (id, recipe_id, parent_step_id, sequence_number, step_type, name) values
  ('00000000-0000-4000-8000-000000003104', '00000000-0000-4000-8000-000000003001', '00000000-0000-4000-8000-000000003103', 1, 'valve', 'TMA pulse'),
  ('00000000-0000-4000-8000-000000003105', '00000000-0000-4000-8000-000000003001', '00000000-0000-4000-8000-000000003103', 2, 'purge', 'Purge after TMA'),
  ('00000000-0000-4000-8000-000000003106', '00000000-0000-4000-8000-000000003001', '00000000-0000-4000-8000-000000003103', 3, 'valve', 'H2O pulse'),
  ('00000000-0000-4000-8000-000000003107', '00000000-0000-4000-8000-000000003001', '00000000-0000-4000-8000-000000003103', 4, 'purge', 'Purge after H2O')
on conflict (id) do nothing;

insert into public.parameter_step_configs (step_id, parameter_id, value) values
  ('00000000-0000-4000-8000-000000003101', md5('ald-demo/chamber_heater/temperature_set')::uuid, 200),
  ('00000000-0000-4000-8000-000000003109', md5('ald-demo/chamber_heater/temperature_set')::uuid, 150)
on conflict (step_id) do nothing;

insert into public.purge_step_configs (step_id, duration_ms, gas_type, flow_rate_sccm) values
  ('00000000-0000-4000-8000-000000003102', 5000, 'N2', 100),
  ('00000000-0000-4000-8000-000000003105', 3000, 'N2', 100),
  ('00000000-0000-4000-8000-000000003107', 4000, 'N2', 100),
  ('00000000-0000-4000-8000-000000003108', 5000, 'N2', 200)
on conflict (step_id) do nothing;

insert into public.loop_step_configs (step_id, iteration_count) values
  ('00000000-0000-4000-8000-000000003103', 10)
on conflict (step_id) do nothing;

insert into public.valve_step_configs (step_id, valve_number, duration_ms) values
  ('00000000-0000-4000-8000-000000003104', 1, 50),
  ('00000000-0000-4000-8000-000000003106', 2, 50)
on conflict (step_id) do nothing;

-- Self-check: the counts docs/design.md §1 gives, and a Modbus map without overlapping registers.
-- Fails the whole seed (and rolls it back) if an edit breaks either.
do $$
declare
  reactor constant uuid := '00000000-0000-4000-8000-000000000001';
  n_components bigint;
  n_parameters bigint;
  clash text;
begin
  select count(*) into n_components from public.machine_components where machine_id = reactor;
  select count(*) into n_parameters from public.component_parameters where machine_id = reactor;
  if n_components <> 21 or n_parameters <> 137 then
    raise exception 'seed: ALD Reactor A must have 21 components and 137 parameters, but has % and %',
      n_components, n_parameters;
  end if;

  -- Every register a parameter touches (float32/int32/uint32 span two), read and write alike;
  -- a setpoint reading back its own write register counts once.
  with touched as (
    select distinct p.machine_id, p.id, a.register_type, a.address + w.k as address
    from public.component_parameters p
    cross join lateral (values (p.read_modbus_type, p.read_modbus_address),
                               (p.write_modbus_type, p.write_modbus_address)) a (register_type, address)
    cross join lateral generate_series(0, case when p.modbus_value_type in ('float32', 'int32', 'uint32') then 1 else 0 end) w (k)
    where a.address is not null
  )
  select string_agg(format('%s %s', t1.register_type, t1.address), ', ') into clash
  from touched t1
  join touched t2 on t2.machine_id = t1.machine_id and t2.register_type = t1.register_type
                 and t2.address = t1.address and t2.id > t1.id;
  if clash is not null then
    raise exception 'seed: Modbus registers used by two parameters: %', clash;
  end if;

  select string_agg(p.name || '@' || coalesce(p.read_modbus_address, p.write_modbus_address), ', ') into clash
  from public.component_parameters p
  where p.modbus_value_type in ('float32', 'int32', 'uint32')
    and (p.read_modbus_address % 2 <> 0 or p.write_modbus_address % 2 <> 0);
  if clash is not null then
    raise exception 'seed: 32-bit values must start at even addresses: %', clash;
  end if;
end;
$$;

commit;
