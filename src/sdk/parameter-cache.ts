// The controller's parameter cache (docs/design.md §6): rows by id with their version, served from
// memory only while the cache knows it would hear of every change.
//
// Two rules make it safe:
//  1. A version never goes backwards (src/versioned-store.ts): a late reply carrying version 4
//     cannot replace version 5, and a change announced for version 5 keeps any reply below 5 out,
//     even one that was already in flight when the announcement came.
//  2. Coherence is explicit. `coherent` is true only while a coherence driver (src/coherence.ts)
//     vouches for memory (vouch(), or a completed resync()): the LISTEN session is up and the
//     resync after it has completed, or the epoch check is recent. A generation counter moves
//     whenever that guarantee was interrupted (suspend()); a fetch stores its rows only if it
//     started coherent and finished in the same generation, because a change made while nobody
//     listened may postdate the rows it fetched. Only the cache's own methods change these.
//
// Concurrent misses of one tick are coalesced into one get_parameters call by DataLoader
// (batched per tick, its own cache off: the store is the cache).
import DataLoader from 'dataloader';
import { Emitter } from './emitter.ts';
import type { ParameterChange } from './listener.ts';
import type { Metrics } from './metrics.ts';
import type { Parameter } from './types.ts';
import { VersionedStore, type StoreEntry } from './versioned-store.ts';

/** The database's limit on ids per get_parameters call. */
export const MAX_IDS_PER_CALL = 10_000;

export interface ParameterCacheOptions {
  /** Backstop: rows older than this are not served (default 300 000 ms). */
  ttlMs: number;
  /** Rows read recently are refetched in one bulk call this often (default 60 000 ms). */
  hotRefreshMs: number;
  /** Clock, injectable for tests. */
  now: () => number;
}

export interface InvalidateEvent extends ParameterChange {
  /** Whether a cached row was dropped (false: not cached, or already at that version). */
  dropped: boolean;
}

export interface CacheEvents {
  invalidate: [event: InvalidateEvent];
  resync: [event: { ids: number; rows: number }];
  refresh: [event: { ids: number; rows: number }];
}

export type FetchParameters = (ids: string[]) => Promise<Parameter[]>;
/** Whether memory may be served right now for these ids; may first check epochs (HTTP transport). */
export type CoherenceGate = (ids: readonly string[]) => boolean | Promise<boolean>;

export class ParameterCache extends Emitter<CacheEvents> {
  private readonly store: VersionedStore<Parameter>;
  /** Memory may be served (subject to the gate). */
  private isCoherent = false;
  /** Moves whenever coherence was interrupted; fetches across a move are not stored. */
  private generation = 0;
  private gate: CoherenceGate = () => this.isCoherent;
  private readonly loader: DataLoader<string, Parameter | null>;
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(private readonly fetchRows: FetchParameters, private readonly metrics: Metrics, private readonly options: ParameterCacheOptions) {
    super();
    this.store = new VersionedStore<Parameter>({ ttlMs: options.ttlMs, now: options.now });
    this.loader = new DataLoader((ids) => this.loadBatch(ids), { cache: false, maxBatchSize: MAX_IDS_PER_CALL });
  }

  setGate(gate: CoherenceGate): void {
    this.gate = gate;
  }

  /** Whether memory may be served (subject to the gate): vouched for and not suspended since. */
  get coherent(): boolean {
    return this.isCoherent;
  }

  /** Rows held in memory. */
  get size(): number {
    return this.store.size;
  }

  /** A coherence driver vouches for memory from now on (until the next suspend()). */
  vouch(): void {
    this.isCoherent = true;
  }

  /** The entry of id as stored (whatever its age), without marking it read. */
  peek(id: string): StoreEntry<Parameter> | undefined {
    return this.store.peek(id);
  }

  /** Every id held in memory. */
  ids(): string[] {
    return this.store.ids();
  }

  /** Drops the row of id from memory; its version floor is kept, so older replies stay out. */
  forget(id: string): void {
    this.store.delete(id);
  }

  /** Starts the periodic bulk refresh; a failed refresh is reported and tried again next period. */
  startHotRefresh(onError: (error: unknown) => void): void {
    if (this.refreshTimer || !(this.options.hotRefreshMs > 0)) return;
    this.refreshTimer = setInterval(() => void this.refreshHot().catch(onError), this.options.hotRefreshMs);
    this.refreshTimer.unref();
  }

