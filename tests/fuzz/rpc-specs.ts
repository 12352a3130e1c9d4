// One spec per RPC: its signature, the arbitrary of its arguments, how references are resolved
// against the database, and the oracle: given the converted arguments and the state, the SQLSTATE
// the RPC documents for them, or what a success must return and change. The oracles restate the
// checks of the migrations (20261126001000..001600) in their order; each `code(...)` line cites the
// rule of the function comment it comes from.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { expect } from 'vitest';
import type postgres from 'postgres';
import {
  type Arg, bool, boolV, enumV, floatV, intV, nul, num, omit, raw, ref, str, textV, jsonbV, uuidArrayV, uuidV, wrongKind,
  anyNumber, rawNumber, numericText, arr,
} from './arbitraries.ts';
import type { Fixture } from './fixture.ts';
import { changeRoleOf, type Caller, isService, SEED, signatureOf, type Signature, type Table, USER_OF, type Who } from './harness.ts';
import {
  addCommand, endedProcess, ensureRunning, endRuns, mayOperate, maySee, one, runningProcess, stepExecutionOf,
  visibleMachines,
} from './state.ts';
import { ENUMS, TIMESTAMP_TEXTS, type PgArray, type PgVal, type V } from './values.ts';

export interface Ctx { sql: postgres.Sql; fx: Fixture; caller: Caller }
/** Converted arguments; undefined = left out (the default applies). */
export type Conv = Record<string, PgVal | undefined>;

export type Expect =
  | { code: string }
  | { mayChange: Table[]; mustChange?: Table[]; check?: (data: unknown) => Promise<void> | void };

export interface Spec {
  sig: Signature;
  /** Arguments (with references) and a setup choice, generated together. */
  input: (fx: Fixture) => fc.Arbitrary<{ args: Record<string, Arg>; setup: Record<string, unknown> }>;
  /** Arranges state and resolves references; runs before the "before" fingerprint. */
  prepare?: (ctx: Ctx, args: Record<string, Arg>, setup: Record<string, unknown>, who: Who) => Promise<void>;
  predict: (ctx: Ctx, a: Conv, who: Who) => Promise<Expect>;
}

const code = (c: string): Expect => ({ code: c });
const unchanged = (check?: (data: unknown) => Promise<void> | void): Expect => ({ mayChange: [], check });
type Arbs = Record<string, fc.Arbitrary<Arg>>;

/**
 * Plausible arguments with 0, 1 or 2 of them swapped for hostile ones: each hostile value meets
 * otherwise sensible calls, so the checks behind the first one are reached too (success included).
 */
function mixed(valid: fc.Arbitrary<Record<string, Arg>>, hostile: Arbs, setup: fc.Arbitrary<Record<string, unknown>> = fc.constant({})) {
  const names = Object.keys(hostile);
  const pick = fc.oneof({ weight: 2, arbitrary: fc.constant<string[]>([]) },
    { weight: 3, arbitrary: fc.constantFrom(...names).map((n) => [n]) },
    { weight: names.length > 1 ? 1 : 0, arbitrary: fc.uniqueArray(fc.constantFrom(...names), { minLength: Math.min(2, names.length), maxLength: 2 }) });
  return fc.record({ base: valid, bad: fc.record(hostile), pick, setup }).map(({ base, bad, pick: p, setup: st }) => ({
    args: Object.fromEntries(names.map((n) => [n, p.includes(n) ? bad[n] : base[n]])) as Record<string, Arg>,
    setup: st,
  }));
}
const valid = (arbs: Arbs) => fc.record(arbs) as fc.Arbitrary<Record<string, Arg>>;
const maybe = (a: fc.Arbitrary<Arg>) => fc.oneof(fc.constant(omit), a);
const ids = (pool: readonly string[], max = 8) => fc.array(fc.constantFrom(...pool).map(str), { maxLength: max }).map(arr);
const unicode = fc.string({ unit: 'grapheme', maxLength: 40 }).map(str);

const arrayItems = (v: PgVal | undefined): PgVal[] | null => (v === undefined || v === null ? null : (v as PgArray).items);
const dims = (v: PgVal | undefined): number => (v === undefined || v === null ? 0 : (v as PgArray).dims);
const uuidList = (ids: readonly PgVal[]) => `{${ids.map((x) => (x === null ? 'NULL' : x)).join(',')}}`;
const isObject = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
const jsonb = (v: PgVal | undefined) => (v === undefined || v === null ? null : (v as { jsonb: unknown }).jsonb);
const left = (s: string, n: number) => [...s].slice(0, n).join('');
/** -0 and 0 are the same setpoint (PostgreSQL compares them equal; jsonb has no -0). */
const z = (x: unknown) => (x === 0 ? 0 : x);

/** Resolves a reference to a value, arranging the state it names. */
async function resolve(ctx: Ctx, name: string): Promise<V> {
  const { sql, fx } = ctx;
  switch (name) {
    case 'F.main': return str(await ensureRunning(sql, fx.F, fx.recipes.fMain));
    case 'F.bad': return str(await ensureRunning(sql, fx.F, fx.recipes.fBad));
    case 'F.ended': return str(await endedProcess(sql, fx, fx.F));
    case 'G.run': return str(await ensureRunning(sql, fx.G, fx.recipes.g));
    case 'cmd:F:start': return str(await addCommand(sql, fx.F, 'start_recipe', fx.recipes.fMain));
    case 'cmd:F:bad': return str(await addCommand(sql, fx.F, 'start_recipe', fx.recipes.fBad));
    case 'cmd:F:stop': return str(await addCommand(sql, fx.F, 'stop_recipe', null));
    case 'cmd:F:cancelled': return str(await addCommand(sql, fx.F, 'start_recipe', fx.recipes.fMain, 'cancelled'));
    case 'cmd:G:start': return str(await addCommand(sql, fx.G, 'start_recipe', fx.recipes.g));
    case 'cmd:F:last': {
      const row = await one(sql, `select id from public.recipe_commands where machine_id = $1 and process_id is not null
                                  order by created_at desc limit 1`, [fx.F]);
      return str((row?.id as string) ?? randomUUID());
    }
    case 'req:F': case 'req:G': {
      const row = await one(sql, `select request_id from public.process_executions where machine_id = $1 and request_id is not null
                                  order by started_at desc limit 1`, [name === 'req:F' ? fx.F : fx.G]);
      return str((row?.request_id as string) ?? randomUUID());
    }
    default: throw new Error(`unknown reference ${name}`);
  }
}

