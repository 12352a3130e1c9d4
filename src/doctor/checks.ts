// The checks of `ald-db doctor`: one function per check, each reading the statistics views or the
// catalog and returning typed findings. None of them judges; index.ts applies the thresholds.
//
// Counters (scans, blocks) count since the statistics were last reset, and the server publishes
// a backend's counters when it goes idle (at most once a second since PG 15), so a busy second
// may be missing from them.
import type postgres from 'postgres';
import { findRedundantIndexes } from './redundant-indexes.ts';
import type {
  CacheReport, ConnectionsReport, IndexInfo, RedundantIndexFinding, StatementFinding, StatementsReport,
  StatementsStatus, TableFinding, Thresholds, UnusedIndexFinding,
} from './types.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Sql = postgres.Sql<any>;

export interface ServerInfo {
  version: string;
  versionNum: number;
  database: string;
  statsReset: string | null;
}

export async function readServer(sql: Sql): Promise<ServerInfo> {
  const [row] = await sql`
    select current_setting('server_version') as version,
           current_setting('server_version_num')::int as version_num,
           current_database() as database,
           (select stats_reset from pg_stat_database where datname = current_database()) as stats_reset`;
  return {
    version: row.version,
    versionNum: row.version_num,
    database: row.database,
    statsReset: row.stats_reset ? new Date(row.stats_reset).toISOString() : null,
  };
}

const sharePercent = (idx: number, seq: number) => (idx + seq > 0 ? (idx / (idx + seq)) * 100 : null);

/**
 * Index-scan share of every table with live rows. A partition's counters are added into its
 * root partitioned table (whose own counters are always zero); the partitions with live rows
 * are listed under it. Partitions are not judged on their own: their table is.
 */
export async function checkTables(sql: Sql, schemas: string[], thresholds: Thresholds): Promise<TableFinding[]> {
  const rows = await sql`
    select n.nspname as schema, c.relname as table, c.relkind::text as relkind,
           rn.nspname as root_schema, r.relname as root_table,
           s.n_live_tup::float8 as live_rows, s.seq_scan::float8 as seq_scans,
           coalesce(s.idx_scan, 0)::float8 as index_scans
    from pg_stat_user_tables s
    join pg_class c on c.oid = s.relid
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_class r on r.oid = pg_partition_root(c.oid) and r.oid <> c.oid
    left join pg_namespace rn on rn.oid = r.relnamespace
    where coalesce(rn.nspname, n.nspname) = any (${schemas}::text[])
    order by n.nspname, c.relname`;

  const judge = (f: TableFinding) => {
    f.indexSharePercent = sharePercent(f.indexScans, f.seqScans);
    f.belowThreshold = f.kind !== 'partition' && f.liveRows > thresholds.minRows
      && f.indexSharePercent !== null && f.indexSharePercent < thresholds.minIndexSharePercent;
    return f;
  };
  const top = new Map<string, TableFinding>();
  const key = (schema: string, table: string) => `${schema}.${table}`;
  for (const r of rows) {
    if (r.root_table) continue; // partitions are folded into their root below
    top.set(key(r.schema, r.table), {
      schema: r.schema, table: r.table, kind: r.relkind === 'p' ? 'partitioned' : 'table', parent: null,
      liveRows: r.live_rows, seqScans: r.seq_scans, indexScans: r.index_scans,
      indexSharePercent: null, belowThreshold: false, partitions: [],
    });
  }
  for (const r of rows) {
    if (!r.root_table || r.relkind === 'p') continue; // intermediate partitioned tables count nothing
    let root = top.get(key(r.root_schema, r.root_table));
    if (!root) {
      // before PG 14 the statistics views leave partitioned tables out
      root = {
        schema: r.root_schema, table: r.root_table, kind: 'partitioned', parent: null,
        liveRows: 0, seqScans: 0, indexScans: 0, indexSharePercent: null, belowThreshold: false, partitions: [],
      };
      top.set(key(r.root_schema, r.root_table), root);
    }
    root.liveRows += r.live_rows;
    root.seqScans += r.seq_scans;
    root.indexScans += r.index_scans;
    if (r.live_rows > 0) {
      root.partitions.push(judge({
        schema: r.schema, table: r.table, kind: 'partition', parent: r.root_table,
        liveRows: r.live_rows, seqScans: r.seq_scans, indexScans: r.index_scans,
        indexSharePercent: null, belowThreshold: false, partitions: [],
      }));
    }
  }
  return [...top.values()]
    .filter((t) => t.liveRows > 0)
    .map(judge)
    .sort((a, b) => b.liveRows - a.liveRows || a.schema.localeCompare(b.schema) || a.table.localeCompare(b.table));
}

