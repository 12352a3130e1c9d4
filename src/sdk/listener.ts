// The session connection that LISTENs on ald_parameter_changes for the direct transport.
//
// Why not postgres.js's own `sql.listen`: it does reconnect (its internal onclose re-issues
// LISTEN, and `onlisten` fires again once that succeeded), but it gives no signal when the
// connection goes down, and the cache must stop serving from memory at that moment, not at the
// next successful LISTEN. So this file keeps one postgres.js instance with max: 1 per session,
// learns of the loss from its `onclose`, and reconnects with backoff. 'up' is emitted only after
// the LISTEN statement has completed: from then on every committed change is notified.
//
// A heartbeat (`select 1` every heartbeatMs) finds connections that died without a FIN or RST
// (a NAT dropping state, a pulled cable), which TCP alone would notice only after many minutes.
import postgres from 'postgres';
import { AldDbError, fromPostgresError } from './errors.ts';
import { Emitter } from './emitter.ts';
import { backoffDelay, type BackoffOptions } from './retry.ts';

export const CHANGES_CHANNEL = 'ald_parameter_changes';

/** The payload of a NOTIFY on ald_parameter_changes (20261126000600_parameter_versioning.sql). */
export interface ParameterChange {
  id: string;
  version: number;
  machine_id: string;
  op: 'INSERT' | 'UPDATE' | 'DELETE';
}

export interface ListenerEvents {
  /** LISTEN is active: after the first connect and after every reconnect. */
  up: [];
  /** The session was lost (or a connect attempt failed); changes are not being heard. */
  down: [error: AldDbError];
  change: [change: ParameterChange];
}

export interface ListenerOptions {
  applicationName: string;
  backoff: BackoffOptions;
  heartbeatMs: number;
  connectTimeoutSec: number;
}

export function parseChange(payload: string): ParameterChange | null {
  try {
    const x = JSON.parse(payload) as Partial<ParameterChange>;
    const version = Number(x.version);
    if (typeof x.id !== 'string' || !Number.isFinite(version)) return null;
    const op = x.op === 'INSERT' || x.op === 'DELETE' ? x.op : 'UPDATE';
    return { id: x.id, version, machine_id: String(x.machine_id ?? ''), op };
  } catch {
    return null;
  }
}

export class ParameterChangeListener extends Emitter<ListenerEvents> {
  subscribed = false;
  /** Backend pid of the current session (tests terminate it). */
  pid: number | null = null;
  /** Sessions established after the first one. */
  reconnects = 0;
  private sessions = 0;
  private closed = false;
  private current: postgres.Sql | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly url: string, private readonly options: ListenerOptions) {
    super();
  }

  start(): void {
    this.loop ??= this.run();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.current?.end({ timeout: 0 }).catch(() => {});
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      let lost!: () => void;
      const sessionLost = new Promise<void>((resolve) => (lost = resolve));
      // `onnotify` is the option postgres.js's own listen() is built on (parseOptions passes it
      // through); its type declarations omit it, hence the widened type.
      const sessionOptions: postgres.Options<Record<string, postgres.PostgresType>> & { onnotify: (channel: string, payload: string) => void } = {
        max: 1,
        idle_timeout: 0,
        max_lifetime: null,
        fetch_types: false,
        prepare: false,
        connect_timeout: this.options.connectTimeoutSec,
        onnotice: () => {},
        onnotify: (_channel: string, payload: string) => {
          const change = parseChange(payload);
          if (change) this.emit('change', change);
        },
        onclose: () => lost(),
        connection: { application_name: this.options.applicationName },
      };
      const sql = postgres(this.url, sessionOptions);
      this.current = sql;
      let reason: AldDbError;
      try {
        await sql.unsafe(`listen ${CHANGES_CHANNEL}`);
        const [row] = await sql.unsafe<{ pid: number }[]>('select pg_backend_pid() as pid');
        if (this.closed) break;
        this.pid = row.pid;
        if (this.sessions++ > 0) this.reconnects++;
        failures = 0;
        this.subscribed = true;
        this.emit('up');
        reason = await this.watch(sql, sessionLost);
      } catch (error) {
        reason = fromPostgresError(error, 'listen');
      }
      const wasSubscribed = this.subscribed;
      this.subscribed = false;
      this.pid = null;
      void sql.end({ timeout: 0 }).catch(() => {});
      if (this.closed) break;
      if (wasSubscribed || failures === 0) this.emit('down', reason);
      await this.pause(backoffDelay(failures++, this.options.backoff));
    }
    this.subscribed = false;
  }

  /** Resolves when the session is lost: its socket closed, or the heartbeat got no answer. */
  private async watch(sql: postgres.Sql, sessionLost: Promise<void>): Promise<AldDbError> {
    const lost = sessionLost.then(() => 'lost' as const);
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<'tick'>((resolve) => (timer = setTimeout(() => resolve('tick'), this.options.heartbeatMs).unref()));
      const event = await Promise.race([lost, tick]);
      clearTimeout(timer);
      if (event === 'lost' || this.closed) {
        return new AldDbError({ code: 'ALD_CONNECTION', message: 'the LISTEN session was closed', operation: 'listen' });
      }
      const beat = sql.unsafe('select 1');
      const answered = await Promise.race([
        beat.then(() => true, () => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), this.options.heartbeatMs).unref()),
      ]);
      if (!answered) {
        return new AldDbError({ code: 'ALD_CONNECTION', message: 'the LISTEN session stopped answering', operation: 'listen' });
      }
    }
  }

  /** A reconnect delay that close() can cut short. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
