// A map of rows keyed by id, each carrying the `version` the database gave it.
// The one rule that makes every cache in ald-db safe: a version never goes backwards.
// A late reply carrying version 4 cannot overwrite an entry already at version 5, whichever
// order the network delivered them in.
//
// Pure TypeScript with no imports: the SDK (Node) and the Edge Functions (Deno) share it.

export interface Versioned {
  id: string;
  version: number | string;
}

export interface StoreEntry<T> {
  row: T;
  version: number;
  /** When the row was fetched from or confirmed by the database (ms since epoch). */
  storedAt: number;
  /** Last time a reader asked for it: "hot" entries are refreshed in bulk. */
  lastReadAt: number;
}

export interface VersionedStoreOptions {
  /** Entries older than this are not served (the backstop). Default 300 000 ms. */
  ttlMs?: number;
  /** Clock, injectable for tests. */
  now?: () => number;
}

export class VersionedStore<T extends Versioned> {
  readonly ttlMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, StoreEntry<T>>();
  /** Highest version seen per id, even after the entry was dropped: stale fills stay out. */
  private readonly floor = new Map<string, number>();

  constructor(options: VersionedStoreOptions = {}) {
    this.ttlMs = options.ttlMs ?? 300_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The fresh entry for id, or undefined when absent or past its TTL. Marks it as read. */
  get(id: string): T | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    const now = this.now();
    if (now - entry.storedAt > this.ttlMs) {
      this.entries.delete(id);
      return undefined;
    }
    entry.lastReadAt = now;
    return entry.row;
  }

  peek(id: string): StoreEntry<T> | undefined {
    return this.entries.get(id);
  }

  /**
   * Stores a row unless a newer version is known. Returns true when stored.
   * The same version stored again only refreshes storedAt (the database confirmed it).
   */
  put(row: T): boolean {
    const version = Number(row.version);
    if (!Number.isFinite(version)) throw new TypeError(`row.version must be a number, but got: ${String(row.version)}`);
    const floor = this.floor.get(row.id) ?? 0;
    if (version < floor) return false;
    const now = this.now();
    const current = this.entries.get(row.id);
    this.floor.set(row.id, version);
    this.entries.set(row.id, { row, version, storedAt: now, lastReadAt: current?.lastReadAt ?? now });
    return true;
  }

  /**
   * Another writer announced `version` for id. Drops the entry if it is older, and remembers
   * the version so that an in-flight read returning the old row cannot re-insert it.
   * Returns true when an entry was dropped.
   */
  invalidate(id: string, version?: number): boolean {
    if (version !== undefined) {
      if (version > (this.floor.get(id) ?? 0)) this.floor.set(id, version);
      const entry = this.entries.get(id);
      if (entry && entry.version >= version) return false;
    }
    return this.entries.delete(id);
  }

  /** The highest version ever seen for id (0 when none). */
  knownVersion(id: string): number {
    return this.floor.get(id) ?? 0;
  }

  delete(id: string): void {
    this.entries.delete(id);
  }

  /** Forget all rows; the version floor is kept so that late replies still cannot go backwards. */
  clear(): void {
    this.entries.clear();
  }

  /** Ids whose entries were read since `sinceMs` ago and were stored more than `olderThanMs` ago. */
  hotIds(olderThanMs: number, sinceMs = this.ttlMs): string[] {
    const now = this.now();
    const ids: string[] = [];
    for (const [id, e] of this.entries) {
      if (now - e.storedAt >= olderThanMs && now - e.lastReadAt <= sinceMs) ids.push(id);
    }
    return ids;
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }
}