/** Size of an index; for the index of a partitioned table, the sum over its partitions' indexes. */
const indexSizeSql = `case when i.relkind = 'I'
  then (select coalesce(sum(pg_relation_size(p.relid)), 0) from pg_partition_tree(i.oid) p)
  else pg_relation_size(i.oid) end::float8`;

/**
 * Indexes never scanned since the statistics were reset. Primary keys, unique indexes and
 * indexes behind a constraint (including those foreign keys point at) are left out: they enforce
 * a rule even when no query reads them. The scans of a partitioned table's index are the sum of
 * its partitions' indexes.
 */
export async function checkUnusedIndexes(sql: Sql, schemas: string[]): Promise<UnusedIndexFinding[]> {
  const rows = await sql.unsafe(`
    with scans as (
      select coalesce(pg_partition_root(s.indexrelid), s.indexrelid) as indexrelid, sum(s.idx_scan) as idx_scan
      from pg_stat_user_indexes s
      group by 1
    )
    select n.nspname as schema, t.relname as table, i.relname as index,
           ${indexSizeSql} as size_bytes, pg_get_indexdef(i.oid) as definition
    from scans s
    join pg_index x on x.indexrelid = s.indexrelid
    join pg_class i on i.oid = x.indexrelid
    join pg_class t on t.oid = x.indrelid
    join pg_namespace n on n.oid = t.relnamespace
    where s.idx_scan = 0
      and n.nspname = any ($1::text[])
      and not x.indisunique and not x.indisprimary
      and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid)
    order by 4 desc, 1, 2, 3`, [schemas]);
  return rows.map((r) => ({ schema: r.schema, table: r.table, index: r.index, sizeBytes: r.size_bytes, definition: r.definition }));
}

/** The catalog facts findRedundantIndexes compares, for every valid index of the schemas. */
export async function readIndexes(sql: Sql, schemas: string[]): Promise<IndexInfo[]> {
  const ordered = (expr: string) =>
    `array(select v::int8::float8 from unnest(${expr}) with ordinality u(v, k) order by k)`;
  const rows = await sql.unsafe(`
    select i.oid::int8::float8 as oid, n.nspname as schema, t.relname as table, i.relname as name,
           am.amname as method,
           array(select pg_get_indexdef(i.oid, k, true) from generate_series(1, x.indnkeyatts::int) k order by k) as keys,
           array(select pg_get_indexdef(i.oid, k, true) from generate_series(x.indnkeyatts::int + 1, x.indnatts::int) k order by k) as include,
           ${ordered('x.indclass::oid[]')} as opclasses,
           ${ordered('x.indcollation::oid[]')} as collations,
           ${ordered('x.indoption::int2[]')} as options,
           pg_get_expr(x.indpred, x.indrelid, true) as predicate,
           x.indisunique as unique, x.indisprimary as primary,
           -- indnullsnotdistinct exists since PG 15; read through jsonb so older servers work too
           coalesce((to_jsonb(x) ->> 'indnullsnotdistinct')::boolean, false) as nulls_not_distinct,
           con.conname as constraint,
           array(select f.conrelid::regclass::text || '.' || quote_ident(f.conname) from pg_constraint f
                 where f.contype = 'f' and f.conindid = i.oid order by 1) as referenced_by,
           t.relkind = 'p' as on_partitioned_table,
           (select pi.relname from pg_inherits h join pg_class pi on pi.oid = h.inhparent
            where h.inhrelid = i.oid) as partition_of,
           ${indexSizeSql} as size_bytes,
           pg_get_indexdef(i.oid) as definition,
           format('%I.%I', n.nspname, i.relname) as quoted_index,
           format('%I.%I', n.nspname, t.relname) as quoted_table,
           quote_ident(con.conname) as quoted_constraint
    from pg_index x
    join pg_class i on i.oid = x.indexrelid
    join pg_class t on t.oid = x.indrelid
    join pg_namespace n on n.oid = t.relnamespace
    join pg_am am on am.oid = i.relam
    left join pg_constraint con on con.conindid = i.oid and con.conrelid = x.indrelid and con.contype in ('p', 'u', 'x')
    where n.nspname = any ($1::text[])
      and x.indisvalid
      and not x.indisexclusion
    order by n.nspname, t.relname, i.relname`, [schemas]);
  return rows.map((r) => ({
    oid: r.oid, schema: r.schema, table: r.table, name: r.name, method: r.method,
    keys: r.keys, include: r.include, opclasses: r.opclasses, collations: r.collations, options: r.options,
    predicate: r.predicate, unique: r.unique, primary: r.primary, nullsNotDistinct: r.nulls_not_distinct,
    constraint: r.constraint, referencedBy: r.referenced_by, onPartitionedTable: r.on_partitioned_table, partitionOf: r.partition_of,
    sizeBytes: r.size_bytes, definition: r.definition,
    quoted: { index: r.quoted_index, table: r.quoted_table, constraint: r.quoted_constraint },
  }));
}

