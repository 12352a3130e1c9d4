/**
 * Hostile input against the RPCs that have an oracle spec (rpc-specs.ts: the first ten), the two
 * ways clients call them: postgres.js with text parameters (the controller) and a PostgREST body
 * through supabase-js (Edge Functions, browsers). For each generated call the oracle predicts the
 * documented SQLSTATE, or the reply and the change of a success; a refused call must leave the
 * tables of harness.ts TABLES as they were (count and md5 of all rows, before and after). Every
 * other RPC of RPC_CATALOG gets hostile input without an exact oracle in rpc-hostile.test.ts (a
 * documented code, never an internal error, nothing changed by a refusal); together they cover the
 * whole catalog (checked there).
 *
 * Arguments PostgreSQL cannot even read never reach the function; their codes come from its input
 * functions (values.ts models them): 22P02 (a string where a uuid, number, boolean, enum or array
 * belongs), 22003 (1e400, 1e-400, an integer beyond int4/int8), 22007/22008 (timestamps), and for
 * NUL: 22021 "invalid byte sequence for encoding UTF8: 0x00" through postgres.js text parameters,
 * 22P05 "unsupported Unicode escape sequence" (\u0000) through a JSON body.
 *
 * Deterministic: each property has a fixed seed (FUZZ_SEED moves them all; FUZZ_RUNS_SCALE scales
 * the runs). A failure names its seed, and fast-check prints the path and the shrunk counterexample.
 * Run: npm test -- --only vitest tests/fuzz
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Caller, fingerprint, changedTables, rowCount, type Who } from './harness.ts';
import { createFixture, dropFixture, type Fixture } from './fixture.ts';
import { endedProcess, endRuns, ensureRunning } from './state.ts';
import { SPECS, type Ctx, type Spec } from './rpc-specs.ts';
import { outcomes, runOnce, type Transport } from './run.ts';
import { arr, num, str, uuids } from './values.ts';
import { manyUuids } from './arbitraries.ts';

const BASE_SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const SCALE = Number(process.env.FUZZ_RUNS_SCALE ?? 1);

/** Runs per property: reads are cheap, writes arrange state first. */
const RUNS: Record<string, number> = {
  get_component_parameters_bulk: 50, get_machine_parameters: 50, get_parameters: 50, get_parameter_epochs: 50,
  set_parameter_value: 100, record_process_data: 100, claim_next_command: 60, start_process: 80,
  advance_step: 100, complete_process: 60,
};

/** Callers: mostly ones allowed to act (so the checks behind the permission check run), every other kind too. */
const WHO: Record<Transport, fc.Arbitrary<Who>> = {
  direct: fc.constantFrom<Who>('direct', 'direct', 'direct', 'direct', 'service', 'operator', 'operator', 'operator', 'admin', 'viewer', 'bench', 'anon'),
  json: fc.constantFrom<Who>('service', 'service', 'service', 'operator', 'operator', 'operator', 'operator', 'admin', 'viewer', 'bench', 'anon'),
};

let caller: Caller;
let fx: Fixture;
let ctx: Ctx;

beforeAll(async () => {
  caller = await Caller.start();
  // dead rows left by earlier suites would make every fingerprint scan them
  await caller.admin`vacuum public.readings`;
  fx = await createFixture(caller.admin);
  ctx = { sql: caller.admin, fx, caller };
  // an ended run on F and G from the start, so "an ended process" never has to end a running one
  await endedProcess(caller.admin, fx, fx.F);
  await endedProcess(caller.admin, fx, fx.G);
});

