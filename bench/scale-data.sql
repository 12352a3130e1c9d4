-- Scale data for bench/scale-check.ts, loaded on top of the seed of a throwaway database.
--
-- Every loaded machine is a copy of ALD Reactor A (21 components, 137 parameters, its recipe), so the
-- numbers are those of real machines, only many of them. Sizes come from settings that
-- scale-check.ts sets before running this file:
--   ald_scale.machines          machines to add (the seed has 2)
--   ald_scale.data_processes    completed runs that have recorded data
--   ald_scale.ticks             recorded ticks (seconds) per such run
--   ald_scale.running_ticks     ticks already recorded by the one running process
--   ald_scale.telemetry_machines  machines whose recorder has run for telemetry_ticks seconds
--   ald_scale.telemetry_ticks     ticks (seconds) of always-on telemetry per such machine, ending now
-- Rows are generated with generate_series in a few statements. Triggers and foreign-key checks
-- are skipped (session_replication_role = replica) because the data is consistent by
-- construction and the per-row triggers (version, epoch, NOTIFY) would dominate the load time;
-- what they would have written (epoch rows, versions, the steps' machine_id) is written here directly. Indexes are
-- maintained as usual: they are what this check is about.

set session_replication_role = replica;

create temp table scale_settings as
select current_setting('ald_scale.machines')::int as machines,
       current_setting('ald_scale.data_processes')::int as data_processes,
       current_setting('ald_scale.ticks')::int as ticks,
       current_setting('ald_scale.running_ticks')::int as running_ticks,
       current_setting('ald_scale.telemetry_machines')::int as telemetry_machines,
       current_setting('ald_scale.telemetry_ticks')::int as telemetry_ticks,
       '00000000-0000-4000-8000-000000000001'::uuid as template_machine;

-- Machines, each with an operator of its own, plus one viewer who sees the whole fleet. ---------
create temp table scale_machines as
select g as n, gen_random_uuid() as id, gen_random_uuid() as operator_id
from scale_settings s, generate_series(1, s.machines) g;

insert into public.machines (id, name, model, serial_number, location)
select m.id, format('Scale machine %s', lpad(m.n::text, 4, '0')), 'Thermal ALD, 200 mm',
       format('SCALE-%s', lpad(m.n::text, 4, '0')), format('Fab %s, bay %s', m.n % 7, m.n % 40)
from scale_machines m;

insert into public.machine_parameter_epochs (machine_id, epoch)
select m.id, 137 from scale_machines m;

insert into auth.users (id, email)
select m.operator_id, format('operator-%s@scale.example', m.n) from scale_machines m
union all
select '00000000-0000-4000-8000-00000000f1ee'::uuid, 'fleet-viewer@scale.example';

insert into public.machine_operators (machine_id, user_id, role)
select m.id, m.operator_id, 'operator'::public.operator_role from scale_machines m
union all
select m.id, '00000000-0000-4000-8000-00000000f1ee', 'viewer'::public.operator_role from public.machines m;

-- Components and parameters: copies of ALD Reactor A's, inserted machine by machine (as a
-- machine is configured at once). One heater parameter in five machines is inactive, so the
-- is_active filter has something to remove. --------------------------------------------------
create temp table scale_components as
select gen_random_uuid() as id, m.id as machine_id, m.n, c.id as template_id, c.name, c.component_type
from scale_machines m
cross join public.machine_components c
join scale_settings s on c.machine_id = s.template_machine;

insert into public.machine_components (id, machine_id, name, component_type)
select id, machine_id, name, component_type from scale_components order by n, name;

insert into public.component_parameters
  (id, component_id, machine_id, name, display_name, unit, data_type, min_value, max_value, set_value,
   is_writable, is_active, read_modbus_address, read_modbus_type, write_modbus_address, write_modbus_type,
   modbus_value_type)
select gen_random_uuid(), c.id, c.machine_id, p.name, p.display_name, p.unit, p.data_type, p.min_value,
       p.max_value, p.set_value, p.is_writable, not (p.name = 'autotune_on' and c.n % 5 = 0),
       p.read_modbus_address, p.read_modbus_type, p.write_modbus_address, p.write_modbus_type,
       p.modbus_value_type
from scale_components c
join public.component_parameters p on p.component_id = c.template_id
order by c.n, c.name, p.name;

-- Recipes: a copy of the seed recipe (9 steps, every step type, a loop) on every machine, its
-- parameter steps pointing at the machine's own parameters. ------------------------------------
create temp table scale_recipes as
select gen_random_uuid() as id, m.id as machine_id, m.n from scale_machines m;

