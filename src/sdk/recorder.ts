// Recording (docs/design.md §7): the controller hands over the PLC readings of a tick and carries on.
//
// - A recorder records a machine (db.recorder(machineId), record_readings: always on, whether or
//   not a process runs; the server links each tick to the run holding its time) or, as sugar
//   kept for older callers, one process (db.processRecorder(processId), record_process_data).
// - record() returns at once; sending happens in the background, one call per tick while the
//   database keeps up.
// - Ticks recorded while a call is in flight or failing wait in a bounded buffer and then go
//   together as ONE call with a timestamp per row (at most maxRowsPerCall rows per call).
// - Transient failures (connection lost, timeout, server busy) are retried with exponential
//   backoff and jitter, forever: recording never stops on an error. Retries cannot duplicate
//   rows: (machine, tick time) is the key of public.readings and the insert skips conflicts.
//   A machine recorder batches only consecutive ticks that carry the same parameters.
// - Policy for errors that can never succeed. If the server refuses a call on its merits, sending
//   the same rows again would fail the same way and block every tick behind them forever. So:
//     * about the machine or process itself (P0002 unknown, 42501 no right to operate the
//       machine, 22004): every tick of the call is dropped, since no tick of it could be stored;
//     * about the rows (22023 foreign parameter, 55000 rows after the end of the run, any other
//       permanent code): a call of several ticks is split in halves and resent until the ticks
//       that fail alone are found; only those are dropped.
//   Each drop emits 'error' with the AldDbError and counts its rows in `dropped`.
// - A full buffer refuses the new tick with an 'overflow' event (AldDbError ALD_BUFFER_FULL with
//   the count); the ticks already buffered are kept, so what is stored stays contiguous.
import { AldDbError, closedError, invalidArgument, isTransient } from './errors.ts';
import { Emitter } from './emitter.ts';
import type { Metrics } from './metrics.ts';
import { TickClock, sameColumns, timestampOf, toCallArgs, toMachineCallArgs, toTick, type Readings, type Tick } from './recorder-ticks.ts';
import { backoffDelay } from './retry.ts';
import type { RpcClient } from './rpc-client.ts';

/** What a recorder records: a machine (always on) or one process execution. */
export type RecorderTarget = { readonly machineId: string } | { readonly processId: string };

export interface RecorderOptions {
  /** Rows the buffer may hold (default 137 × 3600: an hour of the reference machine). */
  maxBufferedRows?: number;
  /** Rows per call when a backlog is sent (default 20 000; the database accepts 100 000). */
  maxRowsPerCall?: number;
  /** First retry delay in ms (default 200), doubling per failed attempt... */
  retryBaseMs?: number;
  /** ...up to this many ms (default 5000), with jitter. */
  retryMaxMs?: number;
  /** How long flush() and close() wait by default, in ms (default 60 000). */
  flushTimeoutMs?: number;
}

export interface RecorderEvents {
  /** Rows stored by one call. `inserted` < `rows` when a retry found rows already stored. */
  sent: [info: { rows: number; ticks: number; inserted: number }];
  /** Rows the server refused for good; they were dropped. */
  error: [error: AldDbError, info: { rows: number; ticks: number }];
  /** The buffer was full; the new tick was dropped. */
  overflow: [error: AldDbError, info: { rows: number; bufferedRows: number }];
  /** A call failed transiently; the rows stay buffered and are resent after delayMs. */
  retry: [error: AldDbError, info: { attempt: number; delayMs: number; rows: number }];
}

/** Codes that concern the process rather than the rows: no tick of the call can ever succeed. */
const PROCESS_LEVEL = new Set(['P0002', '42501', '22004']);

interface FlushWaiter {
  /** The ticks this flush answers for: since < seq <= target. */
  since: number;
  target: number;
  /** The first error that dropped one of them. */
  error?: AldDbError;
  resolve: () => void;
  reject: (error: AldDbError) => void;
  timer: NodeJS.Timeout;
}

export class Recorder extends Emitter<RecorderEvents> {
  /** Rows stored (acknowledged by the database). */
  sent = 0;
  /** Calls repeated after a transient failure. */
  retried = 0;
  /** Rows given up: refused for good, refused by a full buffer, or left unsent at close(). */
  dropped = 0;
  /** NaN/±Infinity readings sent as null. */
  nonFinite = 0;
  private bufferedRows = 0;
  private readonly queue: Tick[] = [];
  private seq = 0;
  private sending = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private lastError: AldDbError | undefined;
  /** While the head of the queue is at or below this seq, send at most tickLimit ticks per call. */
  private isolateUntil = 0;
  private tickLimit = Infinity;
  /** The first error that dropped a tick recorded after the last flush() call. */
  private openWindowError: AldDbError | undefined;
  private lastFlushTarget = 0;
  private waiters: FlushWaiter[] = [];
  /** record() refused from now on. */
  private closed = false;
  /** Nothing is sent any more: close() has finished flushing (or gave up). */
  private stopped = false;
  private readonly clock = new TickClock();
  private readonly options: Required<RecorderOptions>;

