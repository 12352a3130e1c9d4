// The machine's recorder through the journal (issue 16): journal.recorder(machineId) has
// db.recorder's API, but every tick is journaled (durable on local disk) before record() returns
// and drained by record_readings in journal order, whether or not a run is open.
//
// - record(readings, ts?) validates and journals one tick (0 round trips). It returns false when
//   the journal holds maxPendingBytes (the journal's 'full' alarm and this recorder's 'overflow'
//   event, ALD_JOURNAL_FULL; the rows are counted in `dropped`). NaN/±Infinity become null.
// - The drain merges consecutive ticks of the machine with the same parameters (same order, set
//   points or none alike) into one record_readings call per batch: whole ticks as a slice of
//   apply_journal's row arrays. Idempotent on (machine, tick time): a resent tick is stored once.
// - Events: 'sent' (ticks stored, once the database acknowledged them), 'error' (a tick the
//   database refused for good; it stays in the journal's refused table), 'overflow' (journal full),
//   'retry' (a drain call failed; everything stays on disk and is resent).
// - flush() resolves once every tick recorded before it is in the database, and rejects with the
//   first error (refusal, overflow) since the previous flush. close() flushes and detaches; unlike
//   db.recorder's close() it drops nothing: what is not drained stays in the journal for the next
//   open of the same file.
import { AldDbError, closedError, invalidArgument } from './errors.ts';
import { Emitter } from './emitter.ts';
import type { AppliedInfo, Journal, RefusedInfo } from './journal.ts';
import { TickClock, timestampOf, toTick, type Readings } from './recorder-ticks.ts';
import type { RecorderEvents } from './recorder.ts';
import { requireUuid } from './validate.ts';

export class JournaledRecorder extends Emitter<RecorderEvents> {
  /** Rows stored (acknowledged by the database). */
  sent = 0;
  /** Rows refused: by a full journal, or by the database for good. */
  dropped = 0;
  /** NaN/±Infinity readings journaled as null. */
  nonFinite = 0;
  /** Drain calls retried while this recorder was open (the journal's, for every kind). */
  retried = 0;
  private closed = false;
  private detached = false;
  private windowError: AldDbError | undefined;
  private readonly clock = new TickClock();
  private readonly onApplied = (info: AppliedInfo) => {
    if (info.kind !== 'record_readings' || info.args.machine_id !== this.machineId) return;
    const np = (info.args.ids as string[] | undefined)?.length ?? 0;
    this.sent += info.rows;
    this.emit('sent', { rows: info.rows, ticks: info.seqs.length, inserted: Number(info.result ?? 0) * np });
  };
  private readonly onRefused = (error: AldDbError, info: RefusedInfo) => {
    if (info.kind !== 'record_readings' || info.machineId !== this.machineId) return;
    this.dropped += info.rows;
    this.windowError ??= error;
    this.emit('error', error, { rows: info.rows, ticks: 1 });
  };
  private readonly onRetry = (error: AldDbError, info: { attempt: number; delayMs: number; entries: number }) => {
    this.retried++;
    this.emit('retry', error, { attempt: info.attempt, delayMs: info.delayMs, rows: this.journal.store.pendingRows });
  };

  constructor(readonly machineId: string, private readonly journal: Journal, private readonly onClose: (r: JournaledRecorder) => void) {
    super();
    requireUuid('recorder', 'a machine id', machineId);
    journal.on('applied', this.onApplied);
    journal.on('refused', this.onRefused);
    journal.on('retry', this.onRetry);
  }

  /**
   * Journals one tick (durable when it returns; no round trip). Throws only for misuse
   * (ALD_INVALID_ARGUMENT, ALD_CLOSED). Returns false when the journal is full.
   */
  record(readings: Readings, ts?: Date | number | string): boolean {
    if (this.closed) throw closedError('record', 'the recorder');
    if (this.journal.isClosed) throw closedError('record', 'the journal');
    const counter = { nonFinite: 0 };
    const tick = toTick(readings, 0, ts === undefined ? this.clock.next() : timestampOf(ts), counter);
    if (new Set(tick.ids).size !== tick.ids.length) throw invalidArgument('record', 'a tick may carry each parameter once', tick.ids.length);
    this.nonFinite += counter.nonFinite;
    const rows = tick.ids.length;
    if (rows === 0) return true;
    if (!this.journal.admitTick(rows)) {
      this.dropped += rows;
      const error = this.journal.lastFullError as AldDbError;
      this.windowError ??= error;
      this.emit('overflow', error, { rows, bufferedRows: this.journal.store.pendingRows });
      return false;
    }
    this.journal.append('record_readings', { machine_id: this.machineId, ts: tick.ts, ids: tick.ids, values: tick.values, setPoints: tick.setPoints }, rows);
    return true;
  }

  /**
   * Resolves once every tick recorded before this call is in the database (the journal drained up
   * to here). Rejects with the first error (a refused tick, a full journal) since the previous
   * flush, or ALD_TIMEOUT after timeoutMs (the ticks stay journaled).
   */
  async flush(options: { timeoutMs?: number } = {}): Promise<void> {
    await this.journal.flush(options);
    const error = this.windowError;
    this.windowError = undefined;
    if (error) throw error;
  }

  /** Refuses further ticks, flushes, and detaches from the journal. Nothing is dropped. */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (!this.journal.isClosed) await this.flush(options);
    } finally {
      this.detach();
    }
  }

  /** @internal Stops listening to the journal (its close()). */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.closed = true;
    this.journal.off('applied', this.onApplied);
    this.journal.off('refused', this.onRefused);
    this.journal.off('retry', this.onRetry);
    this.onClose(this);
  }
}