insert into public.recipes (id, machine_id, name, description)
select r.id, r.machine_id, t.name, t.description
from scale_recipes r cross join public.recipes t
where t.id = '00000000-0000-4000-8000-000000003001';

create temp table scale_steps as
select gen_random_uuid() as id, r.id as recipe_id, r.machine_id, s.id as template_id,
       s.parent_step_id as template_parent_id, s.sequence_number, s.step_type, s.name
from scale_recipes r cross join public.recipe_steps s
where s.recipe_id = '00000000-0000-4000-8000-000000003001';

insert into public.recipe_steps (id, recipe_id, machine_id, parent_step_id, sequence_number, step_type, name)
select s.id, s.recipe_id, s.machine_id, p.id, s.sequence_number, s.step_type, s.name
from scale_steps s
left join scale_steps p on p.recipe_id = s.recipe_id and p.template_id = s.template_parent_id;

insert into public.valve_step_configs (step_id, valve_number, duration_ms)
select s.id, c.valve_number, c.duration_ms from scale_steps s join public.valve_step_configs c on c.step_id = s.template_id;
insert into public.purge_step_configs (step_id, duration_ms, gas_type, flow_rate_sccm)
select s.id, c.duration_ms, c.gas_type, c.flow_rate_sccm from scale_steps s join public.purge_step_configs c on c.step_id = s.template_id;
insert into public.loop_step_configs (step_id, iteration_count)
select s.id, c.iteration_count from scale_steps s join public.loop_step_configs c on c.step_id = s.template_id;
insert into public.parameter_step_configs (step_id, machine_id, parameter_id, value)
select s.id, s.machine_id, np.id, c.value
from scale_steps s
join public.parameter_step_configs c on c.step_id = s.template_id
join public.component_parameters tp on tp.id = c.parameter_id
join scale_components nc on nc.machine_id = s.machine_id and nc.template_id = tp.component_id
join public.component_parameters np on np.component_id = nc.id and np.name = tp.name;

-- Process executions: three finished runs on every machine over the last four months, the runs
-- that have data, and one running process (on the last machine) that record_process_data ticks. --
insert into public.process_executions (machine_id, recipe_snapshot, status, started_at, ended_at)
select m.id, '{"recipe": {"name": "scale"}, "steps": []}'::jsonb, 'completed',
       now() - make_interval(days => 7 + k * 35 + m.n % 30),
       now() - make_interval(days => 7 + k * 35 + m.n % 30) + interval '2 hours'
from scale_machines m cross join generate_series(0, 2) k;

create temp table scale_data_processes as
select gen_random_uuid() as id, m.id as machine_id, m.n,
       -- spread over about 100 days, so over four monthly partitions
       date_trunc('second', now()) - make_interval(days => 1 + (m.n * 100) / s.data_processes) as started_at
from scale_settings s
join scale_machines m on m.n <= s.data_processes;

insert into public.process_executions (id, machine_id, recipe_snapshot, status, started_at, ended_at)
select p.id, p.machine_id, '{"recipe": {"name": "scale"}, "steps": []}'::jsonb, 'completed',
       p.started_at, p.started_at + make_interval(secs => s.ticks)
from scale_data_processes p, scale_settings s;

create temp table scale_running as
select gen_random_uuid() as id, m.id as machine_id,
       date_trunc('second', now()) - make_interval(secs => s.running_ticks) as started_at
from scale_settings s
join scale_machines m on m.n = s.machines;

insert into public.process_executions (id, machine_id, recipe_snapshot, status, started_at)
select r.id, r.machine_id, '{"recipe": {"name": "scale"}, "steps": []}'::jsonb, 'running', r.started_at
from scale_running r;
update public.machines m set status = 'running', current_process_id = r.id
from scale_running r where m.id = r.machine_id;

insert into public.process_execution_state (process_id, total_steps, completed_steps, progress_percent)
select e.id, 50, case when e.status = 'running' then 10 else 50 end, case when e.status = 'running' then 20 else 100 end
from public.process_executions e;

-- 50 executed steps per run (the audit advance_step writes and complete_process closes).
insert into public.step_executions (process_id, step_index, step_type, status, started_at, ended_at)
select e.id, i, (array['valve', 'purge', 'valve', 'purge']::public.step_type[])[1 + i % 4], 'completed',
       e.started_at + make_interval(secs => i * 10), e.started_at + make_interval(secs => i * 10 + 9)
