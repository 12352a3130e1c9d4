// Calling the RPCs the two ways clients do, as a chosen identity, and fingerprinting the database
// so a refused call can be shown to have changed nothing.
import postgres from 'postgres';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { PostgrestEndpoint, anonKey, httpStatusFor, signJwt } from '../../support/postgrest-endpoint.ts';
import { RPC_CATALOG, type RpcName } from '../../src/sdk/transport/types.ts';
import { directText, hasNul, jsonText, jsonValue, type PgScalar, type PgType, type V } from './values.ts';

export const SEED = {
  reactor: '00000000-0000-4000-8000-000000000001',
  bench: '00000000-0000-4000-8000-000000000002',
  recipe: '00000000-0000-4000-8000-000000003001',
  viewer: '00000000-0000-4000-8000-000000000101',
  operator: '00000000-0000-4000-8000-000000000102',
  admin: '00000000-0000-4000-8000-000000000103',
  benchOperator: '00000000-0000-4000-8000-000000000201',
} as const;

export function databaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run `npm test -- --only vitest tests/fuzz`');
  return url;
}

/**
 * Who calls. `direct` is the controller's own PostgreSQL login (postgres, no JWT claims); the others
 * are what PostgREST sets for a JWT: role plus request.jwt.claims. `bench` operates Test Bench B
 * and the fuzz machine G, nothing else.
 */
export type Who = 'direct' | 'service' | 'viewer' | 'operator' | 'admin' | 'bench' | 'anon';
export const USER_OF: Partial<Record<Who, string>> = {
  viewer: SEED.viewer, operator: SEED.operator, admin: SEED.admin, bench: SEED.benchOperator,
};
export const isService = (who: Who) => who === 'direct' || who === 'service';

export function claimsOf(who: Who): Record<string, unknown> | undefined {
  if (who === 'direct') return undefined;
  if (who === 'service') return { role: 'service_role', iss: 'supabase-test' };
  if (who === 'anon') return { role: 'anon', iss: 'supabase-test' };
  return { role: 'authenticated', aud: 'authenticated', sub: USER_OF[who], iss: 'supabase-test' };
}

/** What private.change_role() records for the caller. */
export const changeRoleOf = (who: Who) => who === 'direct' ? 'postgres' : (claimsOf(who)!.role as string);

export interface ArgSpec { name: string; type: PgType }
export interface Signature { name: string; args: readonly ArgSpec[]; returns: 'setof' | 'row' | 'scalar' }

/** The fuzz values' name of each SQL type the catalog uses (pgName below goes back). */
const PG_TYPE_OF: Record<string, PgScalar> = {
  uuid: 'uuid', 'double precision': 'float8', integer: 'int4', bigint: 'int8', boolean: 'bool', text: 'text',
  jsonb: 'jsonb', timestamptz: 'timestamptz', 'public.change_source': 'change_source',
  'public.step_execution_status': 'step_execution_status', 'public.execution_status': 'execution_status',
  'public.command_type': 'command_type', 'public.command_status': 'command_status',
};

/** The signature of an RPC as RPC_CATALOG states it (compared with pg_proc by tests/contracts.test.ts). */
export function signatureOf(name: RpcName): Signature {
  const def = RPC_CATALOG[name];
  const args = Object.entries(def.args as Record<string, string>).map(([arg, sqlType]) => {
    const array = sqlType.endsWith('[]');
    const scalar = PG_TYPE_OF[array ? sqlType.slice(0, -2) : sqlType];
    if (!scalar) throw new Error(`${name}(${arg} ${sqlType}): the fuzz values know no SQL type ${sqlType}; add it to tests/fuzz/values.ts`);
    return { name: arg, type: (array ? `${scalar}[]` : scalar) as PgType };
  });
  return { name, args, returns: ({ set: 'setof', row: 'row', value: 'scalar' } as const)[def.returns] };
}

/** The outcome of one call, whichever transport made it. */
export type Outcome =
  | { ok: true; data: unknown }
  | { ok: false; code: string; message: string; status?: number; body?: unknown };

/** Arguments not mentioned are left out. */
const withOmitted = (sig: Signature, args: Record<string, V>): Record<string, V> =>
  Object.fromEntries(sig.args.map((a) => [a.name, args[a.name] ?? { k: 'omit' }]));

const qi = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Every serializer bypassed: the text we give is the text PostgreSQL's input function gets. */
const RAW_TEXT = { to: 25, from: [16, 114, 3802, 1082, 1114, 1184], serialize: (x: unknown) => String(x), parse: (x: string) => x };

export class Caller {
  readonly direct: postgres.Sql;
  readonly admin: postgres.Sql;
  private readonly clients = new Map<Who, SupabaseClient>();