async function resolveAll(ctx: Ctx, args: Record<string, Arg>): Promise<void> {
  for (const [k, v] of Object.entries(args)) if (v.k === 'ref' && !v.ref.startsWith('@')) args[k] = await resolve(ctx, v.ref);
}

// ---- reads -----------------------------------------------------------------------------------------

const SEED_COMPONENTS = ['00000000-0000-4000-8000-000000001001', '00000000-0000-4000-8000-000000001021', '00000000-0000-4000-8000-000000002001'];

async function expectRows(sql: postgres.Sql, query: string, params: unknown[], key = 'id'): Promise<Expect> {
  const want = (await sql.unsafe(query, params as never[])).map((r) => r[key]);
  return unchanged((data) => {
    expect(Array.isArray(data), 'a set-returning RPC replies with an array').toBe(true);
    expect((data as Record<string, unknown>[]).map((r) => r[key])).toEqual(want);
  });
}

const visibility = async (sql: postgres.Sql, who: Who) => {
  const vis = await visibleMachines(sql, who);
  return vis === null ? null : uuidList(vis);
};

export const getComponentParametersBulk: Spec = {
  sig: signatureOf('get_component_parameters_bulk'),
  input: (fx) => {
    const pool = [...fx.fComponents, ...fx.gComponents, ...SEED_COMPONENTS];
    return mixed(valid({ component_ids: ids(pool), include_inactive: maybe(fc.boolean().map(bool)) }),
      { component_ids: uuidArrayV(pool), include_inactive: boolV });
  },
  async predict({ sql }, a, who) {
    const ids = arrayItems(a.component_ids);
    if (ids && ids.length > 10000) return code('22023'); // more than 10000 ids raises 22023
    const inc = (a.include_inactive as boolean | null | undefined) ?? false;
    return expectRows(sql, `select p.id from public.component_parameters p
      where p.component_id = any ($1::uuid[]) and ($2 or (p.is_active and p.component_activated))
        and ($3::uuid[] is null or p.machine_id = any ($3::uuid[])) order by p.component_id, p.name`,
    [ids && uuidList(ids), inc, await visibility(sql, who)]);
  },
};

export const getMachineParameters: Spec = {
  sig: signatureOf('get_machine_parameters'),
  input: (fx) => {
    const pool = [fx.F, fx.G, fx.M, SEED.reactor, SEED.bench];
    return mixed(valid({ machine_id: fc.constantFrom(...pool).map(str), include_inactive: maybe(fc.boolean().map(bool)) }),
      { machine_id: uuidV(pool), include_inactive: boolV });
  },
  async predict({ sql }, a, who) {
    const m = a.machine_id as string | null;
    if (m === null) return code('22004'); // 22004 for a null id
    const exists = await one(sql, 'select 1 from public.machines where id = $1', [m]);
    if (!exists || !(await maySee(sql, who, m))) return code('P0002'); // P0002 when missing or not visible
    const inc = (a.include_inactive as boolean | null | undefined) ?? false;
    return expectRows(sql, `select p.id from public.component_parameters p where p.machine_id = $1
      and ($2 or (p.is_active and p.component_activated)) order by p.component_id, p.name`, [m, inc]);
  },
};

export const getParameters: Spec = {
  sig: signatureOf('get_parameters'),
  input: (fx) => {
    const pool = [...fx.fParams.slice(0, 20), ...fx.gParams, fx.fParam('fuzz_switched_off/setpoint'), fx.fParam('chamber_heater/fuzz_inactive')];
    return mixed(valid({ parameter_ids: ids(pool) }), { parameter_ids: uuidArrayV(pool) });
  },
  async predict({ sql }, a, who) {
    const ids = arrayItems(a.parameter_ids);
    if (ids && ids.length > 10000) return code('22023');
    return expectRows(sql, `select p.id from public.component_parameters p where p.id = any ($1::uuid[])
      and ($2::uuid[] is null or p.machine_id = any ($2::uuid[])) order by p.component_id, p.name`,
    [ids && uuidList(ids), await visibility(sql, who)]);
  },
};

export const getParameterEpochs: Spec = {
  sig: signatureOf('get_parameter_epochs'),
  input: (fx) => {
    const pool = [fx.F, fx.G, fx.M, SEED.reactor, SEED.bench];
    return mixed(valid({ machine_ids: ids(pool) }), { machine_ids: uuidArrayV(pool) });
  },
  async predict({ sql }, a, who) {
    const ids = arrayItems(a.machine_ids);
    if (ids && ids.length > 10000) return code('22023');
    return expectRows(sql, `select e.machine_id from public.machine_parameter_epochs e where e.machine_id = any ($1::uuid[])
      and ($2::uuid[] is null or e.machine_id = any ($2::uuid[])) order by e.machine_id`,
    [ids && uuidList(ids), await visibility(sql, who)], 'machine_id');
  },
};

// ---- set_parameter_value ----------------------------------------------------------------------------

