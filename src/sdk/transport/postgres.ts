// The direct transport: a postgres.js pool talking to PostgreSQL (or Supavisor) itself.
//
// Pool: postgres.js opens connections on demand up to `max` (default 20) and closes them after
// `idle_timeout` (default 60 s); it has no minimum. A controller typically keeps about 5 busy
// (steps, recorder, cache refreshes), so expect 5–20 connections, plus one session connection
// for LISTEN (src/listener.ts).
//
// Every call is one statement (`select … from public.<rpc>(name => $1, …)`), so one round trip.
// The result is built as JSON by the server, exactly as PostgREST builds it, so both transports
// hand back equal values (bigint as number, timestamps as ISO strings).
import postgres from 'postgres';
import { AldDbError, fromPostgresError } from '../errors.ts';
import { RPC_CATALOG, type CallOptions, type PoolStats, type RpcArgs, type RpcName, type Transport } from './types.ts';

/** Supavisor's transaction-mode port: no prepared statements, no LISTEN (docs/design.md §9). */
export const TRANSACTION_POOLER_PORT = 6543;
/** Supavisor's session-mode port on the same host. */
export const SESSION_PORT = 5432;

export interface PoolOptions {
  /** Maximum connections (default 20). postgres.js has no minimum: they open on demand. */
  max?: number;
  /** Seconds an idle connection stays open (default 60). */
  idle_timeout?: number;
  /** Seconds before a connection is recycled (default 1800). */
  max_lifetime?: number;
  /** Seconds to wait for a connection (default 10). */
  connect_timeout?: number;
  /** Prepared statements; default: on, except through the transaction pooler (port 6543). */
  prepare?: boolean;
}

function portOf(url: string): number {
  const parsed = new URL(url);
  return parsed.port ? Number(parsed.port) : SESSION_PORT;
}

/**
 * Whether to use prepared statements for this URL. Supavisor in transaction mode (port 6543)
 * hands each transaction to any server connection, where a statement prepared on another one
 * does not exist, so they must be off there.
 */
export function usePreparedStatements(url: string): boolean {
  return portOf(url) !== TRANSACTION_POOLER_PORT;
}

/**
 * The URL the LISTEN connection should use. LISTEN needs a session that stays the same server
 * connection: through the transaction pooler it would be handed to others, so switch to the
 * session port of the same host.
 */
export function sessionUrlFor(url: string): string {
  if (portOf(url) !== TRANSACTION_POOLER_PORT) return url;
  const parsed = new URL(url);
  parsed.port = String(SESSION_PORT);
  return parsed.toString();
}

function placeholder(index: number, type: string): string {
  // jsonb goes over the wire as text: postgres.js would JSON-encode a string a second time.
  // boolean[] too (an array literal): postgres.js types a JS array of booleans as one boolean.
  return type === 'jsonb' || type === 'boolean[]' ? `$${index}::text::${type}` : `$${index}::${type}`;
}

function param(type: string, value: unknown): unknown {
  if (type === 'jsonb') return JSON.stringify(value);
  if (type === 'boolean[]' && Array.isArray(value)) return `{${value.map((b) => (b === null ? 'NULL' : b ? 't' : 'f')).join(',')}}`;
  return value;
}

/** The SQL text of one call; it depends only on which arguments are present, so it is cached. */
function buildSql(rpc: RpcName, names: string[]): string {
  const def = RPC_CATALOG[rpc];
  const types = def.args as Record<string, string>;
  const args = names.map((name, i) => `"${name}" => ${placeholder(i + 1, types[name])}`).join(', ');
  const call = `public.${rpc}(${args})`;
  switch (def.returns) {
    case 'set': return `select coalesce(json_agg(r), '[]'::json) as result from ${call} r`;
    case 'row': return `select to_json(r) as result from ${call} r`;
    case 'value': return `select to_json(${call}) as result`;
  }
}

export class PostgresTransport implements Transport {
  readonly kind = 'postgres' as const;
  readonly prepare: boolean;
  readonly max: number;
  private readonly sql: postgres.Sql;
  private readonly statements = new Map<string, string>();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(databaseUrl: string, options: PoolOptions = {}, applicationName = 'ald-db') {
    this.prepare = options.prepare ?? usePreparedStatements(databaseUrl);
    this.max = options.max ?? 20;
    this.sql = postgres(databaseUrl, {
      max: this.max,
      idle_timeout: options.idle_timeout ?? 60,
      max_lifetime: options.max_lifetime ?? 1800,
      connect_timeout: options.connect_timeout ?? 10,
      prepare: this.prepare,
      onnotice: () => {},
      connection: { application_name: applicationName },
      // postgres.js's default waits (0.5–1) × min(3^n / 100, 20) s before a reconnect, n counting
      // every failed attempt of the pool: after a few seconds of outage a call waited up to 20 s
      // for a database that was back. Short and capped instead: 50 ms doubling to 1 s.
      backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    });
  }

  call<T>(rpc: RpcName, args: RpcArgs, options: CallOptions): Promise<T> {
    const call = this.attempt<T>(rpc, args, options);
    this.pending.add(call);
    const forget = () => this.pending.delete(call);
    call.then(forget, forget);
    return call;
  }

  private async attempt<T>(rpc: RpcName, args: RpcArgs, options: CallOptions): Promise<T> {
    const def = RPC_CATALOG[rpc];
    const types = def.args as Record<string, string>;
    const names = Object.keys(types).filter((name) => args[name] !== undefined);
    const key = `${rpc}(${names.join(',')})`;
    let text = this.statements.get(key);
    if (text === undefined) {
      text = buildSql(rpc, names);
      this.statements.set(key, text);
    }
    const params = names.map((name) => param(types[name], args[name])) as postgres.ParameterOrJSON<never>[];

    const query = this.sql.unsafe(text, params, { prepare: this.prepare });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Ask the server to stop, but only a query that was written to a connection: cancelling
        // one still waiting for its connection makes postgres.js 3.4.9 skip it when the
        // connection opens, and that connection never returns to the pool (each such timeout
        // would strand one). An unsent query is abandoned; its rejection is swallowed below.
        if ((query as unknown as { state?: unknown }).state) query.cancel();
        reject(new AldDbError({ code: 'ALD_TIMEOUT', message: `${rpc} got no reply within ${options.timeoutMs} ms`, operation: rpc }));
      }, options.timeoutMs);
    });
    try {
      const rows = await Promise.race([query, timeout]);
      const row = rows[0] as unknown as { result: T } | undefined;
      // Every statement above returns exactly one row. No row means postgres.js settled the
      // query without its reply: a query written to a connection between its socket's 'error'
      // and 'close' events hangs, and is resolved empty when that connection next reconnects.
      // The connection was lost under it; say so (a transient error, retried where safe).
      if (!row || !('result' in row)) {
        throw new AldDbError({ code: 'ALD_CONNECTION', message: `${rpc}: the connection was lost before the reply`, operation: rpc });
      }
      return row.result;
    } catch (error) {
      throw fromPostgresError(error, rpc);
    } finally {
      clearTimeout(timer);
      query.catch(() => {});
    }
  }

  pool(): PoolStats {
    const n = this.pending.size;
    return { max: this.max, inUse: Math.min(n, this.max), waiting: Math.max(0, n - this.max) };
  }

  /**
   * Waits for the SDK's calls in flight (each bounded by its timeout), then closes every
   * connection at once. Not `end({ timeout })` alone: after a connection reset postgres.js keeps
   * the failed query as the connection's current one and end() waits for it for the whole
   * timeout (porsager/postgres#1130).
   */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await this.sql.end({ timeout: 0 });
  }
}
