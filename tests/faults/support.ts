// Shared pieces of the fault-injection suites: a TcpProxy in front of the test database, an
// injector that resets a connection at one exact point of one call, and the queries that check
// what the database holds afterwards (by idempotency key, never by "looks about right").
import type postgres from 'postgres';
import { flattenPlan, type AldDb, type AldDbError } from '../../src/index.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import { databaseUrl, type Reactor } from '../sdk/support.ts';

export { SEED, adminSql, cloneReactor, databaseUrl, dropReactor, nextEvent, viaPort, type Reactor } from '../sdk/support.ts';

export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A proxy in front of the server of `url` (default: the test database). */
export async function startProxy(url = databaseUrl()): Promise<TcpProxy> {
  const target = new URL(url);
  const proxy = new TcpProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
  await proxy.start();
  return proxy;
}

/**
 * Where a fault hits a call:
 *   request  the connection is reset when the call's first message (Parse, Bind or Query)
 *            reaches the proxy; that chunk is dropped, so the server never sees the call;
 *   reply    the call passes, the server executes and commits it, and the connection is reset
 *            when the server's ReadyForQuery (sent after the commit) reaches the proxy; that
 *            chunk is dropped, so the client never sees the reply of a committed call.
 */
export type FaultSide = 'request' | 'reply';
export const FAULT_SIDES: FaultSide[] = ['request', 'reply'];

interface Armed {
  side: FaultSide;
  /** reply: the connection that carries the call, once its first message passed. */
  conn?: number;
  fire: () => void;
}

const REQUEST_MESSAGES = new Set(['P', 'B', 'Q']);

/**
 * Resets connections of a proxy at exact points of calls. Each arm() is one fault for the next
 * call that starts after it. It uses proxy.resetAll(), so the client under test should be the
 * only traffic through this proxy (pool max 1, listener on another URL) while a fault is armed.
 *
 * A call is a request on a connection whose start-up is over: postgres.js runs its fetch_types
 * query as the first exchange of every new connection (tests/support/tcp-proxy.test.ts), so a
 * connection's first two ReadyForQuery messages (handshake, types) come before any call on it.
 */
export class FaultInjector {
  /** Faults that have hit a call. */
  fired = 0;
  private readonly readyFor = new Map<number, number>();
  private armed: Armed[] = [];

  constructor(private readonly proxy: TcpProxy) {
    proxy.onClientMessage = (type, conn) => this.onClient(type, conn);
    proxy.onServerMessage = (type, conn) => this.onServer(type, conn);
  }

  /** One fault for the next call; resolves when it has hit. */
  arm(side: FaultSide): Promise<void> {
    return new Promise((resolve) => {
      this.armed.push({ side, fire: () => { this.fired++; resolve(); } });
    });
  }

  get pending(): number {
    return this.armed.length;
  }

  detach(): void {
    this.proxy.onClientMessage = undefined;
    this.proxy.onServerMessage = undefined;
    this.armed = [];
  }

  private onClient(type: string, conn: number): void {
    if (!REQUEST_MESSAGES.has(type) || (this.readyFor.get(conn) ?? 0) < 2) return;
    const next = this.armed.find((a) => a.conn === undefined);
    if (!next) return;
    if (next.side === 'request') {
      this.armed.splice(this.armed.indexOf(next), 1);
      this.proxy.resetAll();
      next.fire();
    } else {
      next.conn = conn;
    }
  }

  private onServer(type: string, conn: number): void {
    if (type !== 'Z') return;
    this.readyFor.set(conn, (this.readyFor.get(conn) ?? 0) + 1);
    const hit = this.armed.find((a) => a.conn === conn);
    if (!hit) return;
    this.armed.splice(this.armed.indexOf(hit), 1);
    this.proxy.resetAll();
    hit.fire();
  }
}

/** Waits until `check` holds (polled), or fails with `what` after timeoutMs. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await pause(10);
  }
}

/** The rejection of `promise` (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<AldDbError> {
  const outcome = await promise.then((value) => ({ value }), (error: unknown) => ({ error }));
  if (!('error' in outcome)) throw new Error(`expected a rejection, but the call resolved with: ${JSON.stringify(outcome.value)}`);
  return outcome.error as AldDbError;
}

/** Failed attempts per error code since `before` (db.stats().errors). */
export function errorsSince(db: AldDb, before: Record<string, number>): Record<string, number> {
  const after = db.stats().errors;
  const delta: Record<string, number> = {};
  for (const [code, n] of Object.entries(after)) if (n > (before[code] ?? 0)) delta[code] = n - (before[code] ?? 0);
  return delta;
}

/** Readings of tick `tick`: parameter j reads tick * 1000 + j, so a stored row names its tick. */
export function readingsOf(parameterIds: readonly string[], tick: number): Record<string, number> {
  return Object.fromEntries(parameterIds.map((id, j) => [id, tick * 1000 + j]));
}

export interface StoredVsExpected {
  expected: number;
  stored: number;
  /** Expected (parameter, ts) keys not stored. */
  lost: number;
  /** Stored keys nobody recorded (e.g. a retry stamped anew). */
  unexpected: number;
  /** Rows beyond one per key. */
  duplicated: number;
  /** Stored rows whose value is not the one recorded for that key. */
  wrongValue: number;
}

/**
 * Compares the rows of a process with the exact set that was recorded: one row per parameter of
 * `parameterIds` per timestamp of `stamps`, value readingsOf(…, tick) for the tick-th stamp.
 */
