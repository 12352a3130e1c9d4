/**
 * Hostile input against every RPC of RPC_CATALOG that has no oracle spec in rpc-specs.ts (a new RPC
 * is covered here automatically; a test checks that the specs and this property together cover the
 * whole catalog). The two transports of rpc-fuzz.test.ts (postgres.js text parameters, a PostgREST
 * JSON body through the stand-in), callers of every kind, fixed seeds.
 *
 * The arguments come from the catalog's types (values.ts / arbitraries.ts: valid values, wrong kinds,
 * nulls, omitted optional arguments, huge and edge numbers, infinite and malformed timestamps,
 * malformed arrays, NUL, junk jsonb), mixed into plausible calls that name the fixture's machines,
 * parameters, runs, commands, setpoint requests and controllers, so the checks behind the first ones
 * run too (and some calls succeed).
 *
 * No exact oracle; the invariants are the project's rule "every bad input gets a clear error with a
 * stable code, and changes nothing":
 *  1. never an internal error: the SQLSTATE is one the function documents ("Errors: ..." of its
 *     comment), an input-function code (22P02, 22003, 22007, 22008, 22021, 22P05), 42501 (a caller
 *     without the right) or 57014 (the role's statement timeout); so never XX000, 42883, 42P01,
 *     42703 ...; through PostgREST, the HTTP status is the one PostgREST maps that code to;
 *  2. where values.ts can tell the code an argument gets before the function runs (its input
 *     function, NUL, anon), exactly that code;
 *  3. a refused call changes nothing: the fingerprint of every public table is equal before and after.
 * Run: npm test -- --only vitest tests/fuzz
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RPC_CATALOG, type RpcName } from '../../src/sdk/transport/types.ts';
import {
  ALL_TABLES, Caller, changedTables, fingerprint, signatureOf, statusFor, throughStandIn, type ArgSpec, type Signature, type Who,
} from './harness.ts';
import { createFixture, dropFixture, type Fixture } from './fixture.ts';
import { addCommand, endedProcess, one, type CommandKind } from './state.ts';
import { SPECS } from './rpc-specs.ts';
import { preflight, type Transport } from './run.ts';
import {
  arr, bool, boolV, enumV, floatV, intV, jsonbV, lit, nul, num, obj, omit, str, textV, uuidArrayV, uuidV, wrongKind,
} from './arbitraries.ts';
import { ENUMS, TIMESTAMP_TEXTS, type PgType, type V } from './values.ts';

const BASE_SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const SCALE = Number(process.env.FUZZ_RUNS_SCALE ?? 1);
const RUNS = 30;

/** The RPCs this property covers: the catalog minus those with an oracle spec. */
const SPEC_NAMES = new Set(SPECS.map((s) => s.sig.name));
const HOSTILE = (Object.keys(RPC_CATALOG) as RpcName[]).filter((n) => !SPEC_NAMES.has(n));

/** Codes any function may answer: PostgreSQL's input functions, the privilege check, the statement timeout. */
const ALWAYS = ['22P02', '22003', '22007', '22008', '22021', '22P05', '42501', '57014'];
/**
 * And where a timestamptz is read: 22009, timestamptz_in's "time zone displacement out of range"
 * for a trailing number it takes for a UTC offset ('-2500', '{"":-1560}'); values.ts does not model it.
 */
const TIMESTAMP_CODES = ['22009'];

const WHO: Record<Transport, fc.Arbitrary<Who>> = {
  direct: fc.constantFrom<Who>('direct', 'direct', 'direct', 'direct', 'service', 'operator', 'operator', 'operator', 'admin', 'viewer', 'bench', 'anon'),
  json: fc.constantFrom<Who>('service', 'service', 'service', 'operator', 'operator', 'operator', 'operator', 'admin', 'viewer', 'bench', 'anon'),
};

