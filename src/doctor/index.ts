// `runDoctor(sql, opts)`: every check of the doctor against one database, judged against the
// thresholds. The CLI (src/cli/doctor.ts) prints the report; the dashboard renders it.
//
// A report fails (ok: false) when
//   - a table with more than minRows live rows answers under minIndexSharePercent of its scans
//     from an index (default: 95 % on tables over 10 000 rows), or
//   - any index duplicates another or is made redundant by one (redundant-indexes.ts).
// Unused indexes, slow statements, the cache hit ratio and connections are reported, not judged.
import { checkCache, checkConnections, checkRedundantIndexes, checkStatements, checkTables, checkUnusedIndexes, readServer } from './checks.ts';
import type { Sql } from './checks.ts';
import type { DoctorOptions, DoctorReport, Failure } from './types.ts';

export type * from './types.ts';
export { statementTimeColumns } from './checks.ts';
export type { Sql } from './checks.ts';
export { findRedundantIndexes } from './redundant-indexes.ts';
export { formatJson, formatText } from './report.ts';

export const DEFAULTS = { minIndexSharePercent: 95, minRows: 10_000, schemas: ['public'], topStatements: 10 } as const;

function resolveOptions(opts: DoctorOptions) {
  const o = {
    minIndexSharePercent: opts.minIndexSharePercent ?? DEFAULTS.minIndexSharePercent,
    minRows: opts.minRows ?? DEFAULTS.minRows,
    schemas: opts.schemas ?? [...DEFAULTS.schemas],
    topStatements: opts.topStatements ?? DEFAULTS.topStatements,
  };
  if (!(Number.isFinite(o.minIndexSharePercent) && o.minIndexSharePercent >= 0 && o.minIndexSharePercent <= 100)) {
    throw new RangeError(`minIndexSharePercent must be a number from 0 to 100, but got: ${opts.minIndexSharePercent}`);
  }
  if (!(Number.isInteger(o.minRows) && o.minRows >= 0)) {
    throw new RangeError(`minRows must be a whole number of rows, 0 or more, but got: ${opts.minRows}`);
  }
  if (!(Number.isInteger(o.topStatements) && o.topStatements >= 1 && o.topStatements <= 1000)) {
    throw new RangeError(`topStatements must be a whole number from 1 to 1000, but got: ${opts.topStatements}`);
  }
  if (!Array.isArray(o.schemas) || o.schemas.length === 0 || o.schemas.some((s) => typeof s !== 'string' || s === '')) {
    throw new RangeError(`schemas must be a non-empty array of schema names, but got: ${JSON.stringify(opts.schemas)}`);
  }
  return o;
}

const fmtPercent = (p: number) => `${p.toFixed(1)} %`;

/** Runs every check and judges the result. Throws only when the database cannot be read. */
export async function runDoctor(sql: Sql, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const o = resolveOptions(opts);
  const thresholds = { minIndexSharePercent: o.minIndexSharePercent, minRows: o.minRows };
  const server = await readServer(sql);
  const [tables, unusedIndexes, redundantIndexes, statements, cache, connections] = await Promise.all([
    checkTables(sql, o.schemas, thresholds),
    checkUnusedIndexes(sql, o.schemas),
    checkRedundantIndexes(sql, o.schemas),
    checkStatements(sql, server, o.topStatements),
    checkCache(sql),
    checkConnections(sql),
  ]);

  const failures: Failure[] = [];
  for (const t of tables) {
    if (!t.belowThreshold) continue;
    failures.push({
      check: 'index-share',
      subject: `${t.schema}.${t.table}`,
      message: `${t.schema}.${t.table} (${t.liveRows} rows) answers ${fmtPercent(t.indexSharePercent ?? 0)} of its scans from an index, `
        + `under ${fmtPercent(o.minIndexSharePercent)}: ${t.seqScans} sequential scans; look for a missing index`,
    });
  }
  for (const r of redundantIndexes) {
    failures.push({
      check: 'redundant-index',
      subject: `${r.schema}.${r.index}`,
      message: `${r.schema}.${r.index} on ${r.table} is ${r.kind === 'duplicate' ? 'a duplicate' : 'redundant'}: ${r.reason}`,
    });
  }

  return {
    ok: failures.length === 0,
    failures,
    generatedAt: new Date().toISOString(),
    server,
    thresholds,
    tables,
    unusedIndexes,
    redundantIndexes,
    statements,
    cache,
    connections,
  };
}