  /** The process recorded by a process recorder; null for a machine recorder. */
  readonly processId: string | null;
  /** The machine recorded by a machine recorder; null for a process recorder. */
  readonly machineId: string | null;
  private readonly rpcName: 'record_readings' | 'record_process_data';

  constructor(
    target: RecorderTarget,
    private readonly rpc: RpcClient,
    private readonly metrics: Metrics,
    options: RecorderOptions = {},
    private readonly onClose: (recorder: Recorder) => void = () => {},
  ) {
    super();
    this.processId = 'processId' in target ? target.processId : null;
    this.machineId = 'machineId' in target ? target.machineId : null;
    this.rpcName = this.machineId !== null ? 'record_readings' : 'record_process_data';
    this.options = {
      maxBufferedRows: options.maxBufferedRows ?? 137 * 3600,
      maxRowsPerCall: options.maxRowsPerCall ?? 20_000,
      retryBaseMs: options.retryBaseMs ?? 200,
      retryMaxMs: options.retryMaxMs ?? 5000,
      flushTimeoutMs: options.flushTimeoutMs ?? 60_000,
    };
  }

  /** Rows buffered, the call in flight included. */
  get buffered(): number {
    return this.bufferedRows;
  }

  get bufferedTicks(): number {
    return this.queue.length;
  }

  /**
   * Records one tick. Never blocks and never throws for the database's sake; it throws only for
   * misuse (ALD_INVALID_ARGUMENT, ALD_CLOSED). `ts` defaults to now, microseconds included.
   */
  record(readings: Readings, ts?: Date | number | string): void {
    if (this.closed) throw closedError('record', 'the recorder');
    const counter = { nonFinite: 0 };
    const tick = toTick(readings, this.seq + 1, ts === undefined ? this.clock.next() : timestampOf(ts), counter);
    if (this.machineId !== null && new Set(tick.ids).size !== tick.ids.length) {
      throw invalidArgument('record', 'a tick may carry each parameter once', tick.ids.length);
    }
    this.seq = tick.seq;
    if (counter.nonFinite > 0) {
      this.nonFinite += counter.nonFinite;
      this.metrics.nonFinite(counter.nonFinite);
    }
    const rows = tick.ids.length;
    if (rows === 0) return this.settle();
    if (this.bufferedRows + rows > this.options.maxBufferedRows) {
      const error = new AldDbError({
        code: 'ALD_BUFFER_FULL', operation: this.rpcName,
        message: `recorder buffer full: ${this.bufferedRows} of ${this.options.maxBufferedRows} rows buffered, so the tick of ${rows} rows at ${tick.ts} was dropped`,
        details: `dropped ${rows} rows; ${this.dropped + rows} dropped so far`,
        hint: 'the database has been unreachable for a while; raise maxBufferedRows to hold longer outages',
      });
      this.drop([tick], error, 'overflow');
      this.emit('overflow', error, { rows, bufferedRows: this.bufferedRows });
      return this.settle();
    }
    this.queue.push(tick);
    this.bufferedRows += rows;
    queueMicrotask(() => void this.pump());
  }