let caller: Caller;
let fx: Fixture;
/** name → documented SQLSTATEs; name → argument names that have a default. */
const documented = new Map<string, Set<string>>();
const optional = new Map<string, Set<string>>();
const comments = new Map<string, string>();
/** Outcomes per RPC and transport, printed at the end. */
const outcomes = new Map<string, Map<string, number>>();

const NUMERIC_CLASSES = ['00', '01', '02', '03', '08', '09', '20', '21', '22', '23', '24', '25', '26', '27', '28', '34', '38', '39',
  '40', '42', '44', '53', '54', '55', '57', '58', '72'];

/** The SQLSTATEs listed after "Errors:" (or "Errors raised for ...:") in a function comment ("every f code" adds f's). */
function parseErrors(comment: string, all: Map<string, string>, seen = new Set<string>()): Set<string> {
  const m = /Errors[^:.]*:([\s\S]*)$/.exec(comment);
  // five characters with a digit; a number (10000 ids) is no SQLSTATE unless its class is one of PostgreSQL's
  const codes = new Set<string>((m?.[1].match(/\b(?=[0-9A-Z]*[0-9])[0-9A-Z]{5}\b/g) ?? [])
    .filter((c) => !/^\d+$/.test(c) || NUMERIC_CLASSES.includes(c.slice(0, 2))));
  for (const [, f] of m?.[1].matchAll(/every (\w+) code/g) ?? []) {
    if (seen.has(f) || !all.has(f)) continue;
    seen.add(f);
    for (const c of parseErrors(all.get(f)!, all, seen)) codes.add(c);
  }
  return codes;
}

beforeAll(async () => {
  caller = await Caller.start();
  await caller.admin`vacuum public.readings`;
  const rows = await caller.admin<{ name: string; comment: string | null; argnames: string[]; nargs: number; ndefaults: number }[]>`
    select p.proname as name, d.description as comment, coalesce(p.proargnames, '{}') as argnames,
           p.pronargs::int as nargs, p.pronargdefaults::int as ndefaults
    from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    left join pg_catalog.pg_description d on d.objoid = p.oid and d.classoid = 'pg_catalog.pg_proc'::regclass and d.objsubid = 0
    where n.nspname = 'public' and p.proname = any(${Object.keys(RPC_CATALOG)})`;
  for (const r of rows) comments.set(r.name, r.comment ?? '');
  for (const r of rows) {
    documented.set(r.name, parseErrors(r.comment ?? '', comments));
    optional.set(r.name, new Set(r.argnames.slice(0, r.nargs).slice(r.nargs - r.ndefaults)));
  }
  fx = await createFixture(caller.admin);
  await endedProcess(caller.admin, fx, fx.F);
  await endedProcess(caller.admin, fx, fx.G);
});