export const setParameterValue: Spec = {
  sig: signatureOf('set_parameter_value'),
  input: (fx) => {
    const writable = ['chamber_heater/temperature_set', 'chamber_heater/pid_period', 'chamber_heater/power_on', 'chamber_heater/kp',
      'carrier_gas_mfc/flow_rate_set', 'carrier_gas_mfc/valve_override', 'nitrogen_generator/purity_set',
      'chamber_pressure_gauge/alarm_low_limit', 'valve_1/state', 'chamber_heater/temp_min_limit'];
    const others = ['chamber_heater/temperature_read', 'chamber_heater/fuzz_inactive', 'fuzz_switched_off/setpoint'];
    const pool = [...writable.map(fx.fParam), ...others.map(fx.fParam), ...fx.gParams];
    const fresh = fc.uuid().map(str);
    return mixed(valid({
      parameter_id: fc.constantFrom(...pool).map(str),
      value: fc.oneof(fc.constantFrom(0, 1, -0, 2, 150, 200, 10.5, 100, 99.99, 5000, 0.5).map(num),
        fc.double({ min: -10, max: 1000, noNaN: true }).map(num), fc.integer({ min: 0, max: 300 }).map(num)),
      expected_version: fc.oneof({ weight: 3, arbitrary: fc.constant(omit) }, { weight: 2, arbitrary: fc.constant(ref('@version')) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 }).map(num) }),
      source: maybe(fc.constantFrom(...ENUMS.change_source).map(str)),
      reason: maybe(fc.oneof(unicode, fc.constantFrom('x', '😀').map((c) => str(c.repeat(1005))))),
      process_id: fc.oneof({ weight: 6, arbitrary: fc.constant(omit) }, { weight: 1, arbitrary: fc.constant(ref('F.main')) },
        { weight: 1, arbitrary: fc.constant(ref('G.run')) }),
      step_execution_id: fc.oneof({ weight: 6, arbitrary: fc.constant(omit) }, { weight: 1, arbitrary: fc.constant(ref('@step')) }),
      request_id: fc.oneof({ weight: 4, arbitrary: fc.constant(omit) }, { weight: 2, arbitrary: fresh },
        { weight: 1, arbitrary: fc.constant(ref('@usedSame')) }, { weight: 1, arbitrary: fc.constant(ref('@usedOther')) }),
    }), {
      parameter_id: uuidV(pool), value: floatV, expected_version: intV(fc.integer({ min: 0, max: 5 })),
      source: enumV(ENUMS.change_source), reason: textV, process_id: uuidV([randomUUID()]), step_execution_id: uuidV([randomUUID()]),
      request_id: uuidV([randomUUID()]),
    });
  },
  async prepare(ctx, args) {
    await resolveAll(ctx, args);
    const { sql } = ctx;
    const pid = args.parameter_id.k === 'str' ? args.parameter_id.s : undefined;
    const param = pid && /^[0-9a-f-]{36}$/.test(pid) ? await one(sql, 'select version from public.component_parameters where id = $1', [pid]) : undefined;
    if (args.expected_version.k === 'ref') args.expected_version = param ? num(Number(param.version)) : num(1);
    if (args.step_execution_id.k === 'ref') {
      const process = args.process_id.k === 'str' ? args.process_id.s : (await resolve(ctx, 'F.main') as { s: string }).s;
      args.step_execution_id = str(await stepExecutionOf(sql, process));
    }
    if (args.request_id.k === 'ref') {
      const same = args.request_id.ref === '@usedSame';
      const row = await one(sql, `select request_id from public.parameter_changes where request_id is not null
        and (parameter_id = $1) = $2 order by id desc limit 1`, [param ? pid : randomUUID(), same]);
      args.request_id = str((row?.request_id as string) ?? randomUUID());
    }
  },
  async predict({ sql }, a, who) {
    const id = a.parameter_id as string | null;
    const value = a.value as number | null;
    if (id === null || value === null) return code('22004'); // parameter_id or value is null
    if (!Number.isFinite(value)) return code('22023'); // NaN or infinite
    const p = await one(sql, `select *, version::int as v from public.component_parameters where id = $1`, [id]);
    if (!p) return code('P0002'); // no such parameter
    if (!(await mayOperate(sql, who, p.machine_id as string))) return code('42501'); // not an operator of its machine
    const req = (a.request_id as string | null | undefined) ?? null;
    const current = () => unchanged((data) => expect((data as { version: number }).version).toBe(p.v));
    if (req !== null && await one(sql, 'select 1 from public.parameter_changes where request_id = $1 and parameter_id = $2', [req, id])) {
      return current(); // a repeated request_id returns the row without writing again
    }
    const ev = (a.expected_version as bigint | null | undefined) ?? null;
    if (ev !== null && ev !== BigInt(p.v as number)) return code('40001'); // stale expected_version
    if (!p.component_activated || !p.is_active || !p.is_writable) return code('55000'); // deactivated, inactive, read-only
    if (p.data_type === 'integer' && value !== Math.trunc(value)) return code('22023'); // fraction for an integer
    if (p.data_type === 'binary' && value !== 0 && value !== 1) return code('22023'); // not 0/1 for a binary
    const min = p.min_value as number | null;
    const max = p.max_value as number | null;
    if ((min !== null && value < min) || (max !== null && value > max)) return code('22003'); // outside [min, max]
    const proc = (a.process_id as string | null | undefined) ?? null;
    if (proc !== null && !await one(sql, 'select 1 from public.process_executions where id = $1 and machine_id = $2', [proc, p.machine_id])) {
      return code('22023'); // process_id not on the parameter's machine
    }
    const step = (a.step_execution_id as string | null | undefined) ?? null;
    if (step !== null && !await one(sql, 'select 1 from public.step_executions where id = $1 and process_id = $2', [step, proc])) {
      return code('22023'); // step_execution_id not of process_id
    }
    if (value === p.set_value) return current(); // writing the value it already has changes nothing
    if (req !== null && await one(sql, 'select 1 from public.parameter_changes where request_id = $1', [req])) {
      return code('23505'); // request_id already used for a change of another parameter
    }
    const reason = (a.reason as string | null | undefined) ?? null;
    const tables: Table[] = ['component_parameters', 'parameter_changes', 'machine_parameter_epochs'];
    return {
      mayChange: tables,
      mustChange: tables,
      async check(data) {
        const row = data as { id: string; set_value: number; version: number };
        expect(row.id).toBe(id);
        expect(z(row.set_value)).toBe(z(value));
        expect(row.version).toBe((p.v as number) + 1);
        const c = await one(sql, `select *, old_version::int as ov, new_version::int as nv from public.parameter_changes
                                  where parameter_id = $1 order by id desc limit 1`, [id]);
        expect({ ...c, old_value: z(c?.old_value), new_value: z(c?.new_value) }).toMatchObject({
          old_value: z(p.set_value), new_value: z(value), ov: p.v, nv: (p.v as number) + 1,
          source: (a.source as string | null | undefined) ?? 'api',
          reason: reason === null || reason === '' ? null : left(reason, 1000),
          process_id: proc, step_execution_id: step, request_id: req,
          changed_by: USER_OF[who] ?? null, changed_by_role: changeRoleOf(who),
        });
      },
    };
  },
};

// ---- record_process_data ----------------------------------------------------------------------------

/**
 * Fixed at load: timestamps cluster in the hour before it (collisions exercise the idempotent key),
 * inside the accepted tick window (now() - 31 days .. now() + 5 minutes); a few lie far outside it.
 */
