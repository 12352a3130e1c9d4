// Private machines for the fuzz and concurrency suites, so that nothing they write touches the seed
// machines other suites read (every id is fresh; deleting the machine removes everything).
//   F  a copy of ALD Reactor A (21 components, 137 parameters, the 45-step recipe), plus a deactivated
//      component, an inactive parameter and recipes that fail in each documented way;
//      viewer/operator/admin of the seed are viewer/operator/admin of F.
//   G  a small machine operated by the seed's bench operator only: "another machine" for F's users.
//   M  a machine in maintenance, operated by the seed operator.
import { createHash, randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { SEED } from './harness.ts';

export interface Fixture {
  F: string;
  G: string;
  M: string;
  machines: string[];
  /** parameter id by `<component>/<parameter>` on F */
  fParam: (path: string) => string;
  fParams: string[];
  fComponents: string[];
  gParams: string[];
  gComponents: string[];
  recipes: { fMain: string; fBad: string; fInactive: string; fEmpty: string; fLong: string; g: string; m: string };
  /** step ids of each recipe, in sequence order (parents before children) */
  steps: Record<string, string[]>;
}

async function addMachine(tx: postgres.TransactionSql, label: string, status = 'idle'): Promise<string> {
  const id = randomUUID();
  await tx`insert into public.machines (id, name, model, status)
           values (${id}, ${`fuzz ${label} ${id.slice(0, 8)}`}, 'fuzz fixture', ${status}::public.machine_status)`;
  return id;
}

async function addRecipe(tx: postgres.TransactionSql, machine: string, name: string, active = true): Promise<string> {
  const [r] = await tx`insert into public.recipes (machine_id, name, is_active) values (${machine}, ${name}, ${active}) returning id`;
  return r.id as string;
}

type Step = { type: 'valve' | 'purge' | 'parameter' | 'loop'; parent?: number; config: Record<string, unknown> };

async function addSteps(tx: postgres.TransactionSql, recipe: string, steps: Step[]): Promise<string[]> {
  const ids: string[] = [];
  const seq = new Map<number | undefined, number>();
  for (const s of steps) {
    const n = (seq.get(s.parent) ?? 0) + 1;
    seq.set(s.parent, n);
    const [row] = await tx`insert into public.recipe_steps (recipe_id, parent_step_id, sequence_number, step_type, name)
      values (${recipe}, ${s.parent === undefined ? null : ids[s.parent]}, ${n}, ${s.type}, ${`${s.type} ${ids.length + 1}`}) returning id`;
    ids.push(row.id as string);
    const c = s.config;
    if (s.type === 'valve') await tx`insert into public.valve_step_configs (step_id, valve_number, duration_ms) values (${row.id}, ${c.valve as number}, 50)`;
    if (s.type === 'purge') await tx`insert into public.purge_step_configs (step_id, duration_ms) values (${row.id}, 100)`;
    if (s.type === 'loop') await tx`insert into public.loop_step_configs (step_id, iteration_count) values (${row.id}, ${c.iterations as number})`;
    if (s.type === 'parameter') {
      await tx`insert into public.parameter_step_configs (step_id, parameter_id, value) values (${row.id}, ${c.parameter as string}, ${c.value as number})`;
    }
  }
  return ids;
}

export async function createFixture(sql: postgres.Sql): Promise<Fixture> {
  const A = SEED.reactor;
  return sql.begin(async (tx) => {
    const F = await addMachine(tx, 'F');
    const G = await addMachine(tx, 'G');
    const M = await addMachine(tx, 'M', 'maintenance');

    // F: copy of the seed reactor, ids md5(F || seed id)
    await tx`insert into public.machine_components (id, machine_id, name, component_type, is_activated)
      select md5(${F} || c.id::text)::uuid, ${F}, c.name, c.component_type, c.is_activated
      from public.machine_components c where c.machine_id = ${A}`;
    await tx`insert into public.component_parameters (id, component_id, machine_id, name, display_name, unit, data_type,
        min_value, max_value, set_value, is_writable, is_active, read_modbus_address, read_modbus_type,
        write_modbus_address, write_modbus_type, modbus_value_type)
      select md5(${F} || p.id::text)::uuid, md5(${F} || p.component_id::text)::uuid, ${F}, p.name, p.display_name, p.unit,
        p.data_type, p.min_value, p.max_value, p.set_value, p.is_writable, p.is_active, p.read_modbus_address,
        p.read_modbus_type, p.write_modbus_address, p.write_modbus_type, p.modbus_value_type
      from public.component_parameters p where p.machine_id = ${A}`;
    const chamber = (await tx`select id from public.machine_components where machine_id = ${F} and name = 'chamber_heater'`)[0].id as string;
    await tx`insert into public.component_parameters (component_id, machine_id, name, data_type, min_value, max_value,
        set_value, is_writable, is_active, write_modbus_address, write_modbus_type, modbus_value_type)
      values (${chamber}, ${F}, 'fuzz_inactive', 'float', 0, 100, 10, true, false, 900, 'holding_register', 'float32')`;
    const [off] = await tx`insert into public.machine_components (machine_id, name, component_type, is_activated)
      values (${F}, 'fuzz_switched_off', 'heater', true) returning id`;
    await tx`insert into public.component_parameters (component_id, machine_id, name, data_type, min_value, max_value,
        set_value, is_writable, write_modbus_address, write_modbus_type, modbus_value_type)
      values (${off.id}, ${F}, 'setpoint', 'float', 0, 100, 10, true, 910, 'holding_register', 'float32')`;
    await tx`update public.machine_components set is_activated = false where id = ${off.id}`;

    // G and M: one heater each
    const gComponents: string[] = [];
    for (const machine of [G, M]) {
      const [c] = await tx`insert into public.machine_components (machine_id, name, component_type) values (${machine}, 'heater', 'heater') returning id`;
      if (machine === G) gComponents.push(c.id as string);
      await tx`insert into public.component_parameters (component_id, machine_id, name, data_type, min_value, max_value,
          set_value, is_writable, write_modbus_address, write_modbus_type, modbus_value_type) values
        (${c.id}, ${machine}, 'temperature_set', 'float', 0, 200, 25, true, 1000, 'holding_register', 'float32'),
        (${c.id}, ${machine}, 'power_on', 'binary', 0, 1, 0, true, 100, 'coil', 'bool')`;
    }

    const steps: Record<string, string[]> = {};
    // F's main recipe: a copy of the seed recipe (45 steps once unrolled)
    const fMain = await addRecipe(tx, F, 'Al2O3 copy');
    const seedSteps = await tx`select s.id, s.parent_step_id, s.step_type, v.valve_number, l.iteration_count,
        c.parameter_id, c.value
      from public.recipe_steps s
      left join public.valve_step_configs v on v.step_id = s.id
      left join public.loop_step_configs l on l.step_id = s.id
      left join public.parameter_step_configs c on c.step_id = s.id
      where s.recipe_id = ${SEED.recipe}
      order by s.parent_step_id nulls first, s.sequence_number`;
    const index = new Map(seedSteps.map((s, i) => [s.id as string, i]));
    steps[fMain] = await addSteps(tx, fMain, seedSteps.map((s) => ({
      type: s.step_type,
      parent: s.parent_step_id ? index.get(s.parent_step_id) : undefined,
      config: { valve: s.valve_number, iterations: s.iteration_count, value: s.value,
                parameter: s.parameter_id ? md5Id(F, s.parameter_id) : undefined },
    })));
    const fp = await tx`select p.id, c.name || '/' || p.name as path from public.component_parameters p
      join public.machine_components c on c.id = p.component_id where p.machine_id = ${F}`;
    const byPath = new Map(fp.map((r) => [r.path as string, r.id as string]));
    const fParam = (path: string) => {
      const id = byPath.get(path);
      if (!id) throw new Error(`no parameter ${path} on F`);
      return id;
    };
    const gParams = (await tx`select id from public.component_parameters where machine_id = ${G} order by name`).map((r) => r.id as string);

    // F's refusing recipe: each parameter step fails a different check of apply_setpoint. (A step
    // naming another machine's parameter cannot be written any more: composite foreign keys,
    // supabase/tests/06-same-machine.test.sql.)
    const fBad = await addRecipe(tx, F, 'refusals');
    steps[fBad] = await addSteps(tx, fBad, [
      { type: 'parameter', config: { parameter: fParam('chamber_heater/temperature_set'), value: 9999 } }, // 22003
      { type: 'parameter', config: { parameter: fParam('chamber_heater/temperature_read'), value: 5 } }, // 55000
      { type: 'parameter', config: { parameter: fParam('chamber_heater/pid_period'), value: 10.5 } }, // 22023
      { type: 'parameter', config: { parameter: fParam('chamber_heater/power_on'), value: 2 } }, // 22023: binary
      { type: 'parameter', config: { parameter: fParam('fuzz_switched_off/setpoint'), value: 50 } }, // 55000
      { type: 'parameter', config: { parameter: fParam('chamber_heater/kp'), value: 7 } }, // fine
      { type: 'valve', config: { valve: 1 } },
    ]);
    const fInactive = await addRecipe(tx, F, 'inactive', false);
    steps[fInactive] = await addSteps(tx, fInactive, [{ type: 'valve', config: { valve: 1 } }]);
    const fEmpty = await addRecipe(tx, F, 'empty');
    steps[fEmpty] = [];
    const fLong = await addRecipe(tx, F, 'too long');
    steps[fLong] = await addSteps(tx, fLong, [
      { type: 'loop', config: { iterations: 100000 } },
      { type: 'loop', parent: 0, config: { iterations: 100000 } },
      { type: 'valve', parent: 1, config: { valve: 1 } },
    ]);
    const g = await addRecipe(tx, G, 'bench');
    steps[g] = await addSteps(tx, g, [{ type: 'valve', config: { valve: 1 } }, { type: 'purge', config: {} }]);
    const m = await addRecipe(tx, M, 'maintenance');
    steps[m] = await addSteps(tx, m, [{ type: 'valve', config: { valve: 1 } }]);

    await tx`insert into public.machine_operators (machine_id, user_id, role) values
      (${F}, ${SEED.viewer}, 'viewer'), (${F}, ${SEED.operator}, 'operator'), (${F}, ${SEED.admin}, 'admin'),
      (${G}, ${SEED.benchOperator}, 'operator'), (${M}, ${SEED.operator}, 'operator')`;

    const fComponents = (await tx`select id from public.machine_components where machine_id = ${F} order by name`).map((r) => r.id as string);
    return {
      F, G, M, machines: [F, G, M], fParam, fParams: [...byPath.values()], fComponents, gParams, gComponents,
      recipes: { fMain, fBad, fInactive, fEmpty, fLong, g, m }, steps,
    };
  });
}

/** md5(machine || id)::uuid, as the copy's ids are made in SQL. */
function md5Id(machine: string, id: string): string {
  const h = createHash('md5').update(`${machine}${id}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Ends every open run of the fixture's machines and deletes them (cascading to everything they own). */
export async function dropFixture(sql: postgres.Sql, fx: Fixture | undefined): Promise<void> {
  if (!fx) return;
  await sql`delete from public.machines where id = any (${fx.machines}::uuid[])`;
}