from public.process_executions e cross join generate_series(0, 49) i
where e.status = 'completed' or i < 10;

-- Commands: a long history per machine and two still pending (the newest). -----------------------
insert into public.recipe_commands (machine_id, command_type, status, parameters, created_at, claimed_at, claimed_by, completed_at)
select m.id, 'set_parameter', 'completed', jsonb_build_object('n', i),
       now() - make_interval(mins => 100 * (100 - i)), now() - make_interval(mins => 100 * (100 - i)),
       'scale-controller', now() - make_interval(mins => 100 * (100 - i))
from scale_machines m cross join generate_series(1, 98) i;

insert into public.recipe_commands (machine_id, command_type, status, parameters, created_at)
select m.id, 'set_parameter', 'pending', jsonb_build_object('n', i), now() - make_interval(mins => 3 - i)
from scale_machines m cross join generate_series(1, 2) i;

-- Setpoint audit: two changes per writable parameter, half of them with a request_id. -----------
insert into public.parameter_changes
  (parameter_id, machine_id, old_value, new_value, old_version, new_version, changed_by_role, source,
   request_id, changed_at)
select p.id, p.machine_id, p.set_value, p.set_value, k, k + 1, 'service_role', 'recipe',
       case when k = 1 then gen_random_uuid() end, now() - make_interval(days => k * 20)
from public.component_parameters p
join scale_machines m on m.id = p.machine_id
cross join generate_series(1, 2) k
where p.is_writable;

-- Recorded data: one public.readings row per machine tick, the values in the order of the
-- machine's layout (its parameters by id). A machine cycles through 600 value vectors (10 minutes
-- of a slow ramp per parameter, plus noise), so values vary over time while the load copies
-- arrays instead of aggregating 100 million numbers. Ticks go in key order (machine, ts). -------
insert into public.reading_layouts (machine_id, version, parameter_ids)
select m.id, 1, array_agg(cp.id order by cp.id)
from public.machines m join public.component_parameters cp on cp.machine_id = m.id
where m.id in (select machine_id from scale_data_processes union select machine_id from scale_running
               union select id from scale_machines where n <= (select telemetry_machines from scale_settings))
group by m.id;

create temp table scale_vectors as
select l.machine_id, c as cycle,
       array_agg(round(((c % 600) / 6.0 + p.rank + random() - 0.5)::numeric, 4)::float8 order by p.rank) as vals,
       array_agg(p.set_value order by p.rank) as set_points
from public.reading_layouts l
cross join lateral (select cp.id, cp.set_value, row_number() over (order by cp.id) as rank
                    from public.component_parameters cp where cp.machine_id = l.machine_id) p
cross join generate_series(0, 599) c
group by l.machine_id, c;
create index on scale_vectors (machine_id, cycle);
analyze scale_vectors;

-- the runs with data, and the running process so far
insert into public.readings (machine_id, ts, layout_version, process_id, vals, set_points)
select d.machine_id, d.started_at + make_interval(secs => t), 1, d.id, v.vals, v.set_points
from (select * from scale_data_processes union all
      select r.id, r.machine_id, 0, r.started_at from scale_running r) d
cross join scale_settings s
cross join lateral generate_series(0, case when d.n = 0 then s.running_ticks else s.ticks end - 1) t
join scale_vectors v on v.machine_id = d.machine_id and v.cycle = t % 600
order by d.machine_id, 2;

-- always-on telemetry: the first telemetry_machines machines, every second up to now, outside runs
insert into public.readings (machine_id, ts, layout_version, process_id, vals, set_points)
select m.id, date_trunc('second', now()) - make_interval(secs => s.telemetry_ticks - t), 1, null, v.vals, v.set_points
from scale_machines m
cross join scale_settings s
cross join lateral generate_series(0, s.telemetry_ticks - 1) t
join scale_vectors v on v.machine_id = m.id and v.cycle = t % 600
where m.n <= s.telemetry_machines
order by m.id, 2
on conflict do nothing;

insert into public.latest_readings (machine_id, ts, layout_version, process_id, vals, set_points)
select distinct on (r.machine_id) r.machine_id, r.ts, r.layout_version, r.process_id, r.vals, r.set_points
from public.readings r
where r.machine_id in (select machine_id from public.reading_layouts)
  and r.ts > now() - interval '2 days'
order by r.machine_id, r.ts desc;

set session_replication_role = origin;