const BASE = Date.now() - (Date.now() % 60_000);
const OUTSIDE_WINDOW = [BASE - 40 * 86_400_000, BASE + 3_600_000];
const tsElem: fc.Arbitrary<V> = fc.oneof(
  { weight: 24, arbitrary: fc.integer({ min: -120, max: 0 }).map((k) => str(new Date(BASE + k * 30_000).toISOString())) },
  { weight: 1, arbitrary: fc.constantFrom(...OUTSIDE_WINDOW).map((t) => str(new Date(t).toISOString())) },
  { weight: 1, arbitrary: fc.constantFrom(...Object.keys(TIMESTAMP_TEXTS)).map(str) },
  { weight: 1, arbitrary: fc.constant(nul) },
);
const floatElem: fc.Arbitrary<V> = fc.oneof(
  { weight: 20, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }).map(num) },
  { weight: 2, arbitrary: anyNumber.map(num) },
  { weight: 1, arbitrary: rawNumber.map(raw) },
  { weight: 1, arbitrary: numericText.map(str) },
  { weight: 1, arbitrary: fc.constant(nul) },
);

export const recordProcessData: Spec = {
  sig: signatureOf('record_process_data'),
  input: (fx) => {
    const own = [...fx.fParams.slice(0, 30), fx.fParam('fuzz_switched_off/setpoint')];
    const pool = [...own, ...fx.gParams];
    const idElem = fc.oneof({ weight: 60, arbitrary: fc.constantFrom(...own).map(str) }, { weight: 1, arbitrary: fc.constantFrom(...fx.gParams).map(str) },
      { weight: 1, arbitrary: fc.uuid().map(str) },
      { weight: 1, arbitrary: fc.constant(nul) }, { weight: 1, arbitrary: wrongKind.filter((v) => v.k !== 'arr' && v.k !== 'obj') });
    const process = fc.oneof({ weight: 8, arbitrary: fc.constant(ref('F.main')) }, { weight: 2, arbitrary: fc.constant(ref('F.ended')) },
      { weight: 1, arbitrary: fc.constant(ref('G.run')) });
    const rows = fc.array(fc.record({ id: idElem, value: floatElem, sp: floatElem, ts: tsElem }), { maxLength: 8 });
    const aligned = fc.tuple(process, rows, fc.nat(5), fc.nat(3)).map(([p, rs, tsMode, spMode]) => ({
      process_id: p,
      parameter_ids: arr(rs.map((r) => r.id)),
      values: arr(rs.map((r) => r.value)),
      timestamps: [omit, nul, arr(rs.slice(0, 1).map((r) => r.ts)), arr(rs.map((r) => r.ts)), arr(rs.map((r) => r.ts)), arr([])][tsMode],
      set_points: [omit, nul, arr(rs.map((r) => r.sp)), omit][spMode],
    }) as Record<string, Arg>);
    const twoD = (a: fc.Arbitrary<V>) => fc.array(a, { minLength: 1, maxLength: 2 }).map((row) => arr([arr(row), arr(row)]));
    return mixed(aligned, {
      process_id: fc.oneof(fc.uuid().map(str), fc.constant(nul), wrongKind, uuidV([randomUUID()])),
      parameter_ids: fc.oneof(uuidArrayV(pool), twoD(fc.constantFrom(...pool).map(str))),
      values: fc.oneof(fc.array(floatElem, { maxLength: 6 }).map(arr), floatV, twoD(floatElem)),
      timestamps: fc.oneof(fc.array(tsElem, { maxLength: 3 }).map(arr), wrongKind, twoD(tsElem),
        fc.constantFrom(...Object.keys(TIMESTAMP_TEXTS)).map((t) => arr([str(t)]))),
      set_points: fc.oneof(fc.array(floatElem, { maxLength: 3 }).map(arr), wrongKind),
    });
  },
  prepare: (ctx, args) => resolveAll(ctx, args),
  async predict({ sql }, a, who) {
    const pid = a.process_id as string | null;
    if (pid === null) return code('22004'); // null process_id
    if ([a.parameter_ids, a.values, a.timestamps, a.set_points].some((v) => dims(v) > 1)) {
      return code('22023'); // arrays must be one-dimensional
    }
    const ids = arrayItems(a.parameter_ids) ?? [];
    const n = ids.length;
    const values = arrayItems(a.values) ?? [];
    const ts = arrayItems(a.timestamps) as (number | null)[] | null;
    const sps = arrayItems(a.set_points);
    if (n > 100000) return code('22023'); // more than 100000 rows
    if (values.length !== n) return code('22023'); // unequal lengths
    if (ts !== null && ts.length !== 1 && ts.length !== n) return code('22023');
    if (sps !== null && sps.length !== n) return code('22023');
    if (ids.includes(null)) return code('22023'); // null ids
    if (ts !== null && ts.includes(null)) return code('22023'); // null timestamps
    if (ts !== null && ts.some((t) => !Number.isFinite(t))) return code('22023'); // infinite timestamps
    const finite = (xs: PgVal[] | null) => (xs ?? []).every((x) => x === null || Number.isFinite(x as number));
    if (!finite(values) || !finite(sps)) return code('22023'); // NaN/infinite values
    const pe = await one(sql, `select machine_id, status::text, extract(epoch from ended_at) * 1000 as ended
                               from public.process_executions where id = $1`, [pid]);
    if (!pe) return code('P0002'); // unknown process
    if (!(await mayOperate(sql, who, pe.machine_id as string))) return code('42501');
    const latest = ts && ts.length ? Math.max(...(ts as number[])) : Infinity; // no timestamps: now()
    if (pe.status !== 'running' && latest > Number(pe.ended)) return code('55000'); // rows after the end of the run
    const foreign = await one(sql, `select 1 from unnest($1::uuid[]) x where not exists
      (select 1 from public.component_parameters p where p.id = x and p.machine_id = $2)`, [uuidList(ids), pe.machine_id]);
    if (foreign) return code('22023'); // parameters not on the process's machine
    if (n === 0) return unchanged((data) => expect(data).toBe(0));
    // tick times outside now() - 31 days .. now() + 5 minutes (private.telemetry_settings)
    if (ts !== null && (ts as number[]).some((t) => t < Date.now() - 31 * 86_400_000 || t > Date.now() + 300_000)) return code('22023');
    const stamps = ts === null ? null : ids.map((_, i) => new Date(ts.length === 1 ? ts[0]! : ts[i]!).toISOString());
    // the key is (machine, tick time): rows of a tick the machine already has are not stored
    const [{ fresh }] = await sql.unsafe(`select count(*)::int as fresh from (select distinct p, t from unnest($1::uuid[], $2::timestamptz[]) u (p, t)) k
      where not exists (select 1 from public.readings r where r.machine_id = $3 and r.ts = k.t)`,
    [uuidList(ids), stamps === null ? `{${ids.map(() => 'NULL').join(',')}}` : `{${stamps.join(',')}}`, pe.machine_id as string]);
    return {
      mayChange: ['readings', 'latest_readings', 'reading_layouts'],
      mustChange: fresh > 0 ? ['readings'] : [],
      check: (data) => expect(data, 'the number of new rows').toBe(fresh),
    };
  },
};

