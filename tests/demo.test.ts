/**
 * `ald-db demo` (src/cli/demo.ts, src/demo/): the simulated PLC's physics on the seed reactor's
 * parameters, and the demo end to end as a child process on the test server: it creates its own
 * ald_demo_* database there (DATABASE_URL = the server), runs the seed recipe at --speed 1000,
 * checks its own bookkeeping and drops the database. Ctrl-C completes the run as aborted.
 * Needs TEST_DATABASE_URL: run through `npm test -- --only vitest tests/demo`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedPlc, SETTLE_TOLERANCE_C, type Component, type Register } from '../src/demo/plc.ts';
import type { DemoSummary } from '../src/demo/summary.ts';
import type { Parameter } from '../src/sdk/types.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const MACHINE_A = '00000000-0000-4000-8000-000000000001';
const RECIPE_STEPS = 45;
const PARAMETERS = 137;

function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the suites with `npm test -- --only vitest tests/demo`');
  return url;
}

/** The server of the test database, as the demo expects it in DATABASE_URL. */
function serverUrl(): string {
  if (process.env.ALD_TEST_SERVER_URL) return process.env.ALD_TEST_SERVER_URL;
  const url = new URL(testDatabaseUrl());
  url.pathname = '/postgres';
  return url.toString();
}

interface CliResult { code: number | null; signal: string | null; stdout: string; stderr: string }

