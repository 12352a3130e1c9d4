// IsolateCache: the parameter cache of an Edge Function isolate (the SDK's is another class,
// src/sdk/parameter-cache.ts). Pure: no database, no clock but the injected one; the parameters
// function drives it. Three maps:
//   rows     VersionedStore of parameter rows shared by everyone: a version never goes backwards,
//            so a late reply cannot undo a newer row (e.g. one written through set-parameter).
//   entries  answers to queries, per principal: the ids a caller was shown and the epoch of each
//            machine those rows came from. Per principal because RLS decides what a query returns,
//            so one user's answer is never served to another.
//   epochs   per machine, the newest machine_parameter_epochs.epoch seen.
//   checked  per principal and machine, when that principal last read the machine's epoch.
// An entry is served while it is younger than the TTL, its rows are cached, and every machine's
// epoch equals the one it was filled at. Epochs the entry's principal has not read for
// epochCheckMs are re-read, as that principal (one query for all of them, shared by that
// principal's concurrent requests), before serving: that bounds staleness AND access. The check
// time is per principal because the epoch read goes through RLS: another user's check (or write)
// says nothing about whether this one may still read the machine, so a revoked user gets nothing
// from memory later than epochCheckMs plus one round trip after the revocation (issue 14, finding 1).
import { VersionedStore } from '../../src/sdk/versioned-store.ts';
import type { ParameterRow } from './parameter-row.ts';

export interface IsolateCacheOptions {
  ttlMs?: number;
  refreshAfterMs?: number;
  epochCheckMs?: number;
  maxEntries?: number;
  /** Answers one principal may hold (default maxEntries / 4): one user cannot evict everyone's. */
  maxEntriesPerPrincipal?: number;
  now?: () => number;
}

export interface CacheEntry {
  readonly principal: string;
  readonly key: string;
  readonly ids: readonly string[];
  /** machine id → epoch the rows were read at. */
  readonly epochs: Map<string, number>;
  readonly storedAt: number;
}

/** Epochs read around a write, in the write's transaction (see noteWrite). */
export interface WriteProbe {
  epochBefore: number;
  epochAfter: number;
  versionBefore: number;
}