/** Exact duplicates and prefix-redundant indexes (rules in redundant-indexes.ts). */
export async function checkRedundantIndexes(sql: Sql, schemas: string[]): Promise<RedundantIndexFinding[]> {
  return findRedundantIndexes(await readIndexes(sql, schemas));
}

/**
 * The pg_stat_statements time columns for a server version: PG 13 (extension 1.8) split planning
 * from execution time and renamed mean_time/total_time to mean_exec_time/total_exec_time.
 */
export function statementTimeColumns(serverVersionNum: number): { mean: string; total: string } {
  if (!Number.isInteger(serverVersionNum) || serverVersionNum < 90000) {
    throw new RangeError(`serverVersionNum must be a server_version_num such as 150004, but got: ${serverVersionNum}`);
  }
  return serverVersionNum >= 130000
    ? { mean: 'mean_exec_time', total: 'total_exec_time' }
    : { mean: 'mean_time', total: 'total_time' };
}

const SUPABASE_HINT = 'On Supabase it is enabled by default (schema extensions); if it was dropped, enable it again '
  + 'under Database → Extensions or with: create extension pg_stat_statements with schema extensions;';

function statementsNote(status: StatementsStatus, facts: { database: string; preloaded: boolean | null; version: string | null; columns: { mean: string } }): string | null {
  const preloadStep = "add it to shared_preload_libraries (postgresql.conf: shared_preload_libraries = 'pg_stat_statements') and restart the server";
  const createStep = 'run: create extension pg_stat_statements;';
  switch (status) {
    case 'ok':
      return null;
    case 'not-installed':
      return 'pg_stat_statements is not installed on this server (absent from pg_available_extensions). '
        + `Locally: install the PostgreSQL contrib package that ships it, ${preloadStep}, then ${createStep} ${SUPABASE_HINT}`;
    case 'not-created': {
      const alsoPreload = facts.preloaded === false
        ? ' and its library is not in shared_preload_libraries'
        : facts.preloaded === null ? ' (and this role may not read shared_preload_libraries to tell whether the library is loaded)' : '';
      const steps = facts.preloaded === false ? `${preloadStep}, then ${createStep}`
        : facts.preloaded === null ? `make sure shared_preload_libraries contains pg_stat_statements, then ${createStep}` : createStep;
      return `pg_stat_statements is not created in database ${facts.database}${alsoPreload}. Locally: ${steps} ${SUPABASE_HINT}`;
    }
    case 'not-preloaded':
      return `pg_stat_statements is created in database ${facts.database}, but its library is not in shared_preload_libraries, `
        + `so it records nothing. Locally: ${preloadStep}. ${SUPABASE_HINT}`;
    case 'outdated-extension':
      return `pg_stat_statements ${facts.version} is older than this server: it lacks ${facts.columns.mean}. `
        + 'Run: alter extension pg_stat_statements update;';
    case 'no-permission':
      return 'this role may not read pg_stat_statements: grant pg_read_all_stats to it (on Supabase, connect as postgres).';
  }
}