// ---- claim_next_command -----------------------------------------------------------------------------

const CLAIM_KEYS = ['5e4c1a1e-0000-4000-8000-0000000000f1', '5e4c1a1e-0000-4000-8000-0000000000f2'];

export const claimNextCommand: Spec = {
  sig: signatureOf('claim_next_command'),
  input: (fx) => mixed(
    valid({
      machine_id: fc.constantFrom(fx.F, fx.F, fx.G, fx.M).map(str), claimed_by: maybe(fc.oneof(unicode, fc.constant(str('é'.repeat(250))))),
      // a few fixed keys, so that retries (the same key again) and keys of another machine come up
      claim_key: maybe(fc.oneof(fc.constantFrom(...CLAIM_KEYS), fc.uuid()).map(str)),
    }),
    { machine_id: uuidV([fx.F, fx.G, fx.M]), claimed_by: textV, claim_key: uuidV(CLAIM_KEYS) },
    fc.record({ pending: fc.nat(2), kind: fc.constantFrom('stop_recipe', 'pause_recipe', 'resume_recipe', 'set_parameter') })),
  async prepare({ sql, fx }, args, setup) {
    const m = args.machine_id.k === 'str' ? args.machine_id.s.toLowerCase() : '';
    if (!fx.machines.includes(m)) return;
    for (let i = 0; i < (setup.pending as number); i++) await addCommand(sql, m, setup.kind as 'stop_recipe', null);
  },
  async predict({ sql }, a, who) {
    const m = a.machine_id as string | null;
    if (m === null) return code('22004'); // null machine_id
    if (!await one(sql, 'select 1 from public.machines where id = $1', [m])) return code('P0002'); // unknown machine
    if (!(await mayOperate(sql, who, m))) return code('42501');
    const key = (a.claim_key as string | null | undefined) ?? null;
    if (key !== null) {
      const prior = await one(sql, 'select id, machine_id = $2::uuid as same from public.recipe_commands where claim_key = $1::uuid', [key, m]);
      if (prior && !prior.same) return code('23505'); // claim_key used on another machine
      if (prior) return unchanged((data) => expect((data as { id: string }[]).map((r) => r.id), 'a retry returns what the key claimed').toEqual([prior.id]));
    }
    const next = await one(sql, `select id from public.recipe_commands where machine_id = $1 and status = 'pending'
                                 order by created_at, id limit 1`, [m]);
    if (!next) return unchanged((data) => expect(data).toEqual([]));
    const by = (a.claimed_by as string | null | undefined) ?? null;
    return {
      mayChange: ['recipe_commands'],
      mustChange: ['recipe_commands'],
      async check(data) {
        const rows = data as { id: string; status: string; claimed_by: string }[];
        expect(rows.map((r) => r.id), 'the oldest pending command, once').toEqual([next.id]);
        expect(rows[0]).toMatchObject({ status: 'claimed', claimed_by: by === null ? changeRoleOf(who) : left(by, 200) });
        const after = await one(sql, `select status::text, claimed_by from public.recipe_commands where id = $1`, [next.id]);
        expect(after).toEqual({ status: 'claimed', claimed_by: rows[0].claimed_by });
      },
    };
  },
};

// ---- start_process ----------------------------------------------------------------------------------

