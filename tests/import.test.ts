// `ald-db import parameters`: the old system's component_parameters export (tests/fixtures/
// old-component-parameters.csv has its header and the oddities of a real plant's table) into a
// machine. A dry run reports and changes nothing; a real run writes the accepted rows as one
// transaction (all or none); a second run changes nothing.
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { importParameters, parseCsv, readRows, ImportInputError } from '../src/cli/import-parameters.ts';
import { run } from '../src/cli/import.ts';
import { adminSql, databaseUrl } from './sdk/support.ts';

const FIXTURE = new URL('./fixtures/old-component-parameters.csv', import.meta.url);
let sql: postgres.Sql;
let csv: string;
const machines: string[] = [];

beforeAll(async () => {
  sql = adminSql();
  csv = await readFile(FIXTURE, 'utf8');
});

afterAll(async () => {
  if (machines.length) await sql`delete from public.machines where id = any(${machines}::uuid[])`;
  await sql.end();
});

async function machine(): Promise<string> {
  const id = randomUUID();
  await sql`insert into public.machines (id, name) values (${id}, ${`import test ${id.slice(0, 8)}`})`;
  machines.push(id);
  return id;
}

/** Everything the import may touch on a machine, to compare before and after. */
async function snapshot(machineId: string) {
  const parameters = await sql`select * from public.component_parameters where machine_id = ${machineId} order by id`;
  const components = await sql`select * from public.machine_components where machine_id = ${machineId} order by id`;
  const requests = await sql`select id from public.setpoint_requests where machine_id = ${machineId}`;
  return { parameters, components, requests };
}