/** The slowest statements (by mean execution time) of this database, or why there are none. */
export async function checkStatements(sql: Sql, server: ServerInfo, top: number): Promise<StatementsReport> {
  const columns = statementTimeColumns(server.versionNum);
  const [facts] = await sql`
    select exists (select 1 from pg_available_extensions where name = 'pg_stat_statements') as available,
           e.extversion as version, quote_ident(n.nspname) as schema
    from (select 1) one
    left join pg_extension e on e.extname = 'pg_stat_statements'
    left join pg_namespace n on n.oid = e.extnamespace`;
  let preloaded: boolean | null = null;
  try {
    const [{ libs }] = await sql`select current_setting('shared_preload_libraries') as libs`;
    preloaded = String(libs).split(',')
      .map((l) => l.trim().replace(/^"|"$/g, ''))
      .some((l) => /(^|\/)pg_stat_statements$/.test(l));
  } catch (error) {
    // Reading it needs superuser or pg_read_all_settings; the query below still tells.
    if ((error as { code?: string }).code !== '42501') throw error;
  }
  const created = facts.version !== null;
  let status: StatementsStatus = !facts.available && !created ? 'not-installed' : created ? 'ok' : 'not-created';
  let statements: StatementFinding[] = [];
  if (created) {
    try {
      const rows = await sql.unsafe(`
        select queryid::text as query_id, query, calls::float8 as calls,
               ${columns.total}::float8 as total_ms, ${columns.mean}::float8 as mean_ms, rows::float8 as rows
        from ${facts.schema}.pg_stat_statements
        where dbid = (select oid from pg_database where datname = current_database())
        order by ${columns.mean} desc nulls last
        limit $1`, [top]);
      statements = rows.map((r) => ({
        queryId: r.query_id, query: r.query ?? '', calls: r.calls, totalMs: r.total_ms, meanMs: r.mean_ms, rows: r.rows,
      }));
      preloaded = true;
    } catch (error) {
      const code = (error as { code?: string }).code;
      // 55000: "pg_stat_statements must be loaded via shared_preload_libraries"
      if (code === '55000') { status = 'not-preloaded'; preloaded = false; }
      else if (code === '42703') status = 'outdated-extension';
      else if (code === '42501') status = 'no-permission';
      else throw error;
    }
  }
  return {
    status,
    note: statementsNote(status, { database: server.database, preloaded, version: facts.version, columns }),
    available: facts.available,
    created,
    preloaded,
    extensionVersion: facts.version,
    columns,
    statements,
  };
}

/** Buffer cache hit ratio of this database since the statistics were reset. */
export async function checkCache(sql: Sql): Promise<CacheReport> {
  const [r] = await sql`
    select current_database() as database, coalesce(blks_hit, 0)::float8 as hit, coalesce(blks_read, 0)::float8 as read
    from pg_stat_database where datname = current_database()`;
  return {
    database: r.database,
    blocksHit: r.hit,
    blocksRead: r.read,
    hitRatioPercent: r.hit + r.read > 0 ? (r.hit / (r.hit + r.read)) * 100 : null,
  };
}

/** Client connections of the whole server by state, against max_connections. */
export async function checkConnections(sql: Sql): Promise<ConnectionsReport> {
  const [limits] = await sql`
    select current_setting('max_connections')::int as max,
           current_setting('superuser_reserved_connections')::int
             + coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) as reserved`;
  const rows = await sql`
    select coalesce(state, 'unknown') as state, count(*)::int as n
    from pg_stat_activity
    where backend_type = 'client backend'
    group by 1
    order by 2 desc, 1`;
  const byState: Record<string, number> = {};
  for (const r of rows) byState[r.state] = r.n;
  const inUse = rows.reduce((n, r) => n + r.n, 0);
  return {
    maxConnections: limits.max,
    reservedConnections: limits.reserved,
    inUse,
    usedPercent: limits.max > 0 ? (inUse / limits.max) * 100 : 0,
    byState,
  };
}