export const startProcess: Spec = {
  sig: signatureOf('start_process'),
  input: (fx) => {
    const r = fx.recipes;
    const recipes = [r.fMain, r.fBad, r.fInactive, r.fEmpty, r.fLong, r.g, r.m];
    return mixed(valid({
      machine_id: fc.constantFrom(fx.F, fx.F, fx.F, fx.G, fx.M).map(str),
      recipe_id: fc.oneof({ weight: 4, arbitrary: fc.constant(str(r.fMain)) }, { weight: 1, arbitrary: fc.constant(omit) },
        { weight: 2, arbitrary: fc.constantFrom(...recipes).map(str) }),
      command_id: fc.oneof({ weight: 5, arbitrary: fc.constant(omit) },
        { weight: 3, arbitrary: fc.constantFrom('cmd:F:start', 'cmd:F:bad', 'cmd:F:stop', 'cmd:F:cancelled', 'cmd:G:start', 'cmd:F:last').map(ref) }),
      operator_id: fc.oneof({ weight: 4, arbitrary: fc.constant(omit) }, { weight: 1, arbitrary: fc.constant(ref('@self')) },
        { weight: 1, arbitrary: fc.constantFrom(SEED.operator, SEED.admin, SEED.benchOperator).map(str) }),
      request_id: fc.oneof({ weight: 4, arbitrary: fc.constant(omit) }, { weight: 2, arbitrary: fc.uuid().map(str) },
        { weight: 1, arbitrary: fc.constantFrom('req:F', 'req:G').map(ref) }),
    }), {
      machine_id: uuidV([fx.F, fx.G, fx.M]), recipe_id: uuidV(recipes), command_id: uuidV([randomUUID()]),
      operator_id: fc.oneof(uuidV([SEED.operator, SEED.viewer]), fc.uuid().map(str)), request_id: uuidV([randomUUID()]),
    }, fc.record({ fRunning: fc.constantFrom(false, false, true), gRunning: fc.boolean() }));
  },
  async prepare(ctx, args, setup, who) {
    const { sql, fx } = ctx;
    if (setup.fRunning) await ensureRunning(sql, fx.F, (await runningProcess(sql, fx.F))?.recipe_id ?? fx.recipes.fMain);
    else await endRuns(sql, fx.F);
    if (setup.gRunning) await ensureRunning(sql, fx.G, fx.recipes.g);
    else await endRuns(sql, fx.G);
    if (args.operator_id.k === 'ref') args.operator_id = USER_OF[who] ? str(USER_OF[who]!) : omit; // '@self'
    await resolveAll(ctx, args);
  },
  async predict({ sql }, a, who) {
    const m = a.machine_id as string | null;
    if (m === null) return code('22004'); // machine_id is required
    if (!(await mayOperate(sql, who, m))) return code('42501'); // the operator role on the machine
    const op = (a.operator_id as string | null | undefined) ?? null;
    const me = USER_OF[who] ?? null;
    if (op !== null && !isService(who) && op !== me) return code('42501'); // a user naming another operator_id
    const machine = await one(sql, 'select status::text from public.machines where id = $1', [m]);
    if (!machine) return code('P0002'); // unknown machine
    const req = (a.request_id as string | null | undefined) ?? null;
    const replay = (pid: string) => unchanged((data) => expect(data).toMatchObject({ process_id: pid, replayed: true }));
    if (req !== null) {
      const e = await one(sql, 'select id from public.process_executions where request_id = $1 and machine_id = $2', [req, m]);
      if (e) return replay(e.id as string); // a repeated request_id returns that execution
    }
    let recipe = (a.recipe_id as string | null | undefined) ?? null;
    const cmdId = (a.command_id as string | null | undefined) ?? null;
    if (cmdId !== null) {
      const c = await one(sql, `select machine_id, command_type::text, status::text, process_id, recipe_id from public.recipe_commands where id = $1`, [cmdId]);
      if (!c) return code('P0002'); // command not found
      if (c.machine_id !== m) return code('22023'); // command of another machine
      if (c.command_type !== 'start_recipe') return code('22023'); // not a start_recipe command
      if (c.process_id !== null) {
        const run = await one(sql, `select 1 from public.process_executions where id = $1 and status = 'running'`, [c.process_id]);
        return run ? replay(c.process_id as string) : code('55000'); // the command already started a run
      }
      if (!['pending', 'claimed', 'executing'].includes(c.status as string)) return code('55000'); // not runnable
      if (recipe !== null && recipe !== c.recipe_id) return code('22023'); // recipe_id differs from the command's
      recipe = c.recipe_id as string;
    }
    if (recipe === null) return code('22004'); // recipe_id is required
    const running = await runningProcess(sql, m);
    if (['running', 'paused'].includes(machine.status as string) || running) return code('23505'); // already running
    if (['maintenance', 'offline'].includes(machine.status as string)) return code('55000'); // machine unavailable
    const r = await one(sql, `select is_active, private.count_executed_steps(private.recipe_steps_json(id, null)) as total
                              from public.recipes where id = $1 and machine_id = $2`, [recipe, m]);
    if (!r) return code('P0002'); // recipe not found for this machine
    if (!r.is_active) return code('55000'); // recipe inactive
    const total = Number(r.total);
    if (total === 0 || total > 1_000_000) return code('22023'); // empty or too long
    const operator = op ?? me;
    if (operator !== null && !await one(sql, 'select 1 from auth.users where id = $1', [operator])) return code('P0002'); // unknown operator
    if (req !== null && await one(sql, 'select 1 from public.process_executions where request_id = $1', [req])) return code('23505');
    const tables: Table[] = ['process_executions', 'process_execution_state', 'machines', ...(cmdId ? ['recipe_commands' as Table] : [])];
    return {
      mayChange: tables,
      mustChange: tables,
      async check(data) {
        const plan = data as { process_id: string; replayed: boolean; total_steps: number; machine_id: string };
        expect(plan).toMatchObject({ replayed: false, total_steps: total, machine_id: m, recipe_id: recipe, command_id: cmdId });
        const e = await one(sql, `select e.status::text, e.operator_id, e.request_id, m.status::text as machine_status, m.current_process_id
          from public.process_executions e join public.machines m on m.id = e.machine_id where e.id = $1`, [plan.process_id]);
        expect(e).toEqual({ status: 'running', operator_id: operator, request_id: req, machine_status: 'running', current_process_id: plan.process_id });
        if (cmdId) {
          expect(await one(sql, 'select status::text, process_id from public.recipe_commands where id = $1', [cmdId]))
            .toEqual({ status: 'executing', process_id: plan.process_id });
        }
      },
    };
  },
};

// ---- at: the controller's time of a step, a pause or an end ----------------------------------------

/**
 * `at` (advance_step, complete_process): a time relative to the moment of the call (resolved in
 * prepare, so that the window is judged as the server judges it), far from the window's edges
 * (now() - 31 days .. now() + 5 minutes), or one of the fixed timestamp texts (infinity, epoch, junk).
 */
const AT_VALID_MS = [-600_000, -3_600_000, -86_400_000, 60_000];
const AT_OUTSIDE_MS = [-40 * 86_400_000, 3_600_000];
const atValid: fc.Arbitrary<Arg> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(omit) }, { weight: 1, arbitrary: fc.constant(nul) },
  { weight: 3, arbitrary: fc.constantFrom(...AT_VALID_MS).map((ms) => ref(`@at:${ms}`)) },
);
const atHostile: fc.Arbitrary<Arg> = fc.oneof(
  fc.constantFrom(...AT_OUTSIDE_MS).map((ms) => ref(`@at:${ms}`)),
  fc.constantFrom(...Object.keys(TIMESTAMP_TEXTS)).map(str),
);
function resolveAt(args: Record<string, Arg>): void {
  const a = args.at;
  if (a?.k === 'ref' && a.ref.startsWith('@at:')) args.at = str(new Date(Date.now() + Number(a.ref.slice(4))).toISOString());
}
/** The rule of private.controller_time: 22023 for a time that is not finite or outside the tick window. */
const atRefused = (at: PgVal | undefined) => typeof at === 'number'
  && (!Number.isFinite(at) || at < Date.now() - 31 * 86_400_000 || at > Date.now() + 300_000);
/** private.run_time's floor: the run's start, or the last step's end (its start while it runs), in epoch ms. */
async function timeFloor(sql: postgres.Sql, pid: string): Promise<number> {
  const row = await one(sql, `select (extract(epoch from greatest(e.started_at,
      (select coalesce(x.ended_at, x.started_at) from public.step_executions x where x.process_id = e.id order by x.step_index desc limit 1))) * 1000)::float8 as floor
    from public.process_executions e where e.id = $1`, [pid]);
  return row!.floor as number;
}
const epochMs = `(extract(epoch from $TS) * 1000)::float8`;