  constructor(readonly endpoint: PostgrestEndpoint) {
    this.direct = postgres(databaseUrl(), { max: 1, onnotice: () => {}, types: { rawText: RAW_TEXT } as never });
    // No parallel workers: their start-up costs more than the small scans of the fingerprints.
    this.admin = postgres(databaseUrl(), { max: 1, onnotice: () => {}, connection: { max_parallel_workers_per_gather: 0 } as never });
  }

  static async start(): Promise<Caller> {
    const endpoint = new PostgrestEndpoint({ databaseUrl: databaseUrl() });
    await endpoint.start();
    return new Caller(endpoint);
  }

  async end(): Promise<void> {
    await Promise.all([this.direct.end({ timeout: 5 }), this.admin.end({ timeout: 5 }), this.endpoint.close()]);
  }

  /** postgres.js, one text parameter per argument given: `fn(name => $1::type, ...)`. */
  async callDirect(sig: Signature, who: Who, args: Record<string, V>): Promise<Outcome> {
    args = withOmitted(sig, args);
    const given = sig.args.filter((a) => args[a.name].k !== 'omit');
    const params = given.map((a) => directText(args[a.name]));
    const call = `public.${sig.name}(${given.map((a, i) => `${qi(a.name)} => $${i + 1}::${pgName(a.type)}`).join(', ')})`;
    const text = sig.returns === 'setof' ? `select coalesce(jsonb_agg(to_jsonb(r)), '[]')::text as r from ${call} r`
      : sig.returns === 'row' ? `select to_jsonb(r)::text as r from ${call} r`
      : `select to_jsonb(${call})::text as r`;
    const run = async (q: postgres.Sql | postgres.TransactionSql) => {
      const rows = await q.unsafe(text, params as never[]);
      return JSON.parse(rows[0].r as string) as unknown;
    };
    try {
      const claims = claimsOf(who);
      if (!claims) return { ok: true, data: await run(this.direct) };
      const data = await this.direct.begin(async (tx) => {
        // the role's statement_timeout, as PostgREST applies it (supabase/platform-bootstrap.sql)
        await tx.unsafe(`select set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
          set_config('statement_timeout', coalesce((select split_part(c, '=', 2) from pg_catalog.pg_db_role_setting d
            cross join lateral unnest(d.setconfig) c where d.setrole = (select oid from pg_catalog.pg_roles where rolname = $1)
              and d.setdatabase = 0 and c like 'statement\\_timeout=%'), current_setting('statement_timeout')), true)`,
          [claims.role as string, JSON.stringify(claims)]);
        return run(tx);
      });
      return { ok: true, data };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (typeof err.code !== 'string' || !/^[0-9A-Z]{5}$/.test(err.code)) throw e;
      return { ok: false, code: err.code, message: err.message ?? '' };
    }
  }

  private client(who: Who): SupabaseClient {
    let c = this.clients.get(who);
    if (!c) {
      const claims = claimsOf(who);
      const key = who === 'anon' ? anonKey() : signJwt({ ...claims, exp: Math.floor(Date.now() / 1000) + 24 * 3600 });
      c = createClient(this.endpoint.url, key, {
        auth: { persistSession: false, autoRefreshToken: false },
        realtime: { transport: NoRealtime as never },
      });
      this.clients.set(who, c);
    }
    return c;
  }

