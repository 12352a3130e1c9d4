// Printing a DoctorReport: JSON for machines (--json), aligned plain-text tables for people.
// Every number carries its unit: %, ms, MB (2^20 bytes).
import type { DoctorReport, StatementFinding, TableFinding } from './types.ts';

export function formatJson(report: DoctorReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const percent = (p: number | null) => (p === null ? '—' : `${p.toFixed(1)} %`);
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(2)} MB`;
const ms = (v: number) => `${v.toFixed(v < 10 ? 3 : 1)} ms`;
const name = (schema: string, rel: string) => (schema === 'public' ? rel : `${schema}.${rel}`);
const oneLine = (s: string, max: number) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

/** Words wrapped to `width` columns, every line indented. */
function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines;
}

/** Columns padded to their widest cell; 'r' columns right-aligned (numbers). */
function table(header: string[], rows: string[][], align: ('l' | 'r')[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => '  ' + cells
    .map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]) : c.padEnd(widths[i])))
    .join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

function tableRows(t: TableFinding): string[][] {
  const flag = t.belowThreshold ? '  << under threshold' : '';
  const row = [name(t.schema, t.table), count(t.liveRows), count(t.seqScans), count(t.indexScans), percent(t.indexSharePercent) + flag];
  const parts = t.partitions.map((p) => [`  └ ${p.table}`, count(p.liveRows), count(p.seqScans), count(p.indexScans), percent(p.indexSharePercent)]);
  return [row, ...parts];
}

function statementRows(list: StatementFinding[]): string[][] {
  return list.map((s) => [ms(s.meanMs), ms(s.totalMs), count(s.calls), count(s.rows), oneLine(s.query, 70)]);
}

export function formatText(report: DoctorReport): string {
  const { server, thresholds: th } = report;
  const out: string[] = [];
  const since = server.statsReset ? `statistics since ${server.statsReset}` : 'statistics never reset';
  out.push(`ald-db doctor: database ${server.database} on PostgreSQL ${server.version} (${since})`, '');

  out.push(`Index use per table (fails under ${percent(th.minIndexSharePercent)} index scans on tables over ${count(th.minRows)} rows)`);
  if (report.tables.length === 0) out.push('  no table has live rows');
  else {
    out.push(...table(['table', 'rows', 'seq scans', 'index scans', 'index share'],
      report.tables.flatMap(tableRows), ['l', 'r', 'r', 'r', 'r']));
  }
  out.push('');

  out.push('Unused indexes (never scanned; primary keys, unique and constraint indexes left out)');
  if (report.unusedIndexes.length === 0) out.push('  none');
  else {
    out.push(...table(['index', 'table', 'size'],
      report.unusedIndexes.map((u) => [name(u.schema, u.index), name(u.schema, u.table), mb(u.sizeBytes)]), ['l', 'l', 'r']));
    const total = report.unusedIndexes.reduce((n, u) => n + u.sizeBytes, 0);
    out.push(`  ${report.unusedIndexes.length} unused indexes, ${mb(total)} in all`);
  }
  out.push('');

  out.push('Duplicate and redundant indexes');
  if (report.redundantIndexes.length === 0) out.push('  none');
  for (const r of report.redundantIndexes) {
    out.push(...wrap(`${name(r.schema, r.index)} on ${name(r.schema, r.table)} (${mb(r.sizeBytes)}): ${r.kind}, ${r.reason}`, 100, '  '));
    out.push(`    ${r.definition}`, `    covered by: ${r.coveredByDefinition}`);
    for (const line of r.fix.split('\n')) out.push(`    fix: ${line}`);
  }
  out.push('');

  const st = report.statements;
  out.push(`Slowest statements (pg_stat_statements, by ${st.columns.mean})`);
  if (st.status !== 'ok') out.push(...wrap(`not available (${st.status}): ${st.note}`, 100, '  '));
  else if (st.statements.length === 0) out.push('  none recorded yet for this database');
  else out.push(...table(['mean', 'total', 'calls', 'rows', 'query'], statementRows(st.statements), ['r', 'r', 'r', 'r', 'l']));
  out.push('');

  const c = report.cache;
  out.push(`Buffer cache hit ratio: ${percent(c.hitRatioPercent)} (${count(c.blocksHit)} blocks from shared buffers, ${count(c.blocksRead)} read from disk or the OS cache)`);
  const cn = report.connections;
  const states = Object.entries(cn.byState).map(([s, n]) => `${s} ${n}`).join(', ');
  out.push(`Connections: ${cn.inUse} of ${cn.maxConnections} in use (${percent(cn.usedPercent)}; ${cn.reservedConnections} reserved)${states ? `: ${states}` : ''}`);
  out.push('');

  if (report.ok) out.push('Result: OK');
  else {
    out.push(`Result: FAILED, ${report.failures.length} problem${report.failures.length === 1 ? '' : 's'}`);
    for (const f of report.failures) out.push(...wrap(`- ${f.message}`, 100, '  ').map((l, i) => (i ? `  ${l}` : l)));
  }
  return out.join('\n') + '\n';
}