// ---- advance_step -----------------------------------------------------------------------------------

export const advanceStep: Spec = {
  sig: signatureOf('advance_step'),
  input: (fx) => {
    const steps = [...fx.steps[fx.recipes.fMain], ...fx.steps[fx.recipes.fBad], ...fx.steps[fx.recipes.g]];
    const labels = ENUMS.step_execution_status;
    return mixed(valid({
      process_id: fc.oneof({ weight: 5, arbitrary: fc.constant(ref('F.main')) }, { weight: 4, arbitrary: fc.constant(ref('F.bad')) },
        { weight: 1, arbitrary: fc.constant(ref('F.ended')) }, { weight: 1, arbitrary: fc.constant(ref('G.run')) }),
      step_id: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...steps).map(str) }, { weight: 2, arbitrary: fc.constant(ref('@currentStep')) },
        { weight: 1, arbitrary: fc.constant(omit) }),
      step_index: fc.oneof({ weight: 3, arbitrary: fc.constant(omit) }, { weight: 3, arbitrary: fc.constant(ref('@next')) },
        { weight: 1, arbitrary: fc.constant(ref('@current')) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 50 }).map(num) }),
      loop_iteration: maybe(fc.integer({ min: 1, max: 10 }).map(num)),
      previous_status: maybe(fc.constantFrom(...labels.filter((l) => l !== 'running')).map(str)),
      details: maybe(jsonbV.filter((v) => v.k === 'obj')),
      error_message: maybe(unicode),
      at: atValid,
    }), {
      process_id: fc.oneof(fc.uuid().map(str), fc.constant(nul), wrongKind), step_id: uuidV(steps),
      step_index: intV(fc.integer({ min: -2, max: 50 })), loop_iteration: intV(fc.integer({ min: -2, max: 12 })),
      previous_status: enumV(labels), details: jsonbV, error_message: textV, at: atHostile,
    }, fc.record({ restart: fc.nat(5) }));
  },
  async prepare(ctx, args, setup) {
    const { sql, fx } = ctx;
    if (setup.restart === 0) await endRuns(sql, fx.F);
    await resolveAll(ctx, args);
    resolveAt(args);
    const pid = args.process_id.k === 'str' ? args.process_id.s : undefined;
    const st = pid && /^[0-9a-f-]{36}$/.test(pid)
      ? await one(sql, 'select current_step_id, current_step_index from public.process_execution_state where process_id = $1', [pid]) : undefined;
    if (args.step_id.k === 'ref') args.step_id = st?.current_step_id ? str(st.current_step_id as string) : str(fx.steps[fx.recipes.fBad][0]);
    if (args.step_index.k === 'ref') {
      const cur = st?.current_step_index as number | null | undefined;
      args.step_index = args.step_index.ref === '@next' ? num(cur === null || cur === undefined ? 0 : cur + 1) : cur == null ? nul : num(cur);
    }
  },
  async predict({ sql }, a, who) {
    const pid = a.process_id as string | null;
    if (pid === null) return code('22004'); // process_id is required
    const prevStatus = a.previous_status === undefined ? 'completed' : a.previous_status as string | null;
    if (prevStatus === null || prevStatus === 'running') return code('22023'); // bad previous_status
    const li = (a.loop_iteration as number | null | undefined) ?? null;
    if (li !== null && li < 1) return code('22023'); // loop_iteration below 1
    const details = jsonb(a.details);
    if (a.details !== undefined && a.details !== null && !isObject(details)) return code('22023'); // details not an object
    if (atRefused(a.at)) return code('22023'); // at not finite or outside the tick time window
    const pe = await one(sql, 'select machine_id, recipe_id, status::text from public.process_executions where id = $1', [pid]);
    if (!pe) return code('P0002'); // process unknown
    if (!(await mayOperate(sql, who, pe.machine_id as string))) return code('42501');
    if (pe.status !== 'running') return code('55000'); // process not running
    const st = (await one(sql, `select s.*, x.status::text as open_status, x.details as open_details, x.error_message as open_error
      from public.process_execution_state s left join public.step_executions x on x.id = s.current_step_execution_id
      where s.process_id = $1`, [pid]))!;
    const stepId = (a.step_id as string | null | undefined) ?? null;
    const index = (a.step_index as number | null | undefined) ?? null;
    if (stepId !== null && index !== null) {
      const se = await one(sql, 'select id, step_id from public.step_executions where process_id = $1 and step_index = $2', [pid, index]);
      if (se) {
        if (se.step_id === stepId && se.id === st.current_step_execution_id) {
          return unchanged((data) => expect(data).toMatchObject({ step_execution_id: se.id, replayed: true })); // retry of a committed call
        }
        return code('23505'); // step_index already used by another step
      }
    }
    const open = st.current_step_execution_id !== null && st.open_status === 'running';
    const completed = (st.completed_steps as number) + (open ? 1 : 0);
    const error = (a.error_message as string | null | undefined) ?? null;
    // The step's time: at, never before the run or the open step began; null: now() (unknown here, but
    // the same for the closed step's end and the new step's start, and not before the floor either).
    const floor = await timeFloor(sql, pid);
    const at = (a.at as number | null | undefined) ?? null;
    const when = at === null ? null : Math.max(at, floor);
    const timeCheck = (t: number) => (when === null ? expect(t).toBeGreaterThanOrEqual(floor) : expect(t).toBe(when));
    const closeCheck = async () => {
      if (!open) return;
      const prev = await one(sql, `select status::text, error_message, details, ${epochMs.replace('$TS', 'ended_at')} as ended
        from public.step_executions where id = $1`, [st.current_step_execution_id]);
      const { ended, ...rest } = prev!;
      expect(rest).toEqual({
        status: prevStatus, error_message: error ?? st.open_error,
        details: details === null ? st.open_details : { ...(st.open_details as object ?? {}), ...(details as object) },
      });
      timeCheck(ended as number);
      return ended as number;
    };
    const closeTables: Table[] = ['process_execution_state', ...(open ? ['step_executions' as Table] : [])];
    if (stepId === null) {
      return { // only closing the open step
        mayChange: closeTables, mustChange: closeTables,
        async check(data) {
          expect(data).toMatchObject({ process_id: pid, completed_steps: completed, replayed: false });
          await closeCheck();
        },
      };
    }
    const current = st.current_step_index as number | null;
    const next = index ?? (current === null ? 0 : current + 1);
    if (next < 0 || next >= (st.total_steps as number)) return code('22023'); // step_index out of range
    if (next <= (current ?? -1)) return code('22023'); // step_index must increase
    const s = await one(sql, 'select step_type::text from public.recipe_steps where id = $1 and recipe_id = $2', [stepId, pe.recipe_id]);
    if (!s) return code('P0002'); // step not in the process's recipe
    const tables: Table[] = ['process_execution_state', 'step_executions'];
    let paramChange = false;
    if (s.step_type === 'parameter') {
      const c = (await one(sql, `select c.value, p.machine_id, p.component_activated, p.is_active, p.is_writable, p.data_type::text,
          p.min_value, p.max_value, p.set_value from public.parameter_step_configs c
        join public.component_parameters p on p.id = c.parameter_id where c.step_id = $1`, [stepId]))!;
      const v = c.value as number;
      if (c.machine_id !== pe.machine_id) return code('22023'); // parameter of another machine
      if (!c.component_activated || !c.is_active || !c.is_writable) return code('55000'); // every set_parameter_value code
      if (c.data_type === 'integer' && v !== Math.trunc(v)) return code('22023');
      if (c.data_type === 'binary' && v !== 0 && v !== 1) return code('22023');
      if ((c.min_value !== null && v < (c.min_value as number)) || (c.max_value !== null && v > (c.max_value as number))) return code('22003');
      paramChange = v !== c.set_value;
      if (paramChange) tables.push('component_parameters', 'parameter_changes', 'machine_parameter_epochs');
    }
    return {
      mayChange: tables,
      mustChange: paramChange ? tables : ['process_execution_state', 'step_executions'],
      async check(data) {
        expect(data).toMatchObject({ process_id: pid, step_id: stepId, step_index: next, loop_iteration: li, completed_steps: completed, replayed: false });
        const se = await one(sql, `select step_id, status::text, loop_iteration, ${epochMs.replace('$TS', 'started_at')} as started
          from public.step_executions where process_id = $1 and step_index = $2`, [pid, next]);
        const { started, ...rest } = se!;
        expect(rest).toEqual({ step_id: stepId, status: 'running', loop_iteration: li });
        timeCheck(started as number);
        const ended = await closeCheck();
        if (ended !== undefined) expect(started, 'the new step starts when the closed one ended').toBe(ended);
        const live = await one(sql, `select ${epochMs.replace('$TS', 'current_step_started_at')} as t from public.process_execution_state where process_id = $1`, [pid]);
        expect(live!.t, 'current_step_started_at follows').toBe(started);
      },
    };
  },
};

