// createAldDb: one interface over two transports.
//   { databaseUrl }  postgres.js pool; the cache LISTENs for changes on a session connection.
//   { supabase }     supabase-js client; every call is one PostgREST request; the cache checks
//                    the machines' epoch rows (at most every epochCheckMs) instead of LISTEN.
//   { transport }    a Transport of the caller's (as supabase-js accepts `fetch`): tests, or a
//                    transport of your own; the cache checks epochs through it, as over HTTP.
import type { SupabaseClient } from '@supabase/supabase-js';
import type { Registry } from 'prom-client';
import { EpochCoherence, ListenCoherence, type CoherenceDriver, type EpochRow } from './coherence.ts';
import { AldDbError, closedError, invalidArgument } from './errors.ts';
import { Emitter } from './emitter.ts';
import { ParameterChangeListener } from './listener.ts';
import { Metrics } from './metrics.ts';
import { ParameterCache, type InvalidateEvent } from './parameter-cache.ts';
import { ParametersApi } from './parameters-api.ts';
import { CommandsApi, ProcessApi } from './process-api.ts';
import { Journal, type JournalOptions } from './journal.ts';
import { ControllersApi } from './controllers-api.ts';
import { watchMachine, watchRun, type MachineHandlers, type Watch, type Change } from './watch.ts';
import { Recorder, type RecorderOptions, type RecorderTarget } from './recorder.ts';
import { ReadingsApi } from './readings-api.ts';
import { SetpointsApi } from './setpoints.ts';
import { RpcClient, type RetryPolicy } from './rpc-client.ts';
import { PostgresTransport, sessionUrlFor, type PoolOptions } from './transport/postgres.ts';
import { SupabaseTransport } from './transport/supabase.ts';
import type { PoolStats, Transport } from './transport/types.ts';
import type { Parameter } from './types.ts';
import { requireUuid } from './validate.ts';

export interface CacheOptions {
  /** Backstop: rows older than this are never served (default 300 000 ms). */
  ttlMs?: number;
  /** Rows read recently are refetched in one bulk call this often (default 60 000 ms; 0: never). */
  hotRefreshMs?: number;
  /** Supabase transport: how old the last epoch check may be when memory is served (default 1000 ms). */
  epochCheckMs?: number;
}

interface CommonOptions {
  /** Per call, in ms (default 15 000): then AldDbError ALD_TIMEOUT. */
  timeoutMs?: number;
  /** Retries of idempotent calls after a transient failure (default 3 attempts, 50 ms doubling to 1000 ms, jittered). */
  retry?: Partial<RetryPolicy>;
  cache?: CacheOptions;
  /** Defaults for db.recorder(). */
  recorder?: RecorderOptions;
  /** Clock of the cache (TTL, hot refresh, epoch checks); injectable for tests. */
  now?: () => number;
}

export interface DirectOptions extends CommonOptions {
  databaseUrl: string;
  pool?: PoolOptions;
  /** The LISTEN session's URL (default: databaseUrl, switched to port 5432 when it is Supavisor's 6543). */
  listenUrl?: string;
  /** application_name of the connections (default 'ald-db'; the listener adds ':listener'). */
  applicationName?: string;
  listener?: { heartbeatMs?: number; reconnectBaseMs?: number; reconnectMaxMs?: number };
}

export interface SupabaseOptions extends CommonOptions {
  // The client's generic parameters describe the caller's schema types, which the SDK never uses.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  supabase: SupabaseClient<any, any, any>;
}

export interface TransportOptions extends CommonOptions {
  /**
   * Every RPC goes through this transport (one call() per attempt); the SDK's retries, cache,
   * recorder and metrics sit above it as with the built-in ones. There is no LISTEN session: the
   * cache checks the machines' epochs (get_parameter_epochs through the transport), as over HTTP.
   * close() closes it.
   */
  transport: Transport;
}

export type AldDbOptions = DirectOptions | SupabaseOptions | TransportOptions;