  /** The PostgREST way: supabase-js `rpc` with a JSON body, or a hand-made body for raw number literals. */
  async callJson(sig: Signature, who: Who, args: Record<string, V>): Promise<Outcome & { status: number }> {
    if (who === 'direct') throw new Error('direct is not a JSON caller');
    args = withOmitted(sig, args);
    const given = sig.args.filter((a) => args[a.name].k !== 'omit');
    const values = given.map((a) => jsonValue(args[a.name]));
    if (values.every((v) => v !== undefined)) {
      const body = Object.fromEntries(given.map((a, i) => [a.name, values[i]!.value]));
      const { data, error, status } = await this.client(who).rpc(sig.name, body);
      if (error) return { ok: false, code: error.code, message: error.message, status, body: error };
      return { ok: true, data, status };
    }
    const text = `{${given.map((a) => `${JSON.stringify(a.name)}:${jsonText(args[a.name])}`).join(',')}}`;
    const claims = claimsOf(who);
    const key = who === 'anon' ? anonKey() : signJwt({ ...claims });
    const res = await fetch(`${this.endpoint.url}/rest/v1/rpc/${sig.name}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', apikey: key, Authorization: `Bearer ${key}` },
      body: text,
    });
    const body = res.status === 204 ? null : await res.json();
    if (res.status >= 300) return { ok: false, code: String(body?.code), message: String(body?.message), status: res.status, body };
    return { ok: true, data: body, status: res.status };
  }
}

// Node 20 has no global WebSocket and supabase-js wants a realtime transport at construction.
class NoRealtime {
  constructor() {
    throw new Error('realtime is not used by the fuzz tests');
  }
}

function pgName(type: PgType): string {
  const base = type.replace('[]', '');
  const name = ['change_source', 'step_execution_status', 'execution_status', 'command_type', 'command_status'].includes(base) ? `public.${base}`
    : base === 'float8' ? 'double precision' : base === 'int4' ? 'integer' : base === 'int8' ? 'bigint'
    : base === 'bool' ? 'boolean' : base;
  return type.endsWith('[]') ? `${name}[]` : name;
}

/**
 * The body PostgreSQL receives from the PostgREST stand-in: it parses the request (JSON.parse) and
 * sends JSON.stringify of the result, so number literals JavaScript cannot hold are normalised on
 * the way (1e400 → null, -0 → 0, 1e-400 → 0, 2^70 → 1.18e+21). Real PostgREST forwards the raw body.
 */
export function throughStandIn(v: V): V {
  if (v.k === 'raw') return { k: 'num', n: JSON.parse(v.text) as number };
  if (v.k === 'arr') return { k: 'arr', items: v.items.map(throughStandIn) };
  return v;
}

/**
 * The RPCs raise these codes through private.raise_error, which asks PostgREST for its own status
 * (PGRST raise). 22003 keeps PostgREST's 400 when PostgreSQL itself raised it (an integer out of
 * range while reading the arguments): only the RPC's "value out of range" asks for 422.
 */
const RPC_STATUS: Record<string, number> = { P0002: 404, '55000': 409, '40001': 409 };

/** HTTP status of an RPC's error through PostgREST (the stand-in's table, from PostgREST's docs). */
export const statusFor = (code: string, who: Who, message = '') =>
  RPC_STATUS[code] ?? (code === '22003' && message === 'value out of range' ? 422 : httpStatusFor(code, who !== 'anon'));

/** True when some argument carries a NUL in a string (json path: \u0000 once JSON-encoded). */
export const anyNul = (sig: Signature, args: Record<string, V>) =>
  sig.args.some((a) => args[a.name].k !== 'omit' && hasNul(args[a.name], 'json'));

// ---- fingerprints ---------------------------------------------------------------------------------

/** The tables the oracle specs (rpc-specs.ts) name in what a success may change. */
export const TABLES = [
  'machines', 'machine_operators', 'machine_components', 'component_parameters', 'machine_parameter_epochs',
  'recipes', 'recipe_steps', 'valve_step_configs', 'purge_step_configs', 'parameter_step_configs',
  'loop_step_configs', 'recipe_commands', 'process_executions', 'process_execution_state', 'step_executions',
  'parameter_changes', 'reading_layouts', 'latest_readings', 'readings',
] as const;
/**
 * Every table of the public schema (rpc-hostile.test.ts compares the list with pg_class): TABLES
 * and the ones the setpoint queue, run control and chart rollups added.
 */
export const ALL_TABLES = [...TABLES, 'setpoint_requests', 'controllers', 'reading_rollups'] as const;
export type Table = (typeof ALL_TABLES)[number];
export type Fingerprint = Partial<Record<Table, string>>;

/**
 * Per table `count:hash`. Every table but readings: md5 of all its rows as text, in text order
 * (logical: a rewrite of a row with equal values is no change). readings, the one big table, only
 * ever gains or loses rows: the newest xmin (any committed insert, update or delete moves it or the
 * count) is as exact and does not read every row as text.
 */
const fingerprintSql = (tables: readonly Table[]) => tables.map((t) => t === 'readings'
  ? `select '${t}' as t, count(*) || ':' || coalesce(max(x.xmin::text::bigint), 0) as h from public.${t} x`
  : `select '${t}' as t, count(*) || ':' || md5(coalesce(string_agg(x::text, ',' order by x::text), '')) as h from public.${t} x`)
  .join('\nunion all ');
const FINGERPRINT_SQL = new Map<readonly Table[], string>();

/** The fingerprint of the given public tables (default: TABLES), in one round trip. */
export async function fingerprint(sql: postgres.Sql, tables: readonly Table[] = TABLES): Promise<Fingerprint> {
  let text = FINGERPRINT_SQL.get(tables);
  if (!text) FINGERPRINT_SQL.set(tables, text = fingerprintSql(tables));
  const rows = await sql.unsafe<{ t: Table; h: string }[]>(text);
  return Object.fromEntries(rows.map((r) => [r.t, r.h])) as Fingerprint;
}

/** Tables whose fingerprint differs. */
export function changedTables(before: Fingerprint, after: Fingerprint): Table[] {
  return ALL_TABLES.filter((t) => before[t] !== after[t]);
}

export const rowCount = (f: Fingerprint, t: Table) => Number(f[t]!.split(':')[0]);