export class IsolateCache {
  readonly ttlMs: number;
  readonly refreshAfterMs: number;
  readonly epochCheckMs: number;
  readonly maxEntries: number;
  readonly maxEntriesPerPrincipal: number;
  readonly rows: VersionedStore<ParameterRow>;
  private readonly now: () => number;
  private readonly entries = new Map<string, CacheEntry>();
  private readonly epochs = new Map<string, number>();
  /** `${principal}\n${machine}` → when that principal last read that machine's epoch. */
  private readonly checked = new Map<string, number>();
  /** Epoch reads in flight, by `${principal}\n${machine}`. */
  private readonly epochChecks = new Map<string, Promise<void>>();
  private readonly refreshing = new Set<string>();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(options: IsolateCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 300_000;
    this.refreshAfterMs = options.refreshAfterMs ?? 60_000;
    this.epochCheckMs = options.epochCheckMs ?? 1_000;
    this.maxEntries = options.maxEntries ?? 1_000;
    this.maxEntriesPerPrincipal = options.maxEntriesPerPrincipal ?? Math.max(1, Math.floor(this.maxEntries / 4));
    this.now = options.now ?? Date.now;
    this.rows = new VersionedStore<ParameterRow>({ ttlMs: this.ttlMs, now: this.now });
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry for principal+key if it is within its TTL and all its rows are cached. */
  lookup(principal: string, key: string): CacheEntry | undefined {
    const entry = this.entries.get(`${principal}\n${key}`);
    if (!entry) return undefined;
    const fresh = this.now() - entry.storedAt <= this.ttlMs && entry.ids.every((id) => this.rows.get(id) !== undefined);
    if (!fresh) this.entries.delete(`${principal}\n${key}`);
    return fresh ? entry : undefined;
  }

  /** Machines of the entry whose epoch its principal has not read within epochCheckMs. */
  dueMachines(entry: CacheEntry): string[] {
    const now = this.now();
    return [...entry.epochs.keys()].filter((m) => {
      const at = this.checked.get(`${entry.principal}\n${m}`);
      return at === undefined || !this.epochs.has(m) || now - at >= this.epochCheckMs;
    });
  }

  /** Records that principal read machine's epoch now (Map order: oldest first, bounded). */
  private markChecked(principal: string, machine: string, at: number): void {
    const id = `${principal}\n${machine}`;
    this.checked.delete(id);
    this.checked.set(id, at);
    while (this.checked.size > this.maxEntries * 4) this.checked.delete(this.checked.keys().next().value!);
  }

  /**
   * Makes sure the epochs of `machines` are fresh for `principal`. Machines already being checked
   * by another request of the same principal are awaited, not read twice; the rest are read with
   * one call of `read`, which returns the epochs visible to `principal` (a machine missing from it
   * is no longer visible to them). Another principal's read is never borrowed: it proves nothing
   * about this one's access.
   */
  async checkEpochs(
    principal: string,
    machines: readonly string[],
    read: (ids: string[]) => Promise<Map<string, number>>,
  ): Promise<void> {
    const waits: Promise<void>[] = [];
    const mine: string[] = [];
    const keyOf = (m: string) => `${principal}\n${m}`;
    for (const m of machines) {
      const running = this.epochChecks.get(keyOf(m));
      if (running) waits.push(running);
      else mine.push(m);
    }
    if (mine.length > 0) {
      const check = read(mine).then((found) => this.applyEpochs(principal, mine, found));
      const done = check.finally(() => {
        for (const m of mine) if (this.epochChecks.get(keyOf(m)) === done) this.epochChecks.delete(keyOf(m));
      });
      for (const m of mine) this.epochChecks.set(keyOf(m), done);
      waits.push(done);
    }
    await Promise.all(waits);
  }

  private applyEpochs(principal: string, checked: readonly string[], found: Map<string, number>): void {
    const now = this.now();
    for (const m of checked) {
      const epoch = found.get(m);
      if (epoch === undefined) {
        // Gone, or hidden from this caller now: their answers about it must be fetched again.
        this.checked.delete(`${principal}\n${m}`);
        for (const [k, e] of this.entries) if (e.principal === principal && e.epochs.has(m)) this.entries.delete(k);
      } else {
        this.raiseEpoch(m, epoch);
        this.markChecked(principal, m, now);
      }
    }
  }

  /** An epoch only moves forward here, so a slow reply cannot make an outdated entry current again. */
  private raiseEpoch(machine: string, epoch: number): void {
    const known = this.epochs.get(machine);
    this.epochs.set(machine, Math.max(epoch, known ?? epoch));
  }

  /** True when the entry is still kept and no machine of it changed since it was filled. */
  isCurrent(entry: CacheEntry): boolean {
    // Dropped meanwhile (its principal no longer sees one of its machines, or a newer answer
    // replaced it): never current, whatever the epochs say.
    if (this.entries.get(`${entry.principal}\n${entry.key}`) !== entry) return false;
    for (const [m, epoch] of entry.epochs) if (this.epochs.get(m) !== epoch) return false;
    return true;
  }

  /** The entry's rows in its order, each at the newest version this isolate knows. */
  rowsOf(entry: CacheEntry): ParameterRow[] {
    return entry.ids.map((id) => this.rows.peek(id)!.row);
  }

  /**
   * Stores the rows of a fresh read and, when every row's machine epoch was read with them, the
   * answer itself. `epochs` must have been read no later than the rows (the same statement or an
   * earlier one): then a change in between shows as a newer epoch and costs a refetch, never a
   * stale answer. Returns the rows to serve (newer cached versions win) and whether it was stored.
   */
  fill(
    principal: string,
    key: string,
    rows: readonly ParameterRow[],
    epochs: Map<string, number>,
  ): { rows: ParameterRow[]; stored: boolean } {
    const now = this.now();
    for (const row of rows) this.rows.put(row);
    for (const [m, epoch] of epochs) {
      this.raiseEpoch(m, epoch);
      this.markChecked(principal, m, now); // read as this principal, with the rows
    }
    const served = rows.map((row) => this.rows.peek(row.id)?.row ?? row);
    // Without an epoch for every machine nothing could tell when the answer goes stale.
    const stored = epochs.size > 0 && rows.every((row) => epochs.has(row.machine_id));
    const id = `${principal}\n${key}`;
    this.entries.delete(id); // a newer answer replaces the old one even when it cannot be kept
    if (stored) {
      // Re-inserted at the end: Map order is the eviction order.
      this.entries.set(id, { principal, key, ids: rows.map((r) => r.id), epochs: new Map(epochs), storedAt: now });
      // A principal over its share gives up its own oldest answer first (issue 14: one user's many
      // distinct queries evicted every other user's answers); then the global bound, oldest first.
      let own = 0;
      for (const e of this.entries.values()) if (e.principal === principal) own += 1;
      for (const [k, e] of this.entries) {
        if (own <= this.maxEntriesPerPrincipal) break;
        if (e.principal === principal) {
          this.entries.delete(k);
          own -= 1;
        }
      }
      while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    return { rows: served, stored };
  }

  /**
   * A write through this isolate returned `row`: later reads serve it at once. With a probe (the
   * machine epoch before and after, and the row's version before, all read in the write's
   * transaction) entries that were current stay current: when the epoch moved by exactly one and
   * that one change is this row's, nothing else of the machine changed, and the row is cached.
   */
  noteWrite(row: ParameterRow, probe?: WriteProbe): void {
    this.rows.put(row);
    if (!probe) return;
    const m = row.machine_id;
    const onlyThisRow = probe.epochAfter === probe.epochBefore + 1 && row.version === probe.versionBefore + 1;
    if (onlyThisRow) {
      for (const entry of this.entries.values()) {
        if (entry.epochs.get(m) === probe.epochBefore) entry.epochs.set(m, probe.epochAfter);
      }
    }
    // The epoch moves for everyone, but nobody's check time: a write proves nothing about who
    // may still read the machine.
    this.raiseEpoch(m, probe.epochAfter);
  }

  drop(principal: string, key: string): void {
    this.entries.delete(`${principal}\n${key}`);
  }

  /** Whole seconds the entry may still be served (RFC 9211 `ttl`). */
  ttlSeconds(entry: CacheEntry): number {
    return Math.max(0, Math.floor((this.ttlMs - (this.now() - entry.storedAt)) / 1000));
  }

  /** True when the entry is old enough to be refreshed in the background. */
  wantsRefresh(entry: CacheEntry): boolean {
    return this.now() - entry.storedAt >= this.refreshAfterMs;
  }

  /**
   * Claims the background refresh of principal+key; false when one is already running.
   * The task is tracked until it settles (see idle()).
   */
  startRefresh(principal: string, key: string, task: () => Promise<unknown>): Promise<unknown> | undefined {
    const id = `${principal}\n${key}`;
    if (this.refreshing.has(id)) return undefined;
    this.refreshing.add(id);
    const running = task().finally(() => {
      this.refreshing.delete(id);
      this.pending.delete(running);
    });
    this.pending.add(running);
    return running;
  }

  /** Resolves when no background refresh is running (tests, and shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Forget every entry and epoch (rows keep their version floor). */
  clear(): void {
    this.entries.clear();
    this.epochs.clear();
    this.checked.clear();
    this.rows.clear();
  }
}