// ---- complete_process -------------------------------------------------------------------------------

export const completeProcess: Spec = {
  sig: signatureOf('complete_process'),
  input: () => mixed(valid({
    process_id: fc.oneof({ weight: 4, arbitrary: fc.constant(ref('F.main')) }, { weight: 2, arbitrary: fc.constant(ref('F.ended')) },
      { weight: 2, arbitrary: fc.constant(ref('G.run')) }),
    status: maybe(fc.constantFrom('completed', 'failed', 'aborted').map(str)),
    error_message: maybe(unicode),
    at: atValid,
  }), {
    process_id: fc.oneof(fc.uuid().map(str), fc.constant(nul), wrongKind),
    status: enumV(ENUMS.execution_status),
    error_message: textV,
    at: atHostile,
  }),
  async prepare(ctx, args) {
    await resolveAll(ctx, args);
    resolveAt(args);
  },
  async predict({ sql }, a, who) {
    const pid = a.process_id as string | null;
    if (pid === null) return code('22004'); // process_id is required
    const status = a.status === undefined ? 'completed' : a.status as string | null;
    if (status === null || status === 'running' || status === 'paused') return code('22023'); // status running, paused or null
    if (atRefused(a.at)) return code('22023'); // at not finite or outside the tick time window
    const pe = await one(sql, `select e.machine_id, e.status::text, e.command_id, m.current_process_id,
        (select count(*)::int from public.step_executions x where x.process_id = e.id and x.status = 'running') as open
      from public.process_executions e join public.machines m on m.id = e.machine_id where e.id = $1`, [pid]);
    if (!pe) return code('P0002');
    if (!(await mayOperate(sql, who, pe.machine_id as string))) return code('42501');
    if (pe.status !== 'running') {
      if (pe.status === status) return unchanged((data) => expect(data).toMatchObject({ process_id: pid, replayed: true }));
      return code('55000'); // already ended with another status
    }
    const error = (a.error_message as string | null | undefined) ?? null;
    // The end's time: at, never before the run or its open step began (null: now(), not before either).
    const floor = await timeFloor(sql, pid);
    const at = (a.at as number | null | undefined) ?? null;
    const tables: Table[] = ['process_executions', 'process_execution_state'];
    if (pe.open) tables.push('step_executions');
    if (pe.current_process_id === pid) tables.push('machines');
    if (pe.command_id) tables.push('recipe_commands');
    return {
      mayChange: tables,
      mustChange: tables.filter((t) => t !== 'recipe_commands'),
      async check(data) {
        expect(data).toMatchObject({ process_id: pid, status, error_message: error, replayed: false });
        expect(await one(sql, 'select status::text, error_message from public.process_executions where id = $1', [pid]))
          .toEqual({ status, error_message: error });
        expect(await one(sql, `select count(*)::int as n from public.step_executions where process_id = $1 and status = 'running'`, [pid]))
          .toEqual({ n: 0 });
        const t = await one(sql, `select ${epochMs.replace('$TS', 'e.ended_at')} as run,
            (select ${epochMs.replace('$TS', 'x.ended_at')} from public.step_executions x where x.process_id = e.id order by x.step_index desc limit 1) as step
          from public.process_executions e where e.id = $1`, [pid]);
        if (at === null) expect(t!.run).toBeGreaterThanOrEqual(floor);
        else expect(t!.run, 'the run ends at at, or when its last step began').toBe(Math.max(at, floor));
        if (pe.open) expect(t!.step, 'its open step ends with it').toBe(t!.run);
      },
    };
  },
};

export const SPECS: Spec[] = [
  getComponentParametersBulk, getMachineParameters, getParameters, getParameterEpochs, setParameterValue,
  recordProcessData, claimNextCommand, startProcess, advanceStep, completeProcess,
];