export async function compareStored(sql: postgres.Sql, processId: string, parameterIds: readonly string[], stamps: readonly Date[]): Promise<StoredVsExpected> {
  const [row] = await sql<StoredVsExpected[]>`
    with expected as (
      select p.id as parameter_id, s.ts, (s.tick - 1) * 1000 + (p.j - 1) as value
      from unnest(${sql.array([...parameterIds])}::uuid[]) with ordinality as p (id, j)
      cross join unnest(${sql.array(stamps.map((d) => d.toISOString()))}::timestamptz[]) with ordinality as s (ts, tick)
    ),
    stored as (select parameter_id, ts, value from public.process_data_points where process_id = ${processId})
    select (select count(*) from expected)::int as expected,
           (select count(*) from stored)::int as stored,
           (select count(*) from expected e where not exists (select 1 from stored s where s.parameter_id = e.parameter_id and s.ts = e.ts))::int as lost,
           (select count(*) from stored s where not exists (select 1 from expected e where e.parameter_id = s.parameter_id and e.ts = s.ts))::int as unexpected,
           (select count(*) - count(distinct (parameter_id, ts)) from stored)::int as duplicated,
           (select count(*) from stored s join expected e using (parameter_id, ts) where s.value is distinct from e.value)::int as "wrongValue"`;
  return row;
}

/** The server's clock: runs started from now on are the test's. */
export async function dbNow(sql: postgres.Sql): Promise<Date> {
  const [row] = await sql<{ now: Date }[]>`select clock_timestamp() as now`;
  return row.now;
}

/** What the database holds of one run: executions, steps and the setpoints its steps wrote. */
export async function runRecord(sql: postgres.Sql, machineId: string, since: Date) {
  const executions = await sql<{ id: string; status: string }[]>`
    select id, status::text from public.process_executions where machine_id = ${machineId} and started_at >= ${since} order by started_at`;
  const ids = executions.map((e) => e.id);
  const [steps] = await sql<{ rows: number; indexes: number; open: number }[]>`
    select count(*)::int as rows, count(distinct step_index)::int as indexes, count(*) filter (where status = 'running')::int as open
    from public.step_executions where process_id = any(${sql.array(ids)}::uuid[])`;
  const setpoints = await sql<{ step_execution_id: string; n: number }[]>`
    select step_execution_id, count(*)::int as n from public.parameter_changes
    where process_id = any(${sql.array(ids)}::uuid[]) group by step_execution_id`;
  return { executions, steps, setpoints };
}

/** Codes a controller answers by issuing the same call again (the SDK's own retries ran out). */
const REISSUE = new Set(['ALD_CONNECTION', 'ALD_TIMEOUT']);

export interface ControllerRun {
  processId: string;
  /** The timestamp of every recorded tick, in order (tick k has readingsOf(…, k)). */
  stamps: Date[];
  /** Every error the SDK surfaced to the controller; each was answered by re-issuing the call. */
  surfaced: AldDbError[];
}

/**
 * A controller running the reactor's recipe through whatever the test does to the network:
 * records a tick every tickMs (explicit timestamps, so the stored keys can be compared exactly),
 * opens one step every stepMs, and answers an error that the SDK surfaces after its own retries
 * (ALD_CONNECTION, ALD_TIMEOUT) the way a controller should: the same call again, same keys, a
 * little later. Any other error fails the run. `during(stepIndex)` runs before each step.
 */
export async function runRecipe(
  db: AldDb,
  reactor: Reactor,
  options: { tickMs?: number; stepMs?: number; during?: (stepIndex: number) => void | Promise<void> } = {},
): Promise<ControllerRun> {
  const tickMs = options.tickMs ?? 100;
  const stepMs = options.stepMs ?? 50;
  const surfaced: AldDbError[] = [];
  const persist = async <T>(call: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await call();
      } catch (error) {
        const e = error as AldDbError;
        if (!REISSUE.has(String(e.code))) throw e;
        surfaced.push(e);
        await pause(100);
      }
    }
  };
  const requestId = crypto.randomUUID();
  const plan = await persist(() => db.process.start({ machineId: reactor.machineId, recipeId: reactor.recipeId, requestId }));
  const recorder = db.processRecorder(plan.process_id, { retryBaseMs: 50, retryMaxMs: 500 });
  const stamps: Date[] = [];
  const record = () => {
    const ts = new Date(Math.max(Date.now(), (stamps.at(-1)?.getTime() ?? 0) + 1));
    recorder.record(readingsOf(reactor.parameterIds, stamps.length), ts);
    stamps.push(ts);
  };
  record();
  const ticker = setInterval(record, tickMs);
  try {
    for (const s of flattenPlan(plan)) {
      await options.during?.(s.step_index);
      const reply = await persist(() => db.process.advance({
        processId: plan.process_id, stepId: s.step_id, stepIndex: s.step_index, loopIteration: s.loop_iteration,
      }));
      if (reply.step_index !== s.step_index) throw new Error(`advance replied step_index ${reply.step_index} for ${s.step_index}`);
      await pause(stepMs);
    }
    await persist(() => db.process.advance({ processId: plan.process_id, stepId: null }));
  } finally {
    clearInterval(ticker);
  }
  // Every tick is stamped before the run ends, so none is refused as recorded after it.
  await persist(() => db.process.complete({ processId: plan.process_id }));
  await recorder.close({ timeoutMs: 30_000 });
  if (recorder.dropped !== 0) throw new Error(`the recorder dropped ${recorder.dropped} rows`);
  return { processId: plan.process_id, stamps, surfaced };
}
