/**
 * `ald-db doctor` (src/doctor/, src/cli/doctor.ts, bin/ald-db.js): the pure rules (index
 * redundancy, pg_stat_statements column names), runDoctor and the CLI on the test database after
 * a small controller workload, and pg_stat_statements on a server that preloads it (an embedded
 * PostgreSQL 17). Needs TEST_DATABASE_URL: run through `npm test -- --only vitest tests/doctor`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { z } from 'zod';
import { freePort, startEmbedded, type EmbeddedServer } from '../src/database/embedded.ts';
import { findRedundantIndexes, runDoctor, statementTimeColumns } from '../src/doctor/index.ts';
import type { DoctorReport, IndexInfo } from '../src/doctor/index.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const MACHINE_A = '00000000-0000-4000-8000-000000000001';
const RECIPE = '00000000-0000-4000-8000-000000003001';

interface CliResult { code: number; stdout: string; stderr: string }

function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/ald-db.js'), ...args], { cwd: repoRoot, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Publishes this session's statistics now (PG ≥ 15 flushes them at most once a second). */
async function flushStats(sql: postgres.Sql): Promise<void> {
  const [{ v }] = await sql`select current_setting('server_version_num')::int as v`;
  if (v >= 150000) {
    await sql`select pg_stat_force_next_flush()`;
    await sql`select 1`; // the flush happens when the session goes idle after the call above
  } else {
    await new Promise((r) => setTimeout(r, 1000)); // the statistics collector's delay
  }
}

// ---------------------------------------------------------------------------------------------
describe('statementTimeColumns', () => {
  it('reads mean_exec_time and total_exec_time from PostgreSQL 13 on', () => {
    for (const v of [130000, 150020, 170010, 180000]) {
      expect(statementTimeColumns(v)).toEqual({ mean: 'mean_exec_time', total: 'total_exec_time' });
    }
  });

  it('reads mean_time and total_time before PostgreSQL 13', () => {
    for (const v of [90600, 110022, 120000, 129999]) {
      expect(statementTimeColumns(v)).toEqual({ mean: 'mean_time', total: 'total_time' });
    }
  });

  it('rejects a value that is not a server_version_num, echoing it', () => {
    expect(() => statementTimeColumns(Number.NaN)).toThrow(/but got: NaN/);
    expect(() => statementTimeColumns(15)).toThrow(/server_version_num such as 150004, but got: 15/);
  });
});

// ---------------------------------------------------------------------------------------------
let nextOid = 1000;
/** An index on public.t: btree, default opclass/collation/order, non-unique, unless overridden. */
function idx(name: string, keys: string[], more: Partial<IndexInfo> = {}): IndexInfo {
  const n = keys.length;
  return {
    oid: nextOid++, schema: 'public', table: 't', name, method: 'btree', keys,
    opclasses: Array(n).fill(1), collations: Array(n).fill(0), options: Array(n).fill(0),
    include: [], predicate: null, unique: false, primary: false, nullsNotDistinct: false,
    constraint: null, referencedBy: [], onPartitionedTable: false, partitionOf: null, sizeBytes: 8192,
    definition: `create index ${name} on public.t (${keys.join(', ')})`,
    quoted: { index: `public.${name}`, table: 'public.t', constraint: more.constraint ?? null },
    ...more,
  };
}
const pk = (keys: string[] = ['id']) => idx('t_pkey', keys, { unique: true, primary: true, constraint: 't_pkey' });
const reported = (list: IndexInfo[]) => findRedundantIndexes(list).map((f) => `${f.index}<${f.coveredBy}:${f.kind}`);

