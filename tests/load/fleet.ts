// A fleet of machines for the load runs: N copies of the seed's ALD Reactor A (21 components,
// 137 parameters, its 45-step recipe), made in a handful of set-based statements, so 50 machines
// take about a second. Ids are md5(machine id || seed id), as tests/sdk/support.ts cloneReactor.
import { createHash, randomUUID } from 'node:crypto';
import type postgres from 'postgres';

/** supabase/seed.sql: ALD Reactor A and its recipe. */
const SEED_MACHINE = '00000000-0000-4000-8000-000000000001';
const SEED_RECIPE = '00000000-0000-4000-8000-000000003001';

export interface FleetMachine {
  machineId: string;
  recipeId: string;
  parameterIds: string[];
}

export async function createFleet(sql: postgres.Sql, size: number, label: string): Promise<FleetMachine[]> {
  const ids = Array.from({ length: size }, () => randomUUID());
  const fleet = sql.array(ids);
  await sql.begin(async (tx) => {
    await tx`insert into public.machines (id, name, model)
      select m.id, format('load %s %s %s', ${label}::text, m.n, left(m.id::text, 8)), 'clone of ALD Reactor A'
      from unnest(${fleet}::uuid[]) with ordinality as m (id, n)`;
    await tx`insert into public.machine_components (id, machine_id, name, component_type, is_activated)
      select md5(m.id::text || c.id::text)::uuid, m.id, c.name, c.component_type, c.is_activated
      from unnest(${fleet}::uuid[]) as m (id)
      cross join public.machine_components c where c.machine_id = ${SEED_MACHINE}`;
    await tx`insert into public.component_parameters (id, component_id, machine_id, name, display_name, unit, data_type,
        min_value, max_value, set_value, is_writable, is_active, read_modbus_address, read_modbus_type,
        write_modbus_address, write_modbus_type, modbus_value_type)
      select md5(m.id::text || p.id::text)::uuid, md5(m.id::text || p.component_id::text)::uuid, m.id, p.name,
        p.display_name, p.unit, p.data_type, p.min_value, p.max_value, p.set_value, p.is_writable, p.is_active,
        p.read_modbus_address, p.read_modbus_type, p.write_modbus_address, p.write_modbus_type, p.modbus_value_type
      from unnest(${fleet}::uuid[]) as m (id)
      cross join public.component_parameters p where p.machine_id = ${SEED_MACHINE}`;
    await tx`insert into public.recipes (id, machine_id, name, description)
      select md5(m.id::text || r.id::text)::uuid, m.id, r.name, r.description
      from unnest(${fleet}::uuid[]) as m (id) cross join public.recipes r where r.id = ${SEED_RECIPE}`;
    // Parents first: a child's trigger looks its loop up.
    for (const children of [false, true]) {
      await tx`insert into public.recipe_steps (id, recipe_id, parent_step_id, sequence_number, step_type, name)
        select md5(m.id::text || s.id::text)::uuid, md5(m.id::text || s.recipe_id::text)::uuid,
          case when s.parent_step_id is null then null else md5(m.id::text || s.parent_step_id::text)::uuid end,
          s.sequence_number, s.step_type, s.name
        from unnest(${fleet}::uuid[]) as m (id)
        cross join public.recipe_steps s where s.recipe_id = ${SEED_RECIPE} and (s.parent_step_id is not null) = ${children}`;
    }
    const configs: [table: string, columns: string, select: string][] = [
      ['valve_step_configs', 'valve_number, duration_ms', 'c.valve_number, c.duration_ms'],
      ['purge_step_configs', 'duration_ms, gas_type, flow_rate_sccm', 'c.duration_ms, c.gas_type, c.flow_rate_sccm'],
      ['loop_step_configs', 'iteration_count', 'c.iteration_count'],
      ['parameter_step_configs', 'parameter_id, value', 'md5(m.id::text || c.parameter_id::text)::uuid, c.value'],
    ];
    for (const [table, columns, select] of configs) {
      await tx.unsafe(`insert into public.${table} (step_id, ${columns})
        select md5(m.id::text || c.step_id::text)::uuid, ${select}
        from unnest($1::uuid[]) as m (id)
        cross join public.${table} c join public.recipe_steps s on s.id = c.step_id where s.recipe_id = $2`, [ids, SEED_RECIPE]);
    }
  });
  const rows = await sql<{ machine_id: string; ids: string[] }[]>`
    select machine_id, array_agg(id order by id) as ids from public.component_parameters
    where machine_id = any(${fleet}::uuid[]) group by machine_id`;
  const byMachine = new Map(rows.map((r) => [r.machine_id, r.ids]));
  return ids.map((machineId) => ({
    machineId,
    recipeId: md5Uuid(machineId + SEED_RECIPE),
    parameterIds: byMachine.get(machineId) ?? [],
  }));
}

/** Deletes the fleet's machines; their runs, steps and recorded rows go with them (cascade). */
export async function dropFleet(sql: postgres.Sql, fleet: readonly FleetMachine[]): Promise<void> {
  if (fleet.length === 0) return;
  await sql`delete from public.machines where id = any(${sql.array(fleet.map((m) => m.machineId))}::uuid[])`;
}

/** md5(text)::uuid, as PostgreSQL computes it. */
function md5Uuid(text: string): string {
  const hex = createHash('md5').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
