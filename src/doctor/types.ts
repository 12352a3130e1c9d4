// The findings of `ald-db doctor`, as plain JSON-serialisable data: the CLI prints them (text or
// --json) and the dashboard renders them. Units are in the names: *Percent is 0–100, *Ms is
// milliseconds, *Bytes is bytes. Counters come from the statistics views and count since their
// last reset (see DoctorReport.server.statsReset).

export interface DoctorOptions {
  /** Fail a table whose index-scan share is under this percentage. Default 95. */
  minIndexSharePercent?: number;
  /** ... but only when it holds more than this many live rows. Default 10 000. */
  minRows?: number;
  /** Schemas whose tables and indexes are checked. Default ['public']. */
  schemas?: string[];
  /** How many statements the pg_stat_statements check lists. Default 10. */
  topStatements?: number;
}

export interface Thresholds {
  minIndexSharePercent: number;
  minRows: number;
}

/** A table's use of its indexes (pg_stat_user_tables). */
export interface TableFinding {
  schema: string;
  table: string;
  /** 'partitioned': the counters are the sums over its partitions, listed in `partitions`. */
  kind: 'table' | 'partitioned' | 'partition';
  /** The partitioned table a partition belongs to (its root); null otherwise. */
  parent: string | null;
  liveRows: number;
  seqScans: number;
  indexScans: number;
  /** idx_scan / (idx_scan + seq_scan) × 100; null when the table was never scanned. */
  indexSharePercent: number | null;
  /** True when the table is large enough to be judged and its share is under the threshold. */
  belowThreshold: boolean;
  partitions: TableFinding[];
}

/** An index never scanned since the statistics were reset. */
export interface UnusedIndexFinding {
  schema: string;
  table: string;
  index: string;
  /** On a partitioned table: the total over the partitions' indexes. */
  sizeBytes: number;
  definition: string;
}

/** The facts about one index that the redundancy rules compare. */
export interface IndexInfo {
  oid: number;
  schema: string;
  table: string;
  name: string;
  /** Access method: btree, hash, gin, ... */
  method: string;
  /** One entry per key column: the column name or the expression, as PostgreSQL prints it. */
  keys: string[];
  /** Per key column: operator class, collation and flags (DESC, NULLS FIRST) as stored in pg_index. */
  opclasses: number[];
  collations: number[];
  options: number[];
  /** INCLUDE columns. */
  include: string[];
  /** WHERE clause of a partial index; null for a full index. */
  predicate: string | null;
  unique: boolean;
  primary: boolean;
  nullsNotDistinct: boolean;
  /** The primary key, unique or exclusion constraint that owns the index; null if none. */
  constraint: string | null;
  /** The index of a partitioned table (its partitions each have their own). */
  onPartitionedTable: boolean;
  /** For the index of a partition created through its table's index: that index. Such an index
   *  is never reported itself (its parent is), but it may cover an index made on the partition. */
  partitionOf: string | null;
  /** Foreign keys (on any table) that depend on this index. */
  referencedBy: string[];
  sizeBytes: number;
  definition: string;
  /** Identifiers quoted by the server (quote_ident), schema-qualified, for the fix statement. */
  quoted: { index: string; table: string; constraint: string | null };
}

/** An index that another index of the same table makes unnecessary. */
export interface RedundantIndexFinding {
  schema: string;
  table: string;
  index: string;
  definition: string;
  sizeBytes: number;
  /** 'duplicate': same definition; 'redundant': its key is the other's key or a prefix of it. */
  kind: 'duplicate' | 'redundant';
  coveredBy: string;
  coveredByDefinition: string;
  reason: string;
  /** The statement that removes it. */
  fix: string;
}

export type StatementsStatus =
  | 'ok'
  | 'not-installed' // the server has no pg_stat_statements package
  | 'not-created' // create extension was never run in this database
  | 'not-preloaded' // created, but the library is not in shared_preload_libraries
  | 'outdated-extension' // the extension's version predates the server's column names
  | 'no-permission';

export interface StatementFinding {
  queryId: string | null;
  query: string;
  calls: number;
  totalMs: number;
  meanMs: number;
  rows: number;
}

export interface StatementsReport {
  status: StatementsStatus;
  /** Why the list is empty and how to fix it; null when status is 'ok'. */
  note: string | null;
  available: boolean;
  created: boolean;
  /** From shared_preload_libraries; null when the role may not read that setting. */
  preloaded: boolean | null;
  extensionVersion: string | null;
  /** The columns read for this server version. */
  columns: { mean: string; total: string };
  statements: StatementFinding[];
}

export interface CacheReport {
  database: string;
  blocksHit: number;
  blocksRead: number;
  /** blks_hit / (blks_hit + blks_read) × 100; null before the first block was read. */
  hitRatioPercent: number | null;
}

export interface ConnectionsReport {
  maxConnections: number;
  /** Slots only superusers (and, since PG 16, pg_use_reserved_connections) may take. */
  reservedConnections: number;
  /** Client backends of the whole server, every database. */
  inUse: number;
  usedPercent: number;
  /** Client backends by pg_stat_activity.state ('unknown' when the role may not see it). */
  byState: Record<string, number>;
}

export interface Failure {
  check: 'index-share' | 'redundant-index';
  subject: string;
  message: string;
}

export interface DoctorReport {
  ok: boolean;
  failures: Failure[];
  generatedAt: string;
  server: { version: string; versionNum: number; database: string; statsReset: string | null };
  thresholds: Thresholds;
  tables: TableFinding[];
  unusedIndexes: UnusedIndexFinding[];
  redundantIndexes: RedundantIndexFinding[];
  statements: StatementsReport;
  cache: CacheReport;
  connections: ConnectionsReport;
}