describe('findRedundantIndexes', () => {
  it('reports one of two identical indexes, the newer, as a duplicate', () => {
    const a = idx('a_idx', ['machine_id']);
    const b = idx('b_idx', ['machine_id']);
    expect(reported([a, b])).toEqual(['b_idx<a_idx:duplicate']);
    expect(findRedundantIndexes([a, b])[0].fix).toBe('drop index concurrently public.b_idx;');
  });

  it('reports an index whose key is a prefix of another index of the same table', () => {
    expect(reported([idx('short', ['machine_id']), idx('long', ['machine_id', 'started_at'])]))
      .toEqual(['short<long:redundant']);
    expect(reported([idx('other_order', ['started_at']), idx('long', ['machine_id', 'started_at'])])).toEqual([]);
  });

  it("reports a non-unique (id) include (...) next to the primary key, the old controller's mistake", () => {
    const [f, ...rest] = findRedundantIndexes([pk(), idx('t_id_covering', ['id'], { include: ['name', 'value'] })]);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ index: 't_id_covering', coveredBy: 't_pkey', kind: 'redundant' });
    expect(f.reason).toMatch(/same key as the primary key t_pkey/);
    expect(f.reason).toMatch(/INCLUDE columns \(name, value\)/);
  });

  it('keeps a unique index when the covering index enforces a different uniqueness', () => {
    // primary key (id) and unique (id, machine_id), the target of a composite foreign key
    const composite = idx('t_id_machine_id_key', ['id', 'machine_id'], { unique: true, constraint: 't_id_machine_id_key', referencedBy: ['u.u_fkey'] });
    expect(reported([pk(), composite])).toEqual([]);
    // a unique index next to a non-unique one on the same key: the non-unique one goes
    expect(reported([idx('plain', ['code']), idx('t_code_key', ['code'], { unique: true, constraint: 't_code_key' })]))
      .toEqual(['plain<t_code_key:redundant']);
    // NULLS NOT DISTINCT is a different rule
    expect(reported([idx('u1', ['code'], { unique: true }), idx('u2', ['code'], { unique: true, nullsNotDistinct: true })])).toEqual([]);
  });

  it('reports the second of two unique indexes on the same key, keeping the primary key', () => {
    const dup = idx('t_id_key', ['id'], { unique: true, constraint: 't_id_key' });
    const [f, ...rest] = findRedundantIndexes([dup, pk()]);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ index: 't_id_key', coveredBy: 't_pkey', kind: 'duplicate' });
    expect(f.fix).toBe('alter table public.t drop constraint t_id_key;');
  });

  it('compares only indexes with the same predicate, method, order and table', () => {
    expect(reported([idx('full', ['machine_id']), idx('partial', ['machine_id'], { predicate: "(status = 'running'::text)" })])).toEqual([]);
    expect(reported([idx('asc', ['ts']), idx('desc', ['ts'], { options: [3] })])).toEqual([]);
    expect(reported([idx('bt', ['v']), idx('h', ['v'], { method: 'hash' })])).toEqual([]);
    expect(reported([idx('x', ['v']), idx('y', ['v'], { table: 'other' })])).toEqual([]);
  });

  it('uses prefixes only for btree; equal keys count for every method', () => {
    expect(reported([idx('h1', ['v'], { method: 'hash' }), idx('g', ['v', 'w'], { method: 'hash' })])).toEqual([]);
    expect(reported([idx('h1', ['v'], { method: 'hash' }), idx('h2', ['v'], { method: 'hash' })])).toEqual(['h2<h1:duplicate']);
  });

  it("judges a partition's inherited indexes through its table, yet lets them cover an index made on the partition", () => {
    const part = { table: 'pdp_y2026m11', onPartitionedTable: false };
    const leafPk = idx('pdp_y2026m11_pkey', ['process_id', 'parameter_id', 'ts'], { ...part, unique: true, partitionOf: 'pdp_pkey' });
    const leafCopy = idx('pdp_y2026m11_process_id_idx', ['process_id'], { ...part, partitionOf: 'pdp_process_id_idx' });
    expect(reported([leafPk, leafCopy])).toEqual([]);
    const direct = idx('pdp_y2026m11_by_process', ['process_id', 'parameter_id'], part);
    expect(reported([leafPk, leafCopy, direct])).toEqual(['pdp_y2026m11_by_process<pdp_y2026m11_pkey:redundant']);
  });

  it('names, for an index covered twice, the index that stays', () => {
    // a and b are duplicates (b goes); both are prefixes of c: a must point at c, not at b
    const a = idx('a', ['k']);
    const b = idx('b', ['k']);
    const c = idx('c', ['k', 'j']);
    expect(reported([a, b, c]).sort()).toEqual(['a<c:redundant', 'b<c:redundant']);
  });
});