/** Runs `ald-db demo` with DATABASE_URL set; `onStderr` may act on the live output (e.g. send SIGINT). */
function demo(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/ald-db.js'), 'demo', ...args], {
      cwd: repoRoot, env: { ...process.env, DATABASE_URL: serverUrl() },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => {
      stderr += d;
      onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

let sql: postgres.Sql;
let parameters: Parameter[];
let components: Component[];

beforeAll(async () => {
  sql = postgres(testDatabaseUrl(), { max: 2, onnotice: () => {} });
  [{ rows: parameters }] = await sql<{ rows: Parameter[] }[]>`
    select coalesce(json_agg(r), '[]'::json) as rows from public.get_machine_parameters(${MACHINE_A}) r`;
  components = await sql<Component[]>`
    select id, name, component_type::text as component_type from public.machine_components where machine_id = ${MACHINE_A}`;
});

afterAll(async () => {
  await sql?.end();
});

async function databaseExists(name: string): Promise<boolean> {
  const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from pg_database where datname = ${name}`;
  return n > 0;
}

describe('the simulated PLC', () => {
  const plcFor = () => new SimulatedPlc(parameters, components);
  const row = (plc: SimulatedPlc, path: string) => parameters.find((p) => p.id === plc.parameterId(path))!;
  const register = (p: Parameter): Register => ({ type: p.write_modbus_type!, address: p.write_modbus_address! });
  const value = (plc: SimulatedPlc, path: string) => plc.read().find((r) => r.parameterId === plc.parameterId(path))!.value!;

  it('reads every parameter of the reactor, setpoints as written', () => {
    const plc = plcFor();
    const readings = plc.read();
    expect(readings).toHaveLength(PARAMETERS);
    expect(readings.every((r) => typeof r.value === 'number' && Number.isFinite(r.value))).toBe(true);
    expect(value(plc, 'chamber_heater/temperature_set')).toBe(150);
    expect(value(plc, 'gate_valve/state')).toBe(1);
  });

  it('moves a heater toward a new setpoint with a first-order lag and settles within the tolerance', () => {
    const plc = plcFor();
    const setpoint = register(row(plc, 'chamber_heater/temperature_set'));
    plc.write(setpoint, 200);
    expect(plc.settled(setpoint)).toBe(false);
    plc.advance(15_000); // one time constant of the chamber heater: 63 % of the way
    expect(plc.temperature('chamber_heater')!).toBeCloseTo(150 + 50 * (1 - Math.exp(-1)), 1);
    expect(value(plc, 'chamber_heater/pid_output')).toBeGreaterThan(50);
    plc.advance(60_000);
    expect(plc.settled(setpoint)).toBe(true);
    expect(Math.abs(value(plc, 'chamber_heater/temperature_read') - 200)).toBeLessThan(SETTLE_TOLERANCE_C);
  });

  it('opens a valve (1) while it pulses and closes it (0) after', () => {
    const plc = plcFor();
    const coil = register(row(plc, 'valve_1/state'));
    plc.write(coil, 1);
    plc.advance(50);
    expect(value(plc, 'valve_1/state')).toBe(1);
    const dosed = value(plc, 'chamber_pressure_gauge/pressure_read');
    plc.write(coil, 0);
    expect(value(plc, 'valve_1/state')).toBe(0);
    expect(dosed).toBeGreaterThan(20); // the pulse let precursor into a chamber at base pressure
    plc.advance(10_000);
    expect(value(plc, 'chamber_pressure_gauge/pressure_read')).toBeLessThan(3); // pumped down
  });

  it('raises the chamber pressure during a purge, the MFC flow following its setpoint, and pumps down after', () => {
    const plc = plcFor();
    const flow = register(row(plc, 'carrier_gas_mfc/flow_rate_set'));
    const purge = register(row(plc, 'valve_5/state'));
    const base = value(plc, 'chamber_pressure_gauge/pressure_read');
    plc.write(flow, 200);
    plc.write(purge, 1);
    plc.advance(5000);
    expect(value(plc, 'carrier_gas_mfc/flow_rate_read')).toBeCloseTo(200, -1);
    const purging = value(plc, 'chamber_pressure_gauge/pressure_read');
    expect(purging).toBeGreaterThan(100 * base);
    plc.write(purge, 0);
    plc.advance(10_000);
    expect(value(plc, 'carrier_gas_mfc/flow_rate_read')).toBeLessThan(1);
    expect(value(plc, 'chamber_pressure_gauge/pressure_read')).toBeLessThan(purging / 50);
  });

  it('refuses writes to a register no writable parameter has, and non-binary coil values', () => {
    const plc = plcFor();
    expect(() => plc.write({ type: 'holding_register', address: 9999 }, 1)).toThrow(/no writable parameter at holding_register 9999/);
    expect(() => plc.write(register(row(plc, 'valve_1/state')), 2)).toThrow(/must be written 0 or 1, but got: 2/);
  });
});

describe('ald-db demo', () => {
  it('prints its options with --help and refuses a bad --speed with exit code 2', async () => {
    const help = await demo(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--speed N/);
    const bad = await demo(['--speed', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--speed must be a number above 0 and at most 100000, but got: 0/);
  });

  it('runs the seed recipe at one round trip per step, stores every recorded point and drops its database', async () => {
    const { code, stdout, stderr } = await demo(['--speed', '1000']);
    expect(stderr).toBe('');
    expect(code).toBe(0);

    const stepLines = stdout.split('\n').filter((l) => /^\s+\[\s*\d+\/45\]/.test(l));
    expect(stepLines).toHaveLength(RECIPE_STEPS);
    // The operator pauses once (during step 5; the controller sees it in step 6's reply) and resumes.
    expect(stdout).toMatch(/^ {2}-- paused by the operator after step 6\/45: run paused, machine paused; 2 controller round trips/m);
    expect(stdout).toMatch(/^ {2}-- resumed by the operator after step 6\/45: run running, machine running; 2 controller round trips/m);
    for (const line of stepLines) expect(line).toMatch(/ 1 round trip +\d+\.\d ms/);

    // The summary's table: every step type at exactly one round trip per step.
    const rows = [...stdout.matchAll(/^ {2}(parameter|purge|valve|loop) +(\d+) +(\d+) +(\d+\.\d\d) /gm)];
    expect(rows.map((m) => m[1]).sort()).toEqual(['loop', 'parameter', 'purge', 'valve']);
    for (const [, , steps, trips, perStep] of rows) {
      expect(trips).toBe(steps);
      expect(perStep).toBe('1.00');
    }
    const points = /points recorded (\d+) = points stored (\d+): ok/.exec(stdout);
    expect(points).not.toBeNull();
    expect(points![1]).toBe(points![2]);
    expect(Number(points![1]) % PARAMETERS).toBe(0);
    expect(stdout).toMatch(/hit ratio 100\.0 %/);
    expect(stdout).toMatch(/setpoint requests: \d+ written to the PLC and confirmed \(applied\), 1 failed, 0 still open/);
    expect(stdout).toContain('failed: vacuum_pump.power_on = 0: PLC interlock');

    const name = /dropped database (ald_demo_\w+)/.exec(stdout)?.[1];
    expect(name).toBeDefined();
    expect(await databaseExists(name!)).toBe(false);
  }, 180_000);

  it('prints the summary as JSON with --json, the live output on stderr', async () => {
    const { code, stdout, stderr } = await demo(['--speed', '1000', '--json']);
    expect(code).toBe(0);
    expect(stderr).toMatch(/\[45\/45\]/);
    const summary = JSON.parse(stdout) as DemoSummary;
    expect(summary).toMatchObject({ ok: true, status: 'completed', steps: { completed: RECIPE_STEPS, total: RECIPE_STEPS } });
    expect(summary.perStep).toHaveLength(RECIPE_STEPS);
    expect(summary.perStep.every((s) => s.roundTrips === 1)).toBe(true);
    expect(Object.keys(summary.stepTypes).sort()).toEqual(['loop', 'parameter', 'purge', 'valve']);
    for (const t of Object.values(summary.stepTypes)) {
      expect(t.roundTrips).toBe(t.steps);
      expect(t.latencyMs.max).toBeGreaterThanOrEqual(t.latencyMs.p50);
    }
    // claims: the start, the pause and the resume; the pause and the resume cost the controller a claim and an apply each
    expect(summary.roundTrips.byRpc).toMatchObject({
      claim_next_command: 3, apply_run_command: 2, start_process: 1, advance_step: RECIPE_STEPS, complete_process: 1,
    });
    expect(summary.control).toEqual([
      expect.objectContaining({ command: 'pause_recipe', afterStep: 6, processStatus: 'paused', roundTrips: 2 }),
      expect.objectContaining({ command: 'resume_recipe', afterStep: 6, processStatus: 'running', roundTrips: 2 }),
    ]);
    expect(summary.points).toMatchObject({ ok: true, dropped: 0, perTick: PARAMETERS });
    expect(summary.points.stored).toBe(summary.points.recorded);
    expect(summary.points.recorded).toBe(summary.points.ticks * PARAMETERS);
    expect(summary.cache.misses).toBe(0);
    // The PLC loop applied the recipe's setpoint requests and failed, on purpose, the operator's one its interlock refuses.
    expect(summary.setpoints.applied).toBeGreaterThanOrEqual(2);
    expect(summary.setpoints.failed).toEqual([{ parameter: 'vacuum_pump.power_on', value: 0, error: 'PLC interlock: vacuum_pump.power_on stays 1 while gate_valve is open' }]);
    expect(summary.setpoints.open).toBe(0);
    expect(summary.database.embedded).toBe(false);
    expect(await databaseExists(summary.database.name)).toBe(false);
  }, 180_000);

  it('completes the process as aborted on Ctrl-C, with every recorded point stored', async () => {
    let sent = false;
    const { code, stdout } = await demo(['--speed', '20', '--json', '--keep'], (text, child) => {
      if (!sent && /\[ 3\/45\]/.test(text)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(sent).toBe(true);
    expect(code).toBe(130);
    const summary = JSON.parse(stdout) as DemoSummary;
    const name = summary.database.name;
    try {
      expect(summary).toMatchObject({ ok: false, status: 'aborted', error: 'interrupted by SIGINT' });
      expect(summary.points.ok).toBe(true);
      const kept = postgres(new URL(`/${name}`, serverUrl()).toString(), { max: 1, onnotice: () => {} });
      try {
        const [run] = await kept<{ status: string; command: string; machine: string; stored: number }[]>`
          select e.status::text, c.status::text as command, m.status::text as machine,
                 (select count(*)::int from public.process_data_points d where d.process_id = e.id) as stored
          from public.process_executions e
          join public.recipe_commands c on c.id = e.command_id
          join public.machines m on m.id = e.machine_id
          where e.id = ${summary.processId}`;
        expect(run).toEqual({ status: 'aborted', command: 'failed', machine: 'idle', stored: summary.points.recorded });
      } finally {
        await kept.end();
      }
    } finally {
      await sql.unsafe(`drop database if exists "${name}" with (force)`);
    }
  }, 180_000);
});