  /**
   * Resolves once every tick recorded before this call is stored. Rejects with the error that
   * dropped any of them (recorded since the previous flush), or ALD_TIMEOUT after timeoutMs
   * (its cause is the last error seen), in which case the rows stay buffered.
   */
  flush(options: { timeoutMs?: number } = {}): Promise<void> {
    const since = this.lastFlushTarget;
    const target = this.seq;
    const error = this.openWindowError;
    this.lastFlushTarget = target;
    this.openWindowError = undefined;
    return new Promise<void>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.options.flushTimeoutMs;
      const waiter: FlushWaiter = {
        since, target, error, resolve, reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          this.handOver(waiter);
          reject(new AldDbError({
            code: 'ALD_TIMEOUT', operation: 'flush', cause: this.lastError,
            message: `flush did not complete within ${timeoutMs} ms; ${this.bufferedRows} rows are still buffered`,
            details: this.lastError ? `last error: ${this.lastError.code} ${this.lastError.message}` : null,
          }));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
      this.settle();
    });
  }

  /**
   * A flush gave up before its ticks settled: the next flush (or the next window) answers for
   * them instead, so a tick dropped later is still reported by a flush.
   */
  private handOver(waiter: FlushWaiter): void {
    const next = this.waiters.find((w) => w.since === waiter.target);
    if (next) {
      next.since = waiter.since;
      next.error ??= waiter.error;
    } else if (this.lastFlushTarget === waiter.target) {
      this.lastFlushTarget = waiter.since;
      this.openWindowError = waiter.error ?? this.openWindowError;
    }
  }

  /** Flushes, then stops. Rows still unsent when the flush fails are counted as dropped. */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.flush(options);
    } finally {
      this.stopped = true;
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      // A call still in flight finishes on its own and then drops whatever is left.
      if (!this.sending) this.dropRemaining();
      this.onClose(this);
    }
  }

  /** Sends the head of the queue; called after every record() and after every call. */
  private async pump(): Promise<void> {
    if (this.stopped) return this.dropRemaining();
    if (this.sending || this.retryTimer !== undefined || this.queue.length === 0) return;
    this.sending = true;
    const batch = this.takeBatch();
    const rows = batch.reduce((n, t) => n + t.ids.length, 0);
    let again = true;
    try {
      const inserted = this.machineId !== null
        // record_readings counts new ticks; every tick of the call carries the same parameters
        ? Number(await this.rpc.once<number>('record_readings', toMachineCallArgs(this.machineId, batch))) * batch[0].ids.length
        : Number(await this.rpc.once<number>('record_process_data', toCallArgs(this.processId as string, batch)));
      this.attempt = 0;
      this.remove(batch.length, rows);
      this.sent += rows;
      this.metrics.rowsSent(rows);
      this.emit('sent', { rows, ticks: batch.length, inserted });
    } catch (error) {
      const e = error instanceof AldDbError ? error : new AldDbError({ code: 'ALD_UNEXPECTED', message: String(error), cause: error });
      this.lastError = e;
      if (this.stopped) {
        // close() has given up on this data; the next pump() drops what is left.
      } else if (isTransient(e) && !this.rpc.isClosed) {
        const delayMs = backoffDelay(this.attempt++, { baseMs: this.options.retryBaseMs, maxMs: this.options.retryMaxMs });
        this.retried++;
        this.metrics.recorderRetried();
        this.emit('retry', e, { attempt: this.attempt, delayMs, rows });
        again = false;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          void this.pump();
        }, delayMs);
      } else if (batch.length > 1 && !PROCESS_LEVEL.has(String(e.code))) {
        // Find the ticks that fail alone: resend this batch in halves.
        this.isolateUntil = batch[batch.length - 1].seq;
        this.tickLimit = Math.ceil(batch.length / 2);
      } else {
        this.queue.splice(0, batch.length);
        this.bufferedRows -= rows;
        this.drop(batch, e, 'rejected');
        this.emit('error', e, { rows, ticks: batch.length });
      }
    } finally {
      this.sending = false;
      this.settle();
    }
    if (again) void this.pump();
  }

  /** The ticks of the next call: from the head, up to maxRowsPerCall rows, at least one tick. */
  private takeBatch(): Tick[] {
    if (this.queue[0].seq > this.isolateUntil) this.tickLimit = Infinity;
    const batch: Tick[] = [];
    let rows = 0;
    for (const tick of this.queue) {
      if (batch.length > 0 && (rows + tick.ids.length > this.options.maxRowsPerCall || batch.length >= this.tickLimit)) break;
      if (batch.length > 0 && this.tickLimit !== Infinity && tick.seq > this.isolateUntil) break;
      if (batch.length > 0 && this.machineId !== null && !sameColumns(batch[0], tick)) break;
      batch.push(tick);
      rows += tick.ids.length;
    }
    return batch;
  }

  private remove(ticks: number, rows: number): void {
    this.queue.splice(0, ticks);
    this.bufferedRows -= rows;
  }

  private dropRemaining(): void {
    if (this.queue.length === 0) return;
    const ticks = this.queue.splice(0);
    this.bufferedRows = 0;
    this.drop(ticks, this.lastError ?? closedError(this.rpcName, 'the recorder'), 'closed');
    this.settle();
  }

  /** Counts dropped ticks and charges the error to the flush that answers for each of them. */
  private drop(ticks: Tick[], error: AldDbError, reason: 'rejected' | 'overflow' | 'closed'): void {
    const rows = ticks.reduce((n, t) => n + t.ids.length, 0);
    this.dropped += rows;
    this.metrics.rowsDropped(rows, reason);
    for (const tick of ticks) {
      if (tick.seq > this.lastFlushTarget) {
        this.openWindowError ??= error;
      } else {
        const waiter = this.waiters.find((w) => w.since < tick.seq && tick.seq <= w.target);
        if (waiter) waiter.error ??= error;
      }
    }
  }

  /** Resolves or rejects the flushes whose ticks are all settled. */
  private settle(): void {
    const settled = this.queue.length > 0 ? this.queue[0].seq - 1 : this.seq;
    const done = this.waiters.filter((w) => w.target <= settled);
    if (done.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.target > settled);
    for (const w of done) {
      clearTimeout(w.timer);
      if (w.error) w.reject(w.error);
      else w.resolve();
    }
  }
}
