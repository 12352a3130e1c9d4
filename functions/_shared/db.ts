// How the functions reach PostgreSQL: postgres.js over Supavisor's transaction mode
// (SUPABASE_DB_URL), one round trip per call, every statement run as the verified caller.
//
// A call is ONE simple-protocol message holding several statements. PostgreSQL runs such a
// message as one implicit transaction, so the first statement's transaction-local settings
//   role = authenticated | service_role, request.jwt.claims = <verified claims>,
//   statement_timeout, ald.args = <the call's arguments as JSON>
// apply to the RPC statements after it, and vanish at its end: the pooled connection goes back
// clean. RLS and the definer RPCs' role checks therefore see the real caller, exactly as through
// PostgREST, without PostgREST's extra HTTP hop.
//
// Why not bind parameters: with prepare: false (required by transaction pooling) postgres.js
// describes every parameterised statement before executing it, one more round trip each, and it
// cannot send several statements in one message. So no caller-supplied text is ever spliced into
// SQL: the claims and arguments travel base64-encoded (an alphabet with no quote or backslash),
// the role comes from a fixed list, and the statements themselves are constants that read their
// arguments with current_setting('ald.args').
import { Buffer } from 'node:buffer';
import postgres from 'npm:postgres@3.4.9';
import type { DatabaseFailure } from './http.ts';
import { observeRoundTrip } from './metrics.ts';

export type Row = Record<string, unknown>;

/** Who the statements run as: a role from a fixed list and the claims verified by auth.ts. */
export interface DbCaller {
  role: 'authenticated' | 'service_role';
  claims: Record<string, unknown>;
}

/** Per-request counter the log line reports as db_calls. */
export interface CallStats {
  dbCalls: number;
}

/** SQL expression for the call's arguments (jsonb), for use in statements. */
export const ARGS = `current_setting('ald.args')::jsonb`;

/** A database failure with every field the server sent that the HTTP layer needs. */
export class DbError extends Error implements DatabaseFailure {
  override readonly name = 'DbError';
  constructor(
    readonly sqlstate: string,
    message: string,
    readonly detail: string | undefined,
    readonly hint: string | undefined,
    readonly raisedByRpc: boolean,
    readonly unavailable: boolean,
  ) {
    super(message);
  }
}

const ROLES = new Set(['authenticated', 'service_role']);
// postgres.js connection failures (its own codes and the socket's).
const UNAVAILABLE =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE|CONNECT_TIMEOUT|CONNECTION_CLOSED|CONNECTION_ENDED|CONNECTION_DESTROYED)$/;

const base64 = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
const decoded = (b64: string) => `convert_from(decode('${b64}', 'base64'), 'utf8')`;

/** The text of one call: the identity/settings statement, then the given statements. Pure. */
export function callScript(
  caller: DbCaller,
  statements: readonly string[],
  args: Row,
  statementTimeoutMs: number,
): string {
  if (!ROLES.has(caller.role)) {
    throw new TypeError(`caller.role must be authenticated or service_role, but got: ${caller.role}`);
  }
  if (!Number.isInteger(statementTimeoutMs) || statementTimeoutMs <= 0) {
    throw new TypeError(`statementTimeoutMs must be a positive integer, but got: ${statementTimeoutMs}`);
  }
  const setup = `select set_config('role', '${caller.role}', true), ` +
    `set_config('request.jwt.claims', ${decoded(base64(caller.claims))}, true), ` +
    `set_config('statement_timeout', '${statementTimeoutMs}', true), ` +
    `set_config('ald.args', ${decoded(base64(args))}, true)`;
  return [setup, ...statements].join(';\n');
}

function toDbError(error: unknown): DbError {
  const e = error as {
    code?: string;
    message?: string;
    detail?: string;
    hint?: string;
    routine?: string;
    name?: string;
  };
  if (e?.name === 'PostgresError' && typeof e.code === 'string') {
    // exec_stmt_raise is PL/pgSQL's RAISE: one of our RPCs refused the call on purpose.
    return new DbError(e.code, e.message ?? '', e.detail, e.hint, e.routine === 'exec_stmt_raise', false);
  }
  const unavailable = typeof e?.code === 'string' && UNAVAILABLE.test(e.code);
  return new DbError(
    unavailable ? '08006' : 'XX000',
    String(e?.message ?? error),
    undefined,
    undefined,
    false,
    unavailable,
  );
}

/** Round trips made through this module since it was loaded (every Db instance). */
let totalRoundTrips = 0;
export function roundTrips(): number {
  return totalRoundTrips;
}

export interface DbOptions {
  max?: number;
  statementTimeoutMs?: number;
}

export class Db {
  private readonly sql: postgres.Sql;
  private readonly statementTimeoutMs: number;

  constructor(url: string, options: DbOptions = {}) {
    this.statementTimeoutMs = options.statementTimeoutMs ?? 15_000;
    this.sql = postgres(url, {
      max: options.max ?? 3,
      prepare: false, // named statements do not survive Supavisor's transaction mode
      fetch_types: false, // no custom array types are bound, so skip that query on every connect
      idle_timeout: 20,
      connect_timeout: 10,
      onnotice: () => {},
    });
  }

  /**
   * Runs `statements` in one round trip as `caller` and returns each statement's rows.
   * `operation` names the call in metrics. Throws DbError.
   */
  async call(
    stats: CallStats,
    caller: DbCaller,
    operation: string,
    statements: readonly string[],
    args: Row,
  ): Promise<Row[][]> {
    const text = callScript(caller, statements, args, this.statementTimeoutMs);
    const started = performance.now();
    stats.dbCalls += 1;
    totalRoundTrips += 1;
    let outcome = 'ok';
    try {
      const result = await this.sql.unsafe(text);
      // A multi-statement message yields one result per statement; drop the settings statement.
      const results = (statements.length === 0 ? [result] : result) as unknown as Row[][];
      return results.slice(1).map((rows) => [...rows]);
    } catch (error) {
      const failure = toDbError(error);
      outcome = failure.sqlstate;
      throw failure;
    } finally {
      observeRoundTrip(operation, outcome, (performance.now() - started) / 1000);
    }
  }

  async end(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}
