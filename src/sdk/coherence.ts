// What vouches for the parameter cache's memory, one driver per transport.
//
// ListenCoherence (direct transport): the database NOTIFYs every committed change of a parameter
// row. While the LISTEN session is up and the resync that followed its (re)start has completed,
// every change is heard, so memory is served. Session lost: nothing is served from memory (reads
// go to the database) until the session is back and all cached ids were refetched in one call.
// Staleness: the NOTIFY delivery delay (milliseconds), not a timer.
//
// EpochCoherence (supabase transport, no LISTEN over HTTP): every machine has an epoch row that
// moves on any change of its parameters. Before a row is served from memory, the epoch of its
// machine must have been checked by a call that started less than epochCheckMs ago; otherwise the
// epochs of all cached machines are read in one call first, and a machine whose epoch moved (or
// is seen for the first time) has its cached rows refetched in one call.
// Staleness bound: a row served from memory reflects every change committed before the start of
// an epoch check of its machine that began at most epochCheckMs (default 1000 ms) earlier.
import type { ParameterChange, ParameterChangeListener } from './listener.ts';
import type { AldDbError } from './errors.ts';
import type { ParameterCache } from './parameter-cache.ts';
import { backoffDelay, sleep, type BackoffOptions } from './retry.ts';

/** What vouches for the cache's memory; owned by AldDb, which stops it on close(). */
export interface CoherenceDriver {
  start(): void;
  /** Nothing is served from memory any more and no background work is started. */
  stop(): void;
}

export class ListenCoherence implements CoherenceDriver {
  private resyncing: Promise<void> | undefined;
  private stopped = false;
  private readonly onChange = (change: ParameterChange) => this.cache.applyChange(change);
  private readonly onDown = (_error: AldDbError) => this.cache.suspend();
  private readonly onUp = () => {
    if (this.stopped) return;
    this.resyncing ??= this.resyncWhileUp().finally(() => (this.resyncing = undefined));
  };

  constructor(
    private readonly cache: ParameterCache,
    private readonly listener: ParameterChangeListener,
    private readonly backoff: BackoffOptions,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    this.cache.setGate(() => this.cache.coherent);
    this.listener.on('change', this.onChange);
    this.listener.on('down', this.onDown);
    this.listener.on('up', this.onUp);
    this.listener.start();
  }

  /** Stops resyncing and hearing changes; the listener itself is closed by its owner. */
  stop(): void {
    this.stopped = true;
    this.listener.off('change', this.onChange);
    this.listener.off('down', this.onDown);
    this.listener.off('up', this.onUp);
    this.cache.setGate(() => false);
    this.cache.suspend();
  }

  /** Resync after (re)subscribing; retried with backoff while the session stays up. */
  private async resyncWhileUp(): Promise<void> {
    for (let attempt = 0; !this.stopped && this.listener.subscribed && !this.cache.coherent; attempt++) {
      try {
        if (await this.cache.resync()) return;
      } catch (error) {
        this.onError(error);
        await sleep(backoffDelay(attempt, this.backoff));
      }
    }
  }
}

export interface EpochRow {
  machine_id: string;
  epoch: number | string;
}

export class EpochCoherence implements CoherenceDriver {
  /** Last epoch seen per machine. */
  private readonly known = new Map<string, number>();
  /** When the last successful check that covered the machine started (cache clock). */
  private readonly checkedAt = new Map<string, number>();
  private inFlight: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly cache: ParameterCache,
    private readonly fetchEpochs: (machineIds: string[]) => Promise<EpochRow[]>,
    private readonly epochCheckMs: number,
    private readonly now: () => number,
  ) {}

  start(): void {
    this.cache.vouch();
    this.cache.setGate((ids) => this.ensureFresh(ids));
  }

  /** No more epoch checks; nothing is served from memory. */
  stop(): void {
    this.stopped = true;
    this.cache.setGate(() => false);
    this.cache.suspend();
  }

  /**
   * True when memory may be served for `ids`; checks the epochs first when the last check of one
   * of their machines is too old.
   */
  ensureFresh(ids: readonly string[]): boolean | Promise<boolean> {
    // Nothing cached: every read is a miss whatever the epochs say, so do not spend a round trip.
    // And nothing in memory needs vouching for: rows fetched from now on may be kept (the next
    // check compares their machines' epochs with the last ones seen).
    if (this.stopped) return false;
    if (this.cache.size === 0) {
      if (!this.inFlight) this.cache.vouch();
      return this.cache.coherent;
    }
    if (this.isFresh(ids)) return true;
    this.inFlight ??= this.check().finally(() => (this.inFlight = undefined));
    // Rows stored while the check ran may belong to a machine it did not cover: ask again.
    return this.inFlight.then(() => this.isFresh(ids), () => false);
  }

  private isFresh(ids: readonly string[]): boolean {
    if (!this.cache.coherent) return false;
    const now = this.now();
    for (const id of ids) {
      const entry = this.cache.peek(id);
      if (!entry) continue; // a miss whatever the epochs say
      const checked = this.checkedAt.get(entry.row.machine_id);
      if (checked === undefined || now - checked >= this.epochCheckMs) return false;
    }
    return true;
  }

  private async check(): Promise<void> {
    const started = this.now();
    const machines = this.cache.machineIds();
    const rows = await this.fetchEpochs(machines);
    const epochs = new Map(rows.map((row) => [row.machine_id, Number(row.epoch)]));
    const changed = new Set<string>();
    for (const machine of machines) {
      // No epoch row yet means nothing ever changed: epoch 0. A machine seen for the first time
      // counts as changed: its rows may predate the epoch now read.
      const epoch = epochs.get(machine) ?? 0;
      if (this.known.get(machine) !== epoch) changed.add(machine);
      this.known.set(machine, epoch);
    }
    const wasCoherent = this.cache.coherent;
    if (changed.size > 0 || !wasCoherent) {
      // After an interrupted resync nothing is vouched for any more: refetch everything.
      const ids = wasCoherent ? this.cache.idsOfMachines(changed) : this.cache.ids();
      this.cache.suspend();
      try {
        if (!(await this.cache.resync(ids))) throw new Error('resync interrupted');
      } catch (error) {
        // Forget these epochs so the next check sees the machines as changed and resyncs again.
        for (const machine of changed) this.known.delete(machine);
        throw error;
      }
    }
    for (const machine of machines) this.checkedAt.set(machine, started);
  }
}