export interface AldDbEvents {
  /** A change notification reached the cache (direct transport). */
  invalidate: [event: InvalidateEvent];
  /** The cache refetched its rows in bulk and may serve memory again. */
  resync: [event: { ids: number; rows: number }];
  /** The periodic bulk refresh of hot rows ran. */
  refresh: [event: { ids: number; rows: number }];
  /** The LISTEN session is (again) subscribed. */
  connected: [];
  /** The LISTEN session was lost; memory is not served until the resync after reconnecting. */
  disconnected: [error: AldDbError];
  /** A background task failed (resync, hot refresh); it is retried. */
  error: [error: AldDbError];
}

export interface AldDbStats {
  transport: 'postgres' | 'supabase';
  /** Whether the direct transport prepares statements (off through Supavisor's port 6543); null over HTTP. */
  preparedStatements: boolean | null;
  /** RPC attempts per RPC name: one round trip each. */
  roundTrips: Record<string, number>;
  /** Failed attempts per error code. */
  errors: Record<string, number>;
  retries: number;
  cache: {
    hits: number; misses: number; hitRatio: number; revalidatingReads: number;
    invalidations: number; resyncs: number; entries: number; coherent: boolean;
  };
  listener: { subscribed: boolean; reconnects: number; pid: number | null } | null;
  pool: PoolStats;
  recorder: { open: number; bufferedRows: number; bufferedTicks: number; sent: number; retried: number; dropped: number; nonFinite: number };
}

const asAldError = (error: unknown): AldDbError =>
  error instanceof AldDbError ? error : new AldDbError({ code: 'ALD_UNEXPECTED', message: String(error), cause: error });