describe('ald-db import parameters', () => {
  it('reads the old CSV: quoted commas, doubled quotes and newlines inside a field', () => {
    const rows = readRows(csv);
    expect(rows).toHaveLength(11);
    expect(rows[5].cells.description).toBe('Interlock "OK" flag\n(reported by the safety relay)');
    expect(rows[0].cells.description).toBe('Chamber wall heater setpoint, PID controlled');
    expect(parseCsv('a,b\r\n1,"x,y"\r\n')).toEqual([['a', 'b'], ['1', 'x,y']]);
    expect(() => readRows('id,name\n1,x\n')).toThrow(ImportInputError);
  });

  it('--dry-run reports every row and changes nothing', async () => {
    const m = await machine();
    const before = await snapshot(m);
    const report = await importParameters(sql, m, csv, { dryRun: true });
    expect(report.counts).toEqual({ inserted: 8, updated: 0, unchanged: 0, refused: 3 });
    expect(report.committed).toBe(false);
    expect(report.error).toBeUndefined();
    expect(await snapshot(m)).toEqual(before);
    expect(report.rows.filter((r) => r.outcome === 'refused').map((r) => [r.line, r.outcome === 'refused' && r.reason])).toEqual([
      [8, 'set_value 12 is outside [0, 10]'],
      [10, 'id is not a uuid: "not-a-uuid"'],
      [11, 'set_value 0.5 is not a whole number for an integer parameter'],
    ]);
  });

  it('imports the accepted rows: components by name, ids kept, current_value applied, types mapped, metadata kept, no requests', async () => {
    const m = await machine();
    const report = await importParameters(sql, m, csv, { dryRun: false });
    expect(report.committed).toBe(true);
    expect(report.counts).toEqual({ inserted: 8, updated: 0, unchanged: 0, refused: 3 });
    expect(report.componentsCreated.sort()).toEqual(['Chamber Heater', 'Main Valve', 'Pressure Gauge', 'Turbo Pump']);
    const rows = await sql<Record<string, unknown>[]>`
      select p.id, c.name as component, p.name, p.display_name, p.unit, p.data_type::text, p.min_value, p.max_value, p.set_value,
             p.applied_value, p.applied_version::int as applied_version, p.is_writable, p.read_modbus_address, p.write_modbus_address,
             p.write_modbus_type::text, p.modbus_value_type::text, p.operand, p.show_in_ui, p.show_in_graph
      from public.component_parameters p join public.machine_components c on c.id = p.component_id
      where p.machine_id = ${m} order by p.id`;
    const byId = Object.fromEntries(rows.map((r) => [String(r.id).slice(-2), r]));
    expect(byId['01']).toMatchObject({
      component: 'Chamber Heater', name: 'temperature_setpoint', display_name: 'Temperature Setpoint', data_type: 'float',
      set_value: 150, applied_value: 148.5, applied_version: null, write_modbus_address: 2001, modbus_value_type: 'float32',
      operand: 'DB10.DBD0', show_in_graph: true,
    });
    expect(byId['03']).toMatchObject({ name: 'ramp_rate', is_writable: true, write_modbus_address: null, set_value: 5, show_in_graph: false });
    expect(byId['04']).toMatchObject({ data_type: 'binary', min_value: 0, max_value: 100, set_value: 1, applied_value: 1, applied_version: 1, write_modbus_type: 'coil', modbus_value_type: 'bool' });
    expect(byId['05']).toMatchObject({ data_type: 'integer', modbus_value_type: 'int32', set_value: 300, applied_value: 250 });
    expect(byId['06']).toMatchObject({ data_type: 'binary', unit: 'boolean', is_writable: false, applied_value: 1, show_in_ui: false });
    expect(byId['08']).toMatchObject({ is_writable: true, read_modbus_address: 3101, write_modbus_address: null });
    expect(byId['11']).toMatchObject({ data_type: 'binary', applied_value: null, set_value: 0 });
    const [component] = await sql`select id from public.machine_components where machine_id = ${m} and name = 'Chamber Heater'`;
    expect(component.id).toBe('5d6e7f80-1111-4a2b-8c3d-000000000001');
    expect((await snapshot(m)).requests).toHaveLength(0);
  });

  it('a second run changes nothing; a changed row is updated with the fields that differ', async () => {
    const m = await machine();
    // The fixture's ids are the ones of the previous test's machine: a second machine would clash,
    // so this one imports a copy with its own ids.
    const own = csv.replaceAll('7b0c1a52-0d2e-4c1e-9a51-', 'aaaaaaaa-0d2e-4c1e-9a51-').replaceAll('5d6e7f80-1111-', 'bbbbbbbb-1111-');
    await importParameters(sql, m, own, { dryRun: false });
    const before = await snapshot(m);
    const again = await importParameters(sql, m, own, { dryRun: false });
    expect(again.counts).toEqual({ inserted: 0, updated: 0, unchanged: 8, refused: 3 });
    expect(await snapshot(m)).toEqual(before);
    const changed = own.replace(',148.5,150,', ',149.5,155,');
    const third = await importParameters(sql, m, changed, { dryRun: false });
    expect(third.rows.find((r) => r.line === 2)).toMatchObject({ outcome: 'updated', fields: ['set_value', 'applied_value'] });
    const [p] = await sql`select set_value, applied_value from public.component_parameters where id = 'aaaaaaaa-0d2e-4c1e-9a51-000000000001'`;
    expect(p).toEqual({ set_value: 155, applied_value: 149.5 });
    expect((await snapshot(m)).requests).toHaveLength(0);
  });

  it('refuses ids of another machine, and a failure midway rolls every row back', async () => {
    const m = await machine();
    const clash = await importParameters(sql, m, csv, { dryRun: false });
    // the fixture's ids belong to the machine of an earlier test
    expect(clash.counts.refused).toBe(11);
    expect(clash.componentsCreated).toEqual([]);
    expect((await snapshot(m)).components).toEqual([]);
    const m2 = await machine();
    const own = csv.replaceAll('7b0c1a52-0d2e-4c1e-9a51-', 'cccccccc-0d2e-4c1e-9a51-').replaceAll('5d6e7f80-1111-', 'dddddddd-1111-');
    // The last row's description breaks a check constraint (at most 2000 characters) only the database knows.
    const lines = own.trimEnd().split('\n');
    lines[lines.length - 1] = lines[lines.length - 1].replace('"The PLC once reported 2 for this flag"', `"${'x'.repeat(2001)}"`);
    const before = await snapshot(m2);
    const failed = await importParameters(sql, m2, `${lines.join('\n')}\n`, { dryRun: false });
    expect(failed.committed).toBe(false);
    expect(failed.error).toMatch(/component_parameters_description_check|check constraint/);
    expect(await snapshot(m2)).toEqual(before);
  });

  it('the command: --dry-run exits 1 when rows are refused and prints one line per row; usage errors exit 2', async () => {
    const m = await machine();
    const file = join(tmpdir(), `ald-import-${m}.csv`);
    await writeFile(file, csv.replaceAll('7b0c1a52-0d2e-4c1e-9a51-', 'eeeeeeee-0d2e-4c1e-9a51-').replaceAll('5d6e7f80-1111-', 'ffffffff-1111-'));
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stderr.write;
    let code: number;
    let usage: number;
    try {
      code = await run(['parameters', '--machine', m, file, '--dry-run', '--db-url', databaseUrl()]);
      usage = await run(['parameters', FIXTURE.pathname, '--db-url', databaseUrl()]);
    } finally {
      process.stdout.write = write;
      process.stderr.write = err;
    }
    expect(code).toBe(1);
    expect(usage).toBe(2);
    const text = out.join('');
    expect(text).toContain('line 8 eeeeeeee-0d2e-4c1e-9a51-000000000007: refused: set_value 12 is outside [0, 10]');
    expect(text).toContain('8 inserted, 0 updated, 0 unchanged, 3 refused; dry run, nothing changed');
    expect(text).toContain('--machine must be a machine id');
    expect((await snapshot(m)).parameters).toHaveLength(0);
  });
});