// ---------------------------------------------------------------------------------------------
const Table: z.ZodType = z.lazy(() => z.object({
  schema: z.string(), table: z.string(), kind: z.enum(['table', 'partitioned', 'partition']),
  parent: z.string().nullable(), liveRows: z.number(), seqScans: z.number(), indexScans: z.number(),
  indexSharePercent: z.number().min(0).max(100).nullable(), belowThreshold: z.boolean(), partitions: z.array(Table),
}).strict());
const ReportSchema = z.object({
  ok: z.boolean(),
  failures: z.array(z.object({ check: z.enum(['index-share', 'redundant-index']), subject: z.string(), message: z.string() }).strict()),
  generatedAt: z.iso.datetime(),
  server: z.object({ version: z.string(), versionNum: z.number().int(), database: z.string(), statsReset: z.string().nullable() }).strict(),
  thresholds: z.object({ minIndexSharePercent: z.number(), minRows: z.number() }).strict(),
  tables: z.array(Table),
  unusedIndexes: z.array(z.object({ schema: z.string(), table: z.string(), index: z.string(), sizeBytes: z.number(), definition: z.string() }).strict()),
  redundantIndexes: z.array(z.object({
    schema: z.string(), table: z.string(), index: z.string(), definition: z.string(), sizeBytes: z.number(),
    kind: z.enum(['duplicate', 'redundant']), coveredBy: z.string(), coveredByDefinition: z.string(), reason: z.string(), fix: z.string(),
  }).strict()),
  statements: z.object({
    status: z.enum(['ok', 'not-installed', 'not-created', 'not-preloaded', 'outdated-extension', 'no-permission']),
    note: z.string().nullable(), available: z.boolean(), created: z.boolean(), preloaded: z.boolean().nullable(),
    extensionVersion: z.string().nullable(), columns: z.object({ mean: z.string(), total: z.string() }).strict(),
    statements: z.array(z.object({
      queryId: z.string().nullable(), query: z.string(), calls: z.number(), totalMs: z.number(), meanMs: z.number(), rows: z.number(),
    }).strict()),
  }).strict(),
  cache: z.object({ database: z.string(), blocksHit: z.number(), blocksRead: z.number(), hitRatioPercent: z.number().min(0).max(100).nullable() }).strict(),
  connections: z.object({
    maxConnections: z.number().int(), reservedConnections: z.number().int(), inUse: z.number().int(),
    usedPercent: z.number(), byState: z.record(z.string(), z.number().int()),
  }).strict(),
}).strict();

const dbUrl = process.env.TEST_DATABASE_URL ?? '';
const TICKS = 20;