export class AldDb extends Emitter<AldDbEvents> {
  readonly parameters: ParametersApi;
  readonly commands: CommandsApi;
  readonly process: ProcessApi;
  /** The setpoint queue: claim, ack, report, list, and subscribe (the controller's loop). */
  readonly setpoints: SetpointsApi;
  readonly controllers: ControllersApi;
  /** What was recorded: latest readings and chart ranges. */
  readonly readings: ReadingsApi;
  /** This client's prom-client registry (not the global one). */
  readonly metrics: Registry;
  private readonly metricsState: Metrics;
  private readonly transport: Transport;
  private readonly rpc: RpcClient;
  private readonly cache: ParameterCache;
  private readonly listener: ParameterChangeListener | undefined;
  /** What vouches for the cache's memory (LISTEN or epoch checks); stopped by close(). */
  private readonly coherence: CoherenceDriver;
  private readonly recorders = new Set<Recorder>();
  private readonly journals = new Set<Journal>();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: AldDbOptions) {
    super();
    const now = options.now ?? Date.now;
    this.transport = 'transport' in options && options.transport
      ? options.transport
      : 'supabase' in options && options.supabase
        ? new SupabaseTransport(options.supabase)
        : new PostgresTransport((options as DirectOptions).databaseUrl, (options as DirectOptions).pool, (options as DirectOptions).applicationName);
    this.metricsState = new Metrics({
      pool: () => this.transport.pool(),
      cacheEntries: () => this.cache.size,
      cacheCoherent: () => this.cache.coherent,
      backlog: () => this.backlog(),
    });
    this.metrics = this.metricsState.registry;
    this.rpc = new RpcClient(this.transport, this.metricsState, {
      timeoutMs: options.timeoutMs ?? 15_000,
      retry: { attempts: 3, baseMs: 50, maxMs: 1000, ...options.retry },
    });
    const cacheOptions = options.cache ?? {};
    this.cache = new ParameterCache(
      (ids) => this.rpc.idempotent<Parameter[]>('get_parameters', { parameter_ids: ids }),
      this.metricsState,
      { ttlMs: cacheOptions.ttlMs ?? 300_000, hotRefreshMs: cacheOptions.hotRefreshMs ?? 60_000, now },
    );
    this.cache.on('invalidate', (e) => this.emit('invalidate', e));
    this.cache.on('resync', (e) => this.emit('resync', e));
    this.cache.on('refresh', (e) => this.emit('refresh', e));
    this.parameters = new ParametersApi(this.rpc, this.cache);
    this.commands = new CommandsApi(this.rpc);
    this.process = new ProcessApi(this.rpc, this.cache);
    this.controllers = new ControllersApi(this.rpc);
    this.readings = new ReadingsApi(this.rpc);

    if (typeof (options as DirectOptions).databaseUrl === 'string') {
      const o = options as DirectOptions;
      this.setpoints = new SetpointsApi(this.rpc, {
        url: o.listenUrl ?? sessionUrlFor(o.databaseUrl),
        applicationName: `${o.applicationName ?? 'ald-db'}:setpoints`,
        backoff: { baseMs: o.listener?.reconnectBaseMs ?? 100, maxMs: o.listener?.reconnectMaxMs ?? 5000 },
        connectTimeoutSec: o.pool?.connect_timeout ?? 10,
      });
      this.listener = new ParameterChangeListener(o.listenUrl ?? sessionUrlFor(o.databaseUrl), {
        applicationName: `${o.applicationName ?? 'ald-db'}:listener`,
        heartbeatMs: o.listener?.heartbeatMs ?? 30_000,
        backoff: { baseMs: o.listener?.reconnectBaseMs ?? 100, maxMs: o.listener?.reconnectMaxMs ?? 5000 },
        connectTimeoutSec: o.pool?.connect_timeout ?? 10,
      });
      this.listener.on('up', () => this.emit('connected'));
      this.listener.on('down', (e) => this.emit('disconnected', e));
      this.coherence = new ListenCoherence(this.cache, this.listener, { baseMs: 100, maxMs: 5000 }, (e) => this.emit('error', asAldError(e)));
    } else {
      this.setpoints = new SetpointsApi(this.rpc, undefined);
      const fetchEpochs = (machineIds: string[]) => this.rpc.once<EpochRow[]>('get_parameter_epochs', { machine_ids: machineIds });
      this.coherence = new EpochCoherence(this.cache, fetchEpochs, cacheOptions.epochCheckMs ?? 1000, now);
    }
    this.coherence.start();
    this.cache.startHotRefresh((e) => this.emit('error', asAldError(e)));
  }

  /**
   * Resolves once the cache may serve memory: the LISTEN session is subscribed and resynced
   * (direct transport); at once for the supabase transport. Reads work before that; they go to
   * the database.
   */
  ready(timeoutMs = 30_000): Promise<void> {
    if (this.cache.coherent) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.cache.off('resync', onResync);
        reject(new AldDbError({ code: 'ALD_TIMEOUT', operation: 'ready', message: `the change listener did not subscribe within ${timeoutMs} ms` }));
      }, timeoutMs);
      const onResync = () => {
        if (!this.cache.coherent) return;
        clearTimeout(timer);
        this.cache.off('resync', onResync);
        resolve();
      };
      this.cache.on('resync', onResync);
    });
  }

  /** Follows a machine over Realtime (supabase transport only): its row, controllers, commands and runs. */
  watchMachine(machineId: string, handlers: MachineHandlers): Watch {
    return watchMachine('supabase' in this.options ? this.options.supabase : undefined, machineId, handlers);
  }

  /** Follows the live progress of one run over Realtime (supabase transport only). */
  watchRun(processId: string, onProgress: (change: Change<Record<string, unknown>>) => void): Watch {
    return watchRun('supabase' in this.options ? this.options.supabase : undefined, processId, onProgress);
  }

  /**
   * The recorder of a machine, from controller start to stop: every tick is stored whether or not
   * a process runs (record_readings; the server links each tick to the run holding its time).
   * See src/sdk/recorder.ts for the buffering policy.
   */
  recorder(machineId: string, options: RecorderOptions = {}): Recorder {
    return this.openRecorder('recorder', 'a machine id', { machineId }, machineId, options);
  }

  /** A recorder for one process execution (record_process_data): ticks after its end are refused. */
  processRecorder(processId: string, options: RecorderOptions = {}): Recorder {
    return this.openRecorder('processRecorder', 'a process id', { processId }, processId, options);
  }

  private openRecorder(operation: string, what: string, target: RecorderTarget, id: string, options: RecorderOptions): Recorder {
    if (this.closing) throw closedError(operation);
    requireUuid(operation, what, id);
    if (typeof options !== 'object' || options === null) throw invalidArgument(operation, 'recorder options must be an object', options);
    const recorder = new Recorder(target, this.rpc, this.metricsState, { ...this.options.recorder, ...options }, (r) => this.recorders.delete(r));
    this.recorders.add(recorder);
    return recorder;
  }

  /**
   * Opens (or reopens, after a restart) the durable local journal at `options.path` and starts
   * draining it. See src/sdk/journal.ts and docs/journal.md.
   */
  journal(options: JournalOptions): Journal {
    if (this.closing) throw closedError('journal');
    const journal = new Journal(options, this.rpc, this.process, this.commands, (id) => this.cache.peek(id)?.row, (j) => this.journals.delete(j));
    this.journals.add(journal);
    return journal;
  }

  /** A plain snapshot of every counter. */
  stats(): AldDbStats {
    const m = this.metricsState;
    const { hits, misses } = m.cache;
    const backlog = this.backlog();
    return {
      transport: this.transport.kind,
      preparedStatements: this.transport instanceof PostgresTransport ? this.transport.prepare : null,
      roundTrips: { ...m.roundTrips },
      errors: { ...m.errors },
      retries: m.retries,
      cache: { ...m.cache, hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses), entries: this.cache.size, coherent: this.cache.coherent },
      listener: this.listener ? { subscribed: this.listener.subscribed, reconnects: this.listener.reconnects, pid: this.listener.pid } : null,
      pool: this.transport.pool(),
      recorder: { open: this.recorders.size, bufferedRows: backlog.rows, bufferedTicks: backlog.ticks, ...m.recorder },
    };
  }

  /**
   * Flushes and closes every recorder (waiting at most timeoutMs for each), stops the cache and
   * the listener, and ends the pool. Any later call rejects with ALD_CLOSED.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.recorders].map((r) => r.close(options)));
      // Journals keep what they hold on disk for the next open; close() does not wait for a drain.
      for (const j of [...this.journals]) j.close();
      await this.setpoints.closeAll();
      this.cache.stop();
      // Nothing is served from memory after close: every read reaches the closed RPC client.
      this.coherence.stop();
      this.rpc.markClosed();
      await this.listener?.close();
      await this.transport.close();
    })();
    return this.closing;
  }

  private backlog(): { rows: number; ticks: number } {
    let rows = 0;
    let ticks = 0;
    for (const r of this.recorders) {
      rows += r.buffered;
      ticks += r.bufferedTicks;
    }
    return { rows, ticks };
  }
}

/** Creates a client. See AldDbOptions; nothing connects until the first call (except LISTEN). */
export function createAldDb(options: AldDbOptions): AldDb {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('createAldDb', 'createAldDb must be called with { databaseUrl }, { supabase } or { transport }', options);
  }
  const hasUrl = typeof (options as DirectOptions).databaseUrl === 'string';
  const hasSupabase = typeof (options as SupabaseOptions).supabase === 'object' && (options as SupabaseOptions).supabase !== null;
  const transport = (options as TransportOptions).transport;
  const hasTransport = typeof transport === 'object' && transport !== null;
  if (Number(hasUrl) + Number(hasSupabase) + Number(hasTransport) !== 1) {
    // Echo the keys only: the values may hold a password.
    throw new AldDbError({
      code: 'ALD_INVALID_ARGUMENT', operation: 'createAldDb',
      message: `createAldDb must be called with exactly one of databaseUrl (a string), supabase (a client) or transport (a Transport), but got an object with keys: ${JSON.stringify(Object.keys(options))}`,
    });
  }
  if (hasTransport && (typeof transport.call !== 'function' || typeof transport.pool !== 'function' || typeof transport.close !== 'function')) {
    throw invalidArgument('createAldDb', 'transport must have call(rpc, args, options), pool() and close() methods', Object.keys(transport));
  }
  return new AldDb(options);
}