  stop(): void {
    clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  /** One parameter; null when no such parameter exists. */
  async get(id: string): Promise<Parameter | null> {
    const serve = await this.gate([id]);
    if (serve) {
      const row = this.store.get(id);
      if (row) {
        this.metrics.cacheHits(1);
        return row;
      }
    }
    this.metrics.cacheMisses(1, !serve);
    return this.loader.load(id);
  }

  /** Parameters in the order of `ids`; null where no such parameter exists. */
  async getMany(ids: readonly string[]): Promise<(Parameter | null)[]> {
    const serve = await this.gate(ids);
    const found = new Map<string, Parameter>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const row = serve ? this.store.get(id) : undefined;
      if (row) found.set(id, row);
      else missing.push(id);
    }
    this.metrics.cacheHits(found.size);
    this.metrics.cacheMisses(missing.length, !serve);
    if (missing.length > 0) {
      const loaded = await this.loader.loadMany(missing);
      loaded.forEach((row, i) => {
        if (row instanceof Error) throw row;
        if (row) found.set(missing[i], row);
      });
    }
    return ids.map((id) => found.get(id) ?? null);
  }

  /**
   * Runs a fetch and stores its rows if coherence held from its start to its end. Used for every
   * read that returns rows (misses, forMachine, forComponents) and for the SDK's own writes.
   */
  async fill<T>(fetch: () => Promise<T>, rowsOf: (result: T) => Parameter[]): Promise<T> {
    const generation = this.generation;
    const storable = this.isCoherent;
    const result = await fetch();
    this.absorb(rowsOf(result), storable && generation === this.generation);
    return result;
  }

  /** Rows known to be current; stored when allowed, otherwise only their versions are remembered. */
  absorb(rows: Parameter[], store: boolean): void {
    for (const row of rows) {
      if (store) this.store.put(row);
      else this.store.invalidate(row.id, Number(row.version));
    }
  }

  /** A change announced by the database (NOTIFY). */
  applyChange(change: ParameterChange): void {
    let dropped: boolean;
    if (change.op === 'DELETE') {
      dropped = this.store.peek(change.id) !== undefined;
      this.store.delete(change.id);
      // The deleted row carried `version`; a reply still in flight may carry it too.
      this.store.invalidate(change.id, change.version + 1);
    } else {
      dropped = this.store.invalidate(change.id, change.version);
    }
    if (dropped) this.metrics.cacheInvalidated();
    this.emit('invalidate', { ...change, dropped });
  }

  /** Coherence was interrupted: stop serving memory until a resync completes. */
  suspend(): void {
    this.isCoherent = false;
    this.generation++;
  }

  /**
   * Refetches `ids` (default: every cached id) in one call (chunks of 10 000), stores them, drops
   * the ids that no longer exist, and makes memory servable again, unless coherence was
   * interrupted again meanwhile. Returns false in that case.
   */
  async resync(ids: string[] = this.store.ids()): Promise<boolean> {
    const generation = this.generation;
    const rows = await this.fetchChunked(ids);
    if (generation !== this.generation) return false;
    const seen = new Set<string>();
    for (const row of rows) {
      this.store.put(row);
      seen.add(row.id);
    }
    for (const id of ids) if (!seen.has(id)) this.store.delete(id);
    this.isCoherent = true;
    this.metrics.cacheResynced();
    this.emit('resync', { ids: ids.length, rows: rows.length });
    return true;
  }

  /** Refetches the rows read during the last interval (one call), so hot rows never age out. */
  async refreshHot(): Promise<void> {
    if (!this.isCoherent) return;
    const ids = this.store.hotIds(this.options.hotRefreshMs, this.options.hotRefreshMs);
    if (ids.length === 0) return;
    const rows = await this.fill(() => this.fetchChunked(ids), (r) => r);
    this.emit('refresh', { ids: ids.length, rows: rows.length });
  }

  machineIds(): string[] {
    const machines = new Set<string>();
    for (const id of this.store.ids()) {
      const entry = this.store.peek(id);
      if (entry) machines.add(entry.row.machine_id);
    }
    return [...machines];
  }

  idsOfMachines(machineIds: ReadonlySet<string>): string[] {
    return this.store.ids().filter((id) => {
      const entry = this.store.peek(id);
      return entry !== undefined && machineIds.has(entry.row.machine_id);
    });
  }

  private async fetchChunked(ids: string[]): Promise<Parameter[]> {
    if (ids.length === 0) return [];
    if (ids.length <= MAX_IDS_PER_CALL) return this.fetchRows(ids);
    const rows: Parameter[] = [];
    for (let i = 0; i < ids.length; i += MAX_IDS_PER_CALL) rows.push(...(await this.fetchRows(ids.slice(i, i + MAX_IDS_PER_CALL))));
    return rows;
  }

  private async loadBatch(ids: readonly string[]): Promise<(Parameter | null)[]> {
    // DataLoader without its cache passes a key once per load() call: ask for each id once.
    const rows = await this.fill(() => this.fetchRows([...new Set(ids)]), (r) => r);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id) ?? null);
  }
}