afterAll(async () => {
  // what the runs exercised: per property, each SQLSTATE (or ok / ok+write) and how often
  for (const [key, m] of [...outcomes].sort()) {
    console.log(`${key.padEnd(40)} ${[...m].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}×${n}`).join(' ')}`);
  }
  if (fx) for (const m of fx.machines) await endRuns(caller.admin, m);
  await dropFixture(caller.admin, fx);
  await caller?.end();
});

const seedOf = (name: string, transport: Transport) =>
  BASE_SEED + [...`${name}/${transport}`].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7);

function property(spec: Spec, transport: Transport) {
  return fc.asyncProperty(WHO[transport], spec.input(fx), (who, input) => runOnce(ctx, spec, transport, who, input));
}

describe.each(SPECS.map((s) => [s.sig.name, s] as const))('%s under hostile input', (name, spec) => {
  for (const transport of ['direct', 'json'] as const) {
    const how = transport === 'direct' ? 'postgres.js text parameters' : 'a PostgREST JSON body';
    it(`answers every call through ${how} with its documented code, and changes nothing when it refuses`, async () => {
      const seed = seedOf(name, transport);
      await fc.assert(property(spec, transport), {
        seed, numRuns: Math.max(1, Math.round(RUNS[name] * SCALE)), maxSkipsPerRun: 1000,
        reporter: (details) => {
          if (!details.failed) return;
          const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
          throw new Error(`${name} via ${transport} failed (seed ${seed}):\n${fc.defaultReportMessage(details)}\n${cause}`);
        },
      });
    }, 120_000);
  }
});

describe('PostgREST argument matching', () => {
  it('answers an unknown or missing argument with 404 PGRST202 before anything runs', async () => {
    const spec = SPECS.find((s) => s.sig.name === 'set_parameter_value')!;
    await fc.assert(fc.asyncProperty(
      fc.constantFrom('id; drop table machines; --', 'value ', 'VALUE', '', 'parameter_id"', '__proto__x'), fc.boolean(),
      async (extra, dropValue) => {
        const before = await fingerprint(caller.admin);
        const body: Record<string, unknown> = { parameter_id: fx.fParam('chamber_heater/kp'), value: 5, [extra]: 1 };
        if (dropValue) delete body.value;
        const res = await fetch(`${caller.endpoint.url}/rest/v1/rpc/${spec.sig.name}`, {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
        });
        expect(res.status).toBe(404);
        expect((await res.json()).code).toBe('PGRST202');
        expect(changedTables(before, await fingerprint(caller.admin))).toEqual([]);
      }), { seed: BASE_SEED, numRuns: 12 });
  });
});

describe('arrays of 100 000 ids', () => {
  const cases = [
    ['get_component_parameters_bulk', 'component_ids'], ['get_parameters', 'parameter_ids'], ['get_parameter_epochs', 'machine_ids'],
  ] as const;
  for (const [name, arg] of cases) {
    it(`${name} refuses 100 000 ${arg} with 22023 through both transports`, async () => {
      const spec = SPECS.find((s) => s.sig.name === name)!;
      const ids = uuids(manyUuids(42, 100_000, [...fx.fComponents, fx.F, ...fx.fParams]));
      const before = await fingerprint(caller.admin);
      expect(await caller.callDirect(spec.sig, 'direct', { [arg]: ids })).toMatchObject({ ok: false, code: '22023' });
      expect(await caller.callJson(spec.sig, 'operator', { [arg]: ids })).toMatchObject({ ok: false, code: '22023', status: 400 });
      expect(changedTables(before, await fingerprint(caller.admin))).toEqual([]);
    }, 60_000);
  }
});

describe('record_process_data with 100 000 rows', () => {
  it('inserts a backlog of exactly 100 000 readings in one call, and a retry inserts none', async () => {
    const pid = await ensureRunning(caller.admin, fx.F, fx.recipes.fMain);
    const params = fx.fParams.slice(0, 100);
    const n = 100_000;
    const t0 = Date.now() - 2 * 3_600_000; // inside the accepted tick window
    const ids = Array.from({ length: n }, (_, i) => params[i % 100]);
    const stamps = Array.from({ length: n }, (_, i) => new Date(t0 + Math.floor(i / 100) * 1000).toISOString());
    const values = Array.from({ length: n }, (_, i) => i / 7);
    const sql = caller.direct;
    const call = () => sql.unsafe('select public.record_process_data($1::uuid, $2::uuid[], $3::float8[], $4::timestamptz[]) as n',
      [pid, `{${ids.join(',')}}`, `{${values.join(',')}}`, `{${stamps.join(',')}}`]);
    try {
      expect((await call())[0].n).toBe(n);
      const before = await fingerprint(caller.admin);
      expect((await call())[0].n, 'a retried backlog inserts nothing').toBe(0);
      expect(changedTables(before, await fingerprint(caller.admin))).toEqual([]);
    } finally {
      await caller.admin`delete from public.readings where process_id = ${pid}`;
      await caller.admin`vacuum public.readings`; // 100 000 dead rows would slow every later scan
    }
  }, 60_000);

  it('refuses 100 001 rows with 22023 and writes none of them', async () => {
    const pid = await ensureRunning(caller.admin, fx.F, fx.recipes.fMain);
    const ids = manyUuids(1, 100_001, fx.fParams);
    const before = await fingerprint(caller.admin);
    const out = await caller.callDirect(SPECS.find((s) => s.sig.name === 'record_process_data')!.sig, 'direct', {
      process_id: str(pid), parameter_ids: uuids(ids), values: arr(ids.map((_, i) => num(i))), timestamps: { k: 'omit' }, set_points: { k: 'omit' },
    });
    expect(out).toMatchObject({ ok: false, code: '22023' });
    expect(rowCount(await fingerprint(caller.admin), 'readings')).toBe(rowCount(before, 'readings'));
  }, 60_000);
});