afterAll(async () => {
  for (const [key, m] of [...outcomes].sort()) {
    console.log(`${key.padEnd(40)} ${[...m].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}×${n}`).join(' ')}`);
  }
  if (fx) for (const m of fx.machines) await resetMachine(m);
  await dropFixture(caller.admin, fx);
  await caller?.end();
});

// ---- the fixture's state, arranged on demand ------------------------------------------------------

/** Ends the machine's open run (running or paused) and frees it (idle), its controllers and pending commands too. */
async function resetMachine(machine: string): Promise<void> {
  const sql = caller.admin;
  const [run] = await sql`select id from public.process_executions where machine_id = ${machine} and status in ('running', 'paused')`;
  if (run) await sql`select public.complete_process(${run.id}::uuid, 'aborted', 'fuzz: make room')`;
  await sql`update public.recipe_commands set status = 'cancelled', completed_at = now()
            where machine_id = ${machine} and status = 'pending'`;
  await sql`update public.machines set status = 'idle' where id = ${machine} and status not in ('idle', 'maintenance')`;
}

/** A running (not paused) process of the machine's main recipe. */
async function runningOn(machine: string): Promise<string> {
  const sql = caller.admin;
  const [run] = await sql`select id, status from public.process_executions where machine_id = ${machine} and status in ('running', 'paused')`;
  if (run?.status === 'running') return run.id as string;
  await resetMachine(machine);
  const recipe = machine === fx.F ? fx.recipes.fMain : fx.recipes.g;
  const [row] = await sql`select public.start_process(${machine}::uuid, ${recipe}::uuid) ->> 'process_id' as id`;
  return row.id as string;
}

/** A paused run of F (pause_recipe issued and applied by the controller). */
async function pausedOnF(): Promise<string> {
  const sql = caller.admin;
  const [run] = await sql`select id from public.process_executions where machine_id = ${fx.F} and status = 'paused'`;
  if (run) return run.id as string;
  const pid = await runningOn(fx.F);
  const cmd = await addCommand(sql, fx.F, 'pause_recipe', null);
  await sql`update public.recipe_commands set process_id = ${pid} where id = ${cmd}`;
  await sql`select public.apply_run_command(${cmd}::uuid)`;
  return pid;
}

/** The machine's live controller, registered if it has none. */
async function controllerOf(machine: string): Promise<string> {
  const sql = caller.admin;
  const [c] = await sql`select id from public.controllers where machine_id = ${machine} and status = 'alive'`;
  if (c) return c.id as string;
  const [r] = await sql`select id from public.register_controller(${machine}::uuid, 'fuzz-host', 'fuzz', true)`;
  return r.id as string;
}

/** A controller of F that is no longer alive (replaced). */
async function deadControllerOfF(): Promise<string> {
  const sql = caller.admin;
  const [c] = await sql`select id from public.controllers where machine_id = ${fx.F} and status <> 'alive' limit 1`;
  if (c) return c.id as string;
  const old = await controllerOf(fx.F);
  await sql`select id from public.register_controller(${fx.F}::uuid, 'fuzz-host', 'fuzz', true)`;
  return old;
}

/** Claimed setpoint requests of F, at least n of them (F's writable float parameters get a new setpoint, then claimed). */
async function claimedRequestsOfF(n: number): Promise<string[]> {
  const sql = caller.admin;
  const have = async () => (await sql`select id from public.setpoint_requests where machine_id = ${fx.F} and status = 'claimed'
    order by created_at, id`).map((r) => r.id as string);
  let ids = await have();
  if (ids.length >= n) return ids;
  const params = await sql`select id, min_value, max_value from public.component_parameters p
    where machine_id = ${fx.F} and is_writable and is_active and data_type = 'float' and min_value is not null and max_value > min_value
      and exists (select 1 from public.machine_components c where c.id = p.component_id and c.is_activated)
      and not exists (select 1 from public.setpoint_requests r where r.parameter_id = p.id and r.status in ('pending', 'claimed'))
    order by name, id limit ${n + 2}`;
  for (const p of params) {
    const v = Number(p.min_value) + (Number(p.max_value) - Number(p.min_value)) * Math.random();
    await sql`select public.set_parameter_value(${p.id}::uuid, ${v}::float8)`;
  }
  await sql`select count(*) from public.claim_setpoint_requests(${fx.F}::uuid, 'fuzz')`;
  ids = await have();
  return ids;
}

/** A pending command of the machine, made for the call. */
async function commandOf(machine: string, kind: CommandKind): Promise<string> {
  const recipe = kind === 'start_recipe' ? (machine === fx.F ? fx.recipes.fMain : fx.recipes.g) : null;
  const id = await addCommand(caller.admin, machine, kind, recipe);
  if (kind !== 'start_recipe' && kind !== 'set_parameter') {
    const [run] = await caller.admin`select id from public.process_executions where machine_id = ${machine} and status in ('running', 'paused')`;
    if (run) await caller.admin`update public.recipe_commands set process_id = ${run.id} where id = ${id}`;
  }
  return id;
}

/** Values of the form @@name inside generated strings, resolved against the database just before the call. */
async function resolveToken(token: string, cache: Map<string, string>): Promise<string> {
  const hit = cache.get(token);
  if (hit) return hit;
  const [name, ...rest] = token.slice(2).split(':');
  const arg = rest.join(':');
  let v: string;
  switch (name) {
    case 'F.run': v = await runningOn(fx.F); break;
    case 'G.run': v = await runningOn(fx.G); break;
    case 'F.paused': v = await pausedOnF(); break;
    case 'F.ended': v = await endedProcess(caller.admin, fx, fx.F); break;
    case 'cmd': v = await commandOf(arg.startsWith('G') ? fx.G : fx.F, arg.slice(2) as CommandKind); break;
    case 'ctl': v = arg === 'F' ? await controllerOf(fx.F) : arg === 'G' ? await controllerOf(fx.G) : await deadControllerOfF(); break;
    case 'req': v = (await claimedRequestsOfF(Number(arg) + 1))[Number(arg)] ?? randomUUID(); break;
    case 'at': v = new Date(Date.now() + Number(arg)).toISOString(); break;
    default: throw new Error(`unknown token ${token}`);
  }
  cache.set(token, v);
  return v;
}

const TOKEN = /@@[A-Za-z.]+(?::[A-Za-z0-9_:-]+)?/g;
async function substitute(s: string, cache: Map<string, string>): Promise<string> {
  let out = s;
  for (const t of new Set(s.match(TOKEN) ?? [])) out = out.split(t).join(await resolveToken(t, cache));
  return out;
}
async function resolveDeep(x: unknown, cache: Map<string, string>): Promise<unknown> {
  if (typeof x === 'string') return substitute(x, cache);
  if (Array.isArray(x)) {
    const out: unknown[] = [];
    for (const y of x) out.push(await resolveDeep(y, cache)); // one at a time: a token named twice is arranged once
    return out;
  }
  if (x && typeof x === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, y] of Object.entries(x)) o[k] = await resolveDeep(y, cache);
    return o;
  }
  return x;
}
async function resolveV(v: V, cache: Map<string, string>): Promise<V> {
  switch (v.k) {
    case 'str': return str(await substitute(v.s, cache));
    case 'arr': {
      const items: V[] = [];
      for (const x of v.items) items.push(await resolveV(x, cache));
      return arr(items);
    }
    case 'lit': return { k: 'lit', arr: await resolveV(v.arr, cache) };
    case 'obj': return obj((await resolveDeep(v.o, cache)) as Record<string, unknown>);
    default: return v;
  }
}

// ---- arguments, from the catalog's types ----------------------------------------------------------

/** Fixed at load: tick times in the hour before it (inside the accepted window), a few outside. */
const BASE = Date.now() - (Date.now() % 60_000);
const recentTs = fc.integer({ min: -120, max: 0 }).map((k) => new Date(BASE + k * 30_000).toISOString());
const tsHostile: fc.Arbitrary<V> = fc.oneof(
  fc.constantFrom(...Object.keys(TIMESTAMP_TEXTS)).map(str),
  fc.constantFrom(BASE - 40 * 86_400_000, BASE + 3_600_000).map((t) => str(new Date(t).toISOString())),
  fc.constant(nul), wrongKind,
);
const tsElem = fc.oneof({ weight: 6, arbitrary: recentTs.map(str) }, { weight: 1, arbitrary: tsHostile });

/** An array slot: elements of the type (hostile ones among them), 2-D, a literal, NULL, or no array at all. */
function arrayV(elem: fc.Arbitrary<V>): fc.Arbitrary<V> {
  const el = elem.filter((v) => v.k !== 'arr');
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(el, { maxLength: 6 }).map(arr) },
    { weight: 1, arbitrary: fc.array(el, { minLength: 1, maxLength: 3 }).map((items) => lit(items)) },
    { weight: 1, arbitrary: fc.array(el, { minLength: 2, maxLength: 2 }).map((row) => arr([arr(row), arr(row)])) },
    { weight: 1, arbitrary: fc.array(el, { minLength: 1, maxLength: 2 }).map((row) => arr([arr(row), ...row])) },
    { weight: 1, arbitrary: fc.constant(nul) },
    { weight: 1, arbitrary: wrongKind },
  );
}

function hostileOf(a: ArgSpec): fc.Arbitrary<V> {
  const pool = [fx.F, fx.G, fx.M, ...fx.fParams.slice(0, 3), ...fx.gParams];
  const t: PgType = a.type;
  switch (t) {
    case 'uuid': return uuidV(pool);
    case 'uuid[]': return uuidArrayV([...fx.fParams, ...fx.gParams]);
    case 'float8': return floatV;
    case 'float8[]': return arrayV(floatV);
    case 'int4': return intV(fc.integer({ min: -5, max: 5000 }));
    case 'int8': return intV(fc.integer({ min: -5, max: 5000 }));
    case 'bool': return boolV;
    case 'bool[]': return arrayV(boolV);
    case 'text': return textV;
    case 'text[]': return arrayV(textV);
    case 'timestamptz': return tsHostile;
    case 'timestamptz[]': return arrayV(tsElem);
    case 'jsonb': return a.name === 'calls' ? fc.oneof(jsonbV, journalCalls(true)) : jsonbV;
    default: return enumV(ENUMS[t]);
  }
}

/** Plausible values by argument name and type; n is the length of the call's parallel arrays. */
function validOf(rpc: string, a: ArgSpec, n: number): fc.Arbitrary<V> {
  const machines = fc.constantFrom(fx.F, fx.F, fx.F, fx.G, fx.M).map(str);
  const params = fc.shuffledSubarray(fx.fParams, { minLength: n, maxLength: n }).map((ids) => arr(ids.map(str)));
  const floats = fc.array(fc.double({ min: 0, max: 100, noNaN: true }).map(num), { minLength: n, maxLength: n }).map(arr);
  const text = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constantFrom('fuzz', 'controller-1')).map(str);
  switch (a.name) {
    case 'machine_id': return machines;
    case 'process_id': return fc.constantFrom('@@F.run', '@@F.run', '@@F.paused', '@@F.ended', '@@G.run').map(str);
    case 'command_id':
      return fc.constantFrom('F:stop_recipe', 'F:pause_recipe', 'F:resume_recipe', 'F:start_recipe', 'F:set_parameter', 'G:stop_recipe')
        .map((c) => str(`@@cmd:${c}`));
    case 'controller_id': return fc.constantFrom('@@ctl:F', '@@ctl:F', '@@ctl:G', '@@ctl:dead').map(str);
    case 'request_id': return fc.uuid().map(str);
    case 'parameter_ids': return params;
    case 'request_ids': return fc.constant(arr(Array.from({ length: n }, (_, i) => str(`@@req:${i}`))));
    case 'values': case 'set_points': case 'applied_values': return floats;
    case 'ok': return fc.array(fc.boolean().map(bool), { minLength: n, maxLength: n }).map(arr);
    case 'errors': return fc.array(fc.oneof(text, fc.constant(nul)), { minLength: n, maxLength: n }).map(arr);
    case 'timestamps':
      return rpc === 'apply_journal' ? recentTs.map((t) => arr(Array.from({ length: n }, () => str(t)))) : recentTs.map((t) => arr([str(t)]));
    case 'from_ts': return fc.constant(str(new Date(BASE - 3_600_000).toISOString()));
    case 'to_ts': return fc.constant(str(new Date(BASE + 60_000).toISOString()));
    case 'at': return fc.constantFrom(-600_000, -60_000, 0).map((ms) => str(`@@at:${ms}`));
    case 'calls': return journalCalls(false);
  }
  switch (a.type) {
    case 'int4': case 'int8':
      return a.name === 'timeout_ms' ? fc.integer({ min: 1000, max: 60_000 }).map(num) : fc.integer({ min: 1, max: 500 }).map(num);
    case 'bool': return fc.boolean().map(bool);
    case 'text': return text;
    case 'float8': return fc.double({ min: 0, max: 100, noNaN: true }).map(num);
    case 'uuid': return fc.uuid().map(str);
    case 'timestamptz': return recentTs.map(str);
    case 'jsonb': return fc.constant(obj({}));
    default: return ENUMS[a.type] ? fc.constantFrom(...ENUMS[a.type]).map(str) : hostileOf(a);
  }
}

/** A journal (apply_journal's calls): plausible {kind, args} calls, or with hostile kinds and args (hostile = true). */
function journalCalls(hostile: boolean): fc.Arbitrary<V> {
  const step = fx.steps[fx.recipes.fMain];
  const call = fc.oneof(
    fc.record({ kind: fc.constant('complete_process'), args: fc.record({ process_id: fc.constantFrom('@@F.ended', '@@G.run'), status: fc.constantFrom('completed', 'aborted') }) }),
    fc.record({ kind: fc.constant('advance_step'), args: fc.record({ process_id: fc.constant('@@F.run'), step_id: fc.constantFrom(...step.slice(0, 3)), step_index: fc.integer({ min: 1, max: 3 }), at: fc.constant('@@at:-1000') }) }),
    fc.record({ kind: fc.constant('apply_run_command'), args: fc.record({ command_id: fc.constantFrom('@@cmd:F:pause_recipe', '@@cmd:F:resume_recipe') }) }),
    fc.record({ kind: fc.constant('ack_setpoint_requests'), args: fc.record({ machine_id: fc.constant(fx.F), request_ids: fc.constant(['@@req:0']), ok: fc.constant([true]) }) }),
    fc.record({ kind: fc.constant('record_process_data'), args: fc.record({ process_id: fc.constant('@@F.run'), from: fc.constant(1), to: fc.integer({ min: 0, max: 3 }) }) }),
    fc.record({ kind: fc.constant('record_readings'), args: fc.record({ machine_id: fc.constant(fx.F), from: fc.constant(1), to: fc.integer({ min: 1, max: 3 }),
      ids: fc.constant(fx.fParams.slice(0, 1)), ts: recentTs.map((t) => [t]) }) }),
  );
  if (!hostile) return fc.array(call, { maxLength: 3 }).map((calls) => obj(calls as never));
  const junk = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.constant(null), fc.constantFrom("'; drop table machines; --", 'NaN', '1e400', '{}', '\u0000'),
    fc.array(fc.integer(), { maxLength: 2 }), fc.constant({ a: 1 }));
  const spoiled = call.chain((c) => fc.oneof(
    fc.constant<unknown>({ ...c, kind: 'drop_table' }),
    fc.constant<unknown>({ kind: c.kind }),
    fc.constant<unknown>({ kind: c.kind, args: [c.args] }),
    fc.tuple(fc.constantFrom(...Object.keys(c.args)), junk).map(([k, j]) => ({ kind: c.kind, args: { ...c.args, [k]: j } })),
    junk,
  ));
  return fc.array(fc.oneof(call, spoiled), { minLength: 1, maxLength: 4 }).map((calls) => obj(calls as never));
}

/**
 * A call: plausible arguments (parallel arrays of one length n) with 0, 1 or 2 of them swapped for
 * hostile ones, and optional arguments sometimes left out.
 */
function argsOf(sig: Signature): fc.Arbitrary<Record<string, V>> {
  const opt = optional.get(sig.name)!;
  const names = sig.args.map((a) => a.name);
  const base = fc.integer({ min: 0, max: 4 }).chain((n) => fc.record(Object.fromEntries(sig.args.map((a) => [a.name,
    opt.has(a.name) ? fc.oneof({ weight: 1, arbitrary: fc.constant(omit) }, { weight: 2, arbitrary: validOf(sig.name, a, n) }) : validOf(sig.name, a, n)]))));
  const bad = fc.record(Object.fromEntries(sig.args.map((a) => [a.name, hostileOf(a)])));
  const pick = fc.oneof({ weight: 2, arbitrary: fc.constant<string[]>([]) },
    { weight: 3, arbitrary: fc.constantFrom(...names).map((x) => [x]) },
    { weight: names.length > 1 ? 1 : 0, arbitrary: fc.uniqueArray(fc.constantFrom(...names), { minLength: Math.min(2, names.length), maxLength: 2 }) });
  return fc.record({ base, bad, pick }).map(({ base: b, bad: h, pick: p }) =>
    Object.fromEntries(names.map((x) => [x, p.includes(x) ? h[x] : b[x]])) as Record<string, V>);
}

// ---- one run ---------------------------------------------------------------------------------------

const show = (args: Record<string, V>) => JSON.stringify(args, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))
  .slice(0, 2000);

async function runOnce(sig: Signature, transport: Transport, who: Who, generated: Record<string, V>): Promise<void> {
  const cache = new Map<string, string>();
  const args: Record<string, V> = {};
  for (const [k, v] of Object.entries(generated)) args[k] = await resolveV(v, cache);
  const received = transport === 'json' ? Object.fromEntries(Object.entries(args).map(([k, v]) => [k, v.k === 'omit' ? v : throughStandIn(v)])) : args;
  const given = Object.fromEntries(Object.entries(received).filter(([, v]) => v.k !== 'omit'));
  const pre = preflight(sig, { ...Object.fromEntries(sig.args.map((a) => [a.name, omit])), ...given }, who, transport);

  const before = await fingerprint(caller.admin, ALL_TABLES);
  const out = transport === 'direct' ? await caller.callDirect(sig, who, args) : await caller.callJson(sig, who, args);
  const after = await fingerprint(caller.admin, ALL_TABLES);
  const changed = changedTables(before, after);
  const key = `${sig.name}/${transport}`;
  const m = outcomes.get(key) ?? new Map<string, number>();
  const label = out.ok ? (changed.length ? 'ok+write' : 'ok') : out.code;
  m.set(label, (m.get(label) ?? 0) + 1);
  outcomes.set(key, m);

  const status = 'status' in out ? out.status : undefined;
  const where = `${sig.name} via ${transport} as ${who}, args ${show(args)}\n→ ${out.ok ? `success ${JSON.stringify(out.data)?.slice(0, 300)}`
    : `${out.code} (${status ?? 'sql'}): ${out.message}`}`;
  if (pre !== 'ambiguous' && 'code' in pre) {
    expect(out.ok ? 'success' : out.code, `${where}\nexpected ${pre.code} from the arguments alone`).toBe(pre.code);
  }
  if (out.ok) {
    if (transport === 'json') expect(status, where).toBe(200);
    if (sig.name === 'apply_journal') journalOutcomes(args.calls, out.data, where);
    return;
  }
  const allowed = new Set([...documented.get(sig.name)!, ...ALWAYS, ...(sig.args.some((x) => x.type.startsWith('timestamptz')) ? TIMESTAMP_CODES : [])]);
  expect(allowed.has(out.code), `${where}\nundocumented code ${out.code} (documented: ${[...allowed].join(' ')})`).toBe(true);
  if (transport === 'json') expect(status, `${where}\nHTTP status of ${out.code}`).toBe(statusFor(out.code, who, out.message));
  expect(changed, `${where}\na refused call changed these tables`).toEqual([]);
}

/**
 * apply_journal answers a call it could not apply with {ok: false, code}: the code must be one the
 * called RPC documents (or apply_journal's own 22023 for a malformed call, or an input-function
 * code of its casts), never an internal error.
 */
function journalOutcomes(calls: V, data: unknown, where: string): void {
  const list = calls.k === 'obj' && Array.isArray(calls.o) ? (calls.o as unknown[]) : [];
  expect(Array.isArray(data), `${where}\napply_journal replies with an array of outcomes`).toBe(true);
  (data as { ok: boolean; code?: string }[]).forEach((o, i) => {
    if (o.ok) return;
    const kind = (list[i] as { kind?: unknown } | null)?.kind;
    const own = typeof kind === 'string' && documented.has(kind) ? documented.get(kind)! : [];
    const allowed = new Set([...own, ...documented.get('apply_journal')!, ...ALWAYS, ...TIMESTAMP_CODES]);
    expect(allowed.has(o.code!), `${where}\ncall ${i + 1} (${String(kind)}) answered the undocumented ${o.code}`).toBe(true);
  });
}

const seedOf = (name: string, transport: Transport) =>
  BASE_SEED + [...`${name}/${transport}`].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 11);

// ---- the tests -------------------------------------------------------------------------------------

describe('hostile input against the RPCs without an oracle spec', () => {
  it('covers the whole catalog: the oracle specs and this property together, each RPC once', () => {
    expect([...SPEC_NAMES, ...HOSTILE].sort()).toEqual(Object.keys(RPC_CATALOG).sort());
    expect(HOSTILE.filter((n) => SPEC_NAMES.has(n))).toEqual([]);
    expect(HOSTILE.length).toBeGreaterThan(0);
  });

  it('every RPC of the catalog documents its error codes ("Errors: ..." in its comment)', () => {
    const missing = Object.keys(RPC_CATALOG).filter((n) => !comments.has(n) || documented.get(n)!.size === 0);
    expect(missing, 'RPCs whose comment lists no "Errors: <SQLSTATE>, ..."').toEqual([]);
  });

  it('fingerprints every table of the public schema', async () => {
    const rows = await caller.admin`select c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition order by 1`;
    expect(rows.map((r) => r.relname).sort()).toEqual([...ALL_TABLES].sort());
  });

  describe.each(HOSTILE.map((n) => [n] as const))('%s', (name) => {
    for (const transport of ['direct', 'json'] as const) {
      const how = transport === 'direct' ? 'postgres.js text parameters' : 'a PostgREST JSON body';
      it(`answers every call through ${how} with a documented code, and changes nothing when it refuses`, async () => {
        const sig = signatureOf(name);
        const seed = seedOf(name, transport);
        await fc.assert(fc.asyncProperty(WHO[transport], argsOf(sig), (who, args) => runOnce(sig, transport, who, args)), {
          seed, numRuns: Math.max(1, Math.round(RUNS * SCALE)),
          reporter: (details) => {
            if (!details.failed) return;
            const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
            throw new Error(`${name} via ${transport} failed (seed ${seed}):\n${fc.defaultReportMessage(details)}\n${cause}`);
          },
        });
      }, 120_000);
    }
  });
});

describe('apply_journal through PostgREST', () => {
  // found by the property: private.raise_error's PGRST form (P0002, 55000, 40001, 22003 inside a PostgREST
  // request) reached the journal's outcomes as code "PGRST" with the SQLSTATE buried in a JSON message
  it('answers a call refused with 55000 by its SQLSTATE, as it does for a direct caller', async () => {
    const ended = await endedProcess(caller.admin, fx, fx.F);
    const [{ status }] = await caller.admin`select status::text from public.process_executions where id = ${ended}`;
    const other = status === 'failed' ? 'aborted' : 'failed';
    const calls = obj([{ kind: 'complete_process', args: { process_id: ended, status: other } }] as never);
    const sig = signatureOf('apply_journal');
    const before = await fingerprint(caller.admin, ALL_TABLES);
    for (const out of [await caller.callJson(sig, 'service', { calls }), await caller.callDirect(sig, 'direct', { calls })]) {
      expect(out.ok).toBe(true);
      const [o] = (out as { data: { ok: boolean; code: string; message: string; detail: string }[] }).data;
      expect(o).toMatchObject({ ok: false, code: '55000', message: 'process has already ended' });
      expect(o.detail).toMatch(/^process .* ended as /);
    }
    expect(changedTables(before, await fingerprint(caller.admin, ALL_TABLES))).toEqual([]);
  });
});