describe('ald-db doctor on the test database', () => {
  let sql: postgres.Sql;
  let parameterIds: string[] = [];

  beforeAll(async () => {
    if (!dbUrl) throw new Error('TEST_DATABASE_URL is not set: run these tests with `npm test -- --only vitest tests/doctor`');
    sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
    // The controller's workload: parameter reads by machine (an index lookup each), then one
    // recorded run. complete_process at the end leaves the machine idle for other suites.
    for (let batch = 0; batch < 6; batch++) {
      const calls = Array.from({ length: 500 }, () => sql`select id from public.get_machine_parameters(${MACHINE_A})`);
      const results = await Promise.all(calls);
      parameterIds = results[0].map((r) => r.id as string);
    }
    const [{ plan }] = await sql`select public.start_process(${MACHINE_A}, ${RECIPE}) as plan`;
    const processId = plan.process_id as string;
    try {
      const t0 = Date.now() - TICKS * 1000;
      for (let i = 0; i < TICKS; i++) {
        const values = parameterIds.map((_, j) => 20 + j + i / 10);
        const ts = new Date(t0 + i * 1000);
        await sql`select public.record_process_data(${processId}, ${parameterIds}::uuid[], ${values}::float8[], array[${ts}]::timestamptz[])`;
      }
    } finally {
      await sql`select public.complete_process(${processId})`;
    }
    await flushStats(sql);
  });

  afterAll(async () => {
    await sql?.end();
  });

  it('adds the partitions of readings into their table and lists them under it', async () => {
    const report = await runDoctor(sql);
    const pdp = report.tables.find((t) => t.table === 'readings');
    expect(pdp, 'readings has rows after the workload').toBeDefined();
    expect(pdp!.kind).toBe('partitioned');
    expect(pdp!.liveRows, 'one row per tick').toBeGreaterThanOrEqual(TICKS);
    expect(pdp!.partitions.length).toBeGreaterThan(0);
    expect(pdp!.liveRows).toBe(pdp!.partitions.reduce((n, p) => n + p.liveRows, 0));
    for (const p of pdp!.partitions) {
      expect(p).toMatchObject({ kind: 'partition', parent: 'readings', belowThreshold: false });
      expect(p.table).toMatch(/^readings_/);
    }
    expect(report.tables.some((t) => t.kind === 'partition'), 'partitions appear only under their table').toBe(false);
  });

  it('lists tables with live rows and their share of index scans, idx_scan / (idx_scan + seq_scan)', async () => {
    const report = await runDoctor(sql);
    const names = report.tables.map((t) => t.table);
    expect(names).toEqual(expect.arrayContaining(['component_parameters', 'machines', 'machine_components']));
    const cp = report.tables.find((t) => t.table === 'component_parameters')!;
    expect(cp.liveRows).toBeGreaterThanOrEqual(137);
    // the workload ran 3000 lookups by machine: whatever the plans, the table was scanned
    expect(cp.seqScans + cp.indexScans).toBeGreaterThanOrEqual(3000);
    for (const t of report.tables) {
      expect(t.liveRows).toBeGreaterThan(0);
      const expected = t.seqScans + t.indexScans > 0 ? (100 * t.indexScans) / (t.seqScans + t.indexScans) : null;
      if (expected === null) expect(t.indexSharePercent).toBeNull();
      else expect(t.indexSharePercent).toBeCloseTo(expected, 9);
    }
  });

  it('passes the healthy database: the CLI prints JSON of the documented shape and exits 0', async () => {
    const report = await runDoctor(sql);
    expect(report.failures, 'the seeded schema has no duplicate index and no large table read sequentially').toEqual([]);
    expect(report.redundantIndexes).toEqual([]);
    const { code, stdout, stderr } = await cli(['doctor', '--db-url', dbUrl, '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const json = ReportSchema.parse(JSON.parse(stdout)) as DoctorReport;
    expect(json.ok).toBe(true);
    expect(json.thresholds).toEqual({ minIndexSharePercent: 95, minRows: 10000 });
    expect(json.server.versionNum).toBe(report.server.versionNum);
    expect(json.connections.inUse).toBeGreaterThanOrEqual(1);
    expect(json.connections.inUse).toBeLessThanOrEqual(json.connections.maxConnections);
    expect(json.cache.blocksHit).toBeGreaterThan(0);
    for (const u of json.unusedIndexes) expect(u.definition).not.toMatch(/create unique index/i);
  });

  it('prints a readable text report with units by default', async () => {
    const { code, stdout } = await cli(['doctor', '--db-url', dbUrl]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ald-db doctor: database \S+ on PostgreSQL \d+/);
    expect(stdout).toMatch(/Index use per table \(fails under 95\.0 % index scans on tables over 10,000 rows\)/);
    expect(stdout).toMatch(/^ {2}readings +[\d,]+ +[\d,]+ +[\d,]+ +[\d.]+ %$/m);
    expect(stdout).toMatch(/^ {4}└ readings_y\d{4}m\d{2} /m);
    expect(stdout).toMatch(/Buffer cache hit ratio: [\d.]+ %/);
    expect(stdout).toMatch(/Connections: \d+ of \d+ in use \([\d.]+ %/);
    expect(stdout).toMatch(/^Result: OK$/m);
  });

  it('fails with exit code 1 and names duplicate and redundant indexes', async () => {
    const t = `doctor_scratch_${randomBytes(4).toString('hex')}`;
    await sql.unsafe(`
      create table public.${t} (id int primary key, machine_id int, note text, unique (id, machine_id));
      create index ${t}_machine on public.${t} (machine_id);
      create index ${t}_machine_again on public.${t} (machine_id);
      create index ${t}_id_covering on public.${t} (id) include (note);`);
    try {
      const report = await runDoctor(sql);
      const found = report.redundantIndexes.filter((r) => r.table === t);
      expect(found.map((r) => [r.index, r.kind, r.coveredBy]).sort()).toEqual([
        [`${t}_id_covering`, 'redundant', `${t}_pkey`],
        [`${t}_machine_again`, 'duplicate', `${t}_machine`],
      ]);
      expect(report.ok).toBe(false);

      const { code, stdout } = await cli(['doctor', '--db-url', dbUrl, '--json']);
      expect(code).toBe(1);
      const json = ReportSchema.parse(JSON.parse(stdout)) as DoctorReport;
      expect(json.ok).toBe(false);
      expect(json.failures).toEqual(expect.arrayContaining([
        expect.objectContaining({ check: 'redundant-index', subject: `public.${t}_machine_again` }),
        expect.objectContaining({ check: 'redundant-index', subject: `public.${t}_id_covering` }),
      ]));
      const text = await cli(['doctor', '--db-url', dbUrl]);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain(`fix: drop index concurrently public.${t}_machine_again;`);
      expect(text.stdout).toMatch(/^Result: FAILED, \d+ problems?$/m);
    } finally {
      await sql.unsafe(`drop table public.${t}`);
    }
  });

  it('fails a table over --min-rows rows read sequentially, with thresholds from the command line', async () => {
    const t = `doctor_scratch_${randomBytes(4).toString('hex')}`;
    await sql.unsafe(`create table public.${t} (id int primary key, note text);
      insert into public.${t} select g, 'row ' || g from generate_series(1, 20000) g;`);
    try {
      for (let i = 0; i < 3; i++) await sql.unsafe(`select count(*) from public.${t} where note like '%7%'`); // no index: sequential
      await flushStats(sql);
      const mine = (json: DoctorReport) => json.failures.filter((f) => f.subject === `public.${t}`);

      const strict = await cli(['doctor', '--db-url', dbUrl, '--json']);
      expect(strict.code).toBe(1);
      const report = JSON.parse(strict.stdout) as DoctorReport;
      expect(mine(report)).toEqual([expect.objectContaining({ check: 'index-share' })]);
      expect(report.tables.find((x) => x.table === t)).toMatchObject({ liveRows: 20000, indexScans: 0, indexSharePercent: 0, belowThreshold: true });

      for (const args of [['--min-index-share', '0'], ['--min-rows', '20000']]) {
        const relaxed = await cli(['doctor', '--db-url', dbUrl, '--json', ...args]);
        const json = JSON.parse(relaxed.stdout) as DoctorReport;
        expect(mine(json), `with ${args.join(' ')}`).toEqual([]);
        expect(relaxed.code).toBe(json.failures.length > 0 ? 1 : 0);
      }
    } finally {
      await sql.unsafe(`drop table public.${t}`);
    }
  });

  it('says why pg_stat_statements is absent and how to enable it', async () => {
    const [server] = await sql`
      select exists (select 1 from pg_available_extensions where name = 'pg_stat_statements') as available,
             exists (select 1 from pg_extension where extname = 'pg_stat_statements') as created,
             current_setting('shared_preload_libraries') ~ '(^|[ ,/"])pg_stat_statements' as preloaded`;
    const report = await runDoctor(sql);
    const st = report.statements;
    expect(st).toMatchObject({ available: server.available, created: server.created });
    expect(st.columns).toEqual(statementTimeColumns(report.server.versionNum));
    if (!server.available) {
      expect(st.status).toBe('not-installed');
      expect(st.note).toMatch(/not installed on this server/);
      return;
    }
    let createdHere = false;
    if (!server.created) {
      expect(st.status).toBe('not-created');
      expect(st.note).toContain(`pg_stat_statements is not created in database ${report.server.database}`);
      expect(st.note).toContain('create extension pg_stat_statements;');
      expect(st.note).toContain('On Supabase it is enabled by default');
      if (!server.preloaded) expect(st.note).toContain('its library is not in shared_preload_libraries');
      await sql`create extension pg_stat_statements`;
      createdHere = true;
    }
    try {
      const after = (await runDoctor(sql)).statements;
      expect(after.created).toBe(true);
      if (server.preloaded) {
        expect(after.status).toBe('ok');
        expect(after.note).toBeNull();
      } else {
        expect(after.status).toBe('not-preloaded');
        expect(after.preloaded).toBe(false);
        expect(after.statements).toEqual([]);
        expect(after.note).toContain('its library is not in shared_preload_libraries');
        expect(after.note).not.toContain('create extension pg_stat_statements;');
        const text = await cli(['doctor', '--db-url', dbUrl]);
        expect(text.stdout).toMatch(/Slowest statements \(pg_stat_statements, by mean_exec_time\)\n {2}not available \(not-preloaded\)/);
      }
    } finally {
      if (createdHere) await sql`drop extension pg_stat_statements`;
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('ald-db doctor on a server that preloads pg_stat_statements', () => {
  let server: EmbeddedServer;
  let url: string;

  beforeAll(async () => {
    // An embedded PostgreSQL 17 started with the library preloaded: the path Supabase takes.
    server = await startEmbedded({ settings: { shared_preload_libraries: 'pg_stat_statements' } });
    url = server.url;
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('lists the slowest statements with mean_exec_time and total_exec_time in ms', async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql`create extension pg_stat_statements`;
      await sql`select pg_sleep(0.2)`;
      for (let i = 0; i < 5; i++) await sql`select count(*) from generate_series(1, 1000)`;
      const report = await runDoctor(sql, { topStatements: 3 });
      const st = report.statements;
      expect(report.server.versionNum).toBeGreaterThanOrEqual(170000);
      expect(st).toMatchObject({ status: 'ok', note: null, created: true, preloaded: true, available: true });
      expect(st.columns).toEqual({ mean: 'mean_exec_time', total: 'total_exec_time' });
      expect(st.statements).toHaveLength(3);
      expect(st.statements[0].query).toMatch(/pg_sleep/);
      expect(st.statements[0].meanMs).toBeGreaterThanOrEqual(200);
      const means = st.statements.map((s) => s.meanMs);
      expect(means).toEqual([...means].sort((a, b) => b - a));
    } finally {
      await sql.end();
    }
    const text = await cli(['doctor', '--db-url', url, '--top', '2']);
    expect(text.stdout).toMatch(/Slowest statements \(pg_stat_statements, by mean_exec_time\)\n {2}\s*mean\s+total\s+calls\s+rows\s+query\n.*\d+\.\d+ ms .*pg_sleep/);
  });
});

// ---------------------------------------------------------------------------------------------
describe('ald-db command line usage', () => {
  it('prints the usage of doctor with --help and exits 0', async () => {
    const { code, stdout } = await cli(['doctor', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: ald-db doctor/);
    expect(stdout).toContain('--min-index-share PCT');
  });

  it('exits 2 with the usage for an unknown or missing command', async () => {
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^ald-db: unknown command: frobnicate\n\nUsage: ald-db <command>/);
    expect(unknown.stderr).toMatch(/^ {2}doctor /m);
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^Usage: ald-db <command>/);
  });

  it('exits 2 on an unknown option or a bad threshold, echoing the input', async () => {
    const unknown = await cli(['doctor', '--db-url', 'postgresql://x@127.0.0.1/x', '--frob']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--frob'/);
    const bad = await cli(['doctor', '--db-url', 'postgresql://x@127.0.0.1/x', '--min-index-share', '150']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--min-index-share must be a percentage from 0 to 100, but got: 150');
    const rows = await cli(['doctor', '--min-rows', 'many']);
    expect(rows.code).toBe(2);
    expect(rows.stderr).toContain('--min-rows must be a whole number of rows, 0 or more, but got: many');
  });

  it('exits 2 without a database URL', async () => {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const { code, stderr } = await cli(['doctor'], env);
    expect(code).toBe(2);
    expect(stderr).toContain('no database: pass --db-url postgresql://… or set DATABASE_URL');
    const notUrl = await cli(['doctor', '--db-url', 'localhost:5432'], env);
    expect(notUrl.code).toBe(2);
    expect(notUrl.stderr).toContain('--db-url must be a postgresql:// URL');
  });

  it('exits 2 with a clear message when the database is unreachable, hiding the password', async () => {
    const port = await freePort();
    const { code, stdout, stderr } = await cli(['doctor', '--db-url', `postgresql://postgres:secret@127.0.0.1:${port}/postgres`]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(new RegExp(`^ald-db doctor: cannot connect to postgresql://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${port}/postgres: .*ECONNREFUSED`));
    expect(stderr).not.toContain('secret');
  });
});
