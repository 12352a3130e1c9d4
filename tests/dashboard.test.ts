/**
 * The dashboard (src/dashboard/, src/cli/dashboard.ts): the quantile and window arithmetic, the
 * HTTP endpoints, and the page in Debian's chromium (playwright-core) while an SDK workload runs on
 * the test database: the numbers it shows against /api/snapshot and /metrics, a phone viewport,
 * and an outage of the database (through a TcpProxy). Saves the README's docs/dashboard.png when
 * ALD_WRITE_SCREENSHOTS=1 (`npm run screenshots`), else .tmp/dashboard.png.
 * Needs TEST_DATABASE_URL: run through `npm test -- --only vitest tests/dashboard`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createAldDb, flattenPlan, type AldDb, type PlannedStep, type Recorder } from '../src/index.ts';
import { Metrics } from '../src/sdk/metrics.ts';
import { startDashboard, type Dashboard } from '../src/dashboard/server.ts';
import { histogramQuantile, type Buckets } from '../src/dashboard/prometheus.ts';
import { SdkWindow } from '../src/dashboard/sdk-stats.ts';
import type { Snapshot } from '../src/dashboard/types.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { adminSql, cloneReactor, databaseUrl, dropReactor, viaPort, type Reactor } from './sdk/support.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const INTERVAL_MS = 500;
const WINDOW_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
describe('latency quantiles from histogram buckets', () => {
  // bounds 1, 5, 10 (ms); cumulative counts 2, 6, 8 and 10 in all (2 above 10 ms)
  const b: Buckets = { bounds: [1, 5, 10], counts: [2, 6, 8, 10], sum: 0 };

  it('interpolates linearly inside the bucket that holds the rank, from its lower bound', () => {
    // rank 5 of 10: the bucket (1, 5] holds ranks 3..6; 3 of its 4 observations are needed
    expect(histogramQuantile(0.5, b)).toBe(1 + (5 - 1) * (3 / 4));
    // rank 1: the first bucket starts at 0
    expect(histogramQuantile(0.1, b)).toBe(0.5);
  });

  it('answers the largest finite bound when the rank falls in the +Inf bucket', () => {
    expect(histogramQuantile(0.95, b)).toBe(10);
  });

  it('answers null for an empty histogram and refuses a quantile outside 0..1', () => {
    expect(histogramQuantile(0.5, { bounds: [1, 5], counts: [0, 0, 0], sum: 0 })).toBeNull();
    expect(() => histogramQuantile(95, b)).toThrow(/from 0 to 1, but got: 95/);
  });
});

describe('SDK stats over a window', () => {
  it('rates and window quantiles count only what happened in the window; totals count since start', async () => {
    const metrics = new Metrics({ pool: () => ({ max: 4, inUse: 1, waiting: 2 }), cacheEntries: () => 7, cacheCoherent: () => true, backlog: () => ({ rows: 137, ticks: 1 }) });
    const window = new SdkWindow(10_000);
    metrics.attempt('advance_step', 0.2); // 200 ms, before the window
    metrics.cacheHits(3);
    const first = await window.read(metrics.registry, 0);
    expect(first.recorder.pointsPerSecond).toBeNull(); // no second reading yet
    expect(first.operations[0].window.p50Ms).toBeNull();

    metrics.rowsSent(1370);
    for (let i = 0; i < 4; i++) metrics.attempt('advance_step', 0.003); // in the (1, 5] ms bucket
    metrics.retry('advance_step');
    metrics.attempt('advance_step', 0.003);
    metrics.cacheHits(9);
    metrics.cacheMisses(1, true);
    const s = await window.read(metrics.registry, 10_000);
    const op = s.operations.find((o) => o.operation === 'advance_step')!;
    expect(s.recorder.pointsPerSecond).toBe(137);
    expect(op.roundTrips).toBe(6);
    expect(op.roundTripsPerSecond).toBe(0.5);
    expect(op.roundTripsPerCall).toBe(6 / 5);
    expect(op.window.count).toBe(5);
    expect(op.window.p95Ms).toBeLessThanOrEqual(5); // the 200 ms attempt is outside the window
    expect(op.total.p95Ms).toBeGreaterThan(100);
    expect(s.cache).toMatchObject({ hits: 12, misses: 1, revalidatingReads: 1, windowHitRatioPercent: 90, entries: 7, coherent: true });
    expect(s.cache.hitRatioPercent).toBeCloseTo((12 / 13) * 100, 9);
    expect(s.pool).toEqual({ max: 4, inUse: 1, waiting: 2 });
    expect(s.recorder).toMatchObject({ backlogRows: 137, backlogTicks: 1, rowsSent: 1370 });
  });
});

// ---------------------------------------------------------------------------------------------
/** A controller on a private copy of the seed reactor: steps, parameter reads and writes, a recorder tick per loop. */
class Workload {
  processId = '';
  private steps: PlannedStep[] = [];
  private recorder!: Recorder;
  private loop: Promise<void> | undefined;
  private iteration: Promise<void> | undefined;
  private paused = false;
  private stopping = false;
  private n = 0;

  constructor(private readonly db: AldDb, private readonly reactor: Reactor) {}

  async start(): Promise<void> {
    await this.db.parameters.forMachine(this.reactor.machineId);
    const plan = await this.db.process.start({ machineId: this.reactor.machineId, recipeId: this.reactor.recipeId });
    this.processId = plan.process_id;
    this.steps = flattenPlan(plan);
    this.recorder = this.db.processRecorder(plan.process_id);
    this.loop = this.run();
  }

  /** Lets the iteration in progress finish and the recorder flush: nothing is in flight afterwards. */
  async pause(): Promise<void> {
    this.paused = true;
    await this.iteration;
    await this.recorder.flush();
  }

  resume(): void {
    this.paused = false;
  }

  /** Stops, closes the recorder and completes the run, so the machine is idle again. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    await this.recorder.close();
    await this.db.process.complete({ processId: this.processId, status: 'aborted' });
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      if (!this.paused) {
        this.iteration = this.once();
        await this.iteration;
      }
      await sleep(80);
    }
  }

  private async once(): Promise<void> {
    const i = this.n++;
    const step = this.steps[i];
    if (step) await this.db.process.advance({ processId: this.processId, stepId: step.step_id, stepIndex: step.step_index, loopIteration: step.loop_iteration });
    this.recorder.record(Object.fromEntries(this.reactor.parameterIds.map((id, k) => [id, 20 + k + Math.sin(i / 3)])));
    await this.db.parameters.getMany(this.reactor.parameterIds.slice(0, 20));
    if (i % 3 === 0) await this.db.parameters.set(this.reactor.param('carrier_gas_mfc/flow_rate_set'), 100 + (i % 5) * 10);
    if (i % 5 === 0) await this.db.commands.claimNext(this.reactor.machineId);
  }
}

/** The page's numbers: data-testid → data-value, and the snapshot they were drawn from, read in one task. */
async function pageValues(page: Page): Promise<{ id: number; values: Record<string, number | null>; withoutUnit: string[] }> {
  return page.evaluate(() => {
    const values: Record<string, number | null> = {};
    const withoutUnit: string[] = [];
    for (const e of document.querySelectorAll<HTMLElement>('[data-value]')) {
      const raw = e.dataset.value ?? '';
      values[e.dataset.testid!] = raw === '' ? null : Number(raw);
      if (raw !== '' && !e.querySelector('.unit')?.textContent?.trim()) withoutUnit.push(e.dataset.testid!);
    }
    return { id: Number(document.body.dataset.snapshotId), values, withoutUnit };
  });
}

/** What the page must show for a snapshot (operation selector on "all operations"). */
function expectedValues(s: Snapshot): Record<string, number | null> {
  const e: Record<string, number | null> = {};
  const sdk = s.sdk!;
  Object.assign(e, {
    'latency-p50': sdk.all.window.p50Ms, 'latency-p95': sdk.all.window.p95Ms, 'latency-p95-total': sdk.all.total.p95Ms,
    'latency-rate': sdk.all.roundTripsPerSecond, 'rt-per-call': sdk.all.roundTripsPerCall, 'rt-total': sdk.all.roundTrips,
    'rt-retries': sdk.all.retries, 'rt-errors': sdk.all.errors,
    'cache-hit-ratio': sdk.cache.hitRatioPercent, 'cache-hits': sdk.cache.hits, 'cache-misses': sdk.cache.misses,
    'cache-window-hit-ratio': sdk.cache.windowHitRatioPercent, 'cache-revalidating': sdk.cache.revalidatingReads,
    'cache-revalidating-rate': sdk.cache.revalidatingReadsPerSecond, 'cache-entries': sdk.cache.entries,
    'recorder-points-rate': sdk.recorder.pointsPerSecond, 'recorder-backlog-rows': sdk.recorder.backlogRows,
    'recorder-backlog-ticks': sdk.recorder.backlogTicks, 'recorder-rows-sent': sdk.recorder.rowsSent, 'recorder-rows-dropped': sdk.recorder.rowsDropped,
    'pool-in-use': sdk.pool.inUse, 'pool-max': sdk.pool.max, 'pool-waiting': sdk.pool.waiting,
    'db-connections': s.database.connections?.inUse ?? null, 'db-latency': s.database.latencyMs,
  });
  if (s.database.connections) {
    e['db-connections-percent'] = s.database.connections.usedPercent;
    e['db-connections-max'] = s.database.connections.max;
  }
  const q = s.database.setpoints;
  if (q) {
    Object.assign(e, { 'setpoints-pending': q.pending, 'setpoints-claimed': q.claimed, 'setpoints-overdue': q.overdue, 'setpoints-failed': q.failedLastHour });
    if (q.oldestOpenMs !== null) e['setpoints-oldest'] = q.oldestOpenMs;
  }
  for (const o of sdk.operations) {
    Object.assign(e, {
      [`op-${o.operation}-per-call`]: o.roundTripsPerCall, [`op-${o.operation}-rt`]: o.roundTrips,
      [`op-${o.operation}-rate`]: o.roundTripsPerSecond, [`op-${o.operation}-p50`]: o.window.p50Ms, [`op-${o.operation}-p95`]: o.window.p95Ms,
    });
  }
  for (const m of s.database.machines ?? []) {
    const id = `machine-${m.id}`;
    if (m.controller) e[`${id}-silent`] = m.controller.silentMs;
    if (m.run) {
      Object.assign(e, {
        [`${id}-progress`]: m.run.progressPercent, [`${id}-steps`]: m.run.completedSteps,
        [`${id}-elapsed`]: m.run.elapsedMs, [`${id}-remaining`]: m.run.estimatedRemainingMs,
      });
    }
  }
  const r = s.doctor.report!;
  Object.assign(e, {
    'doctor-failures': r.failures.length, 'doctor-cache-hit-ratio': r.cache.hitRatioPercent,
    'doctor-unused-count': r.unusedIndexes.length, 'doctor-redundant-count': r.redundantIndexes.length,
  });
  for (const t of r.tables.filter((x) => x.kind !== 'partition')) {
    const id = `table-${t.schema}.${t.table}`;
    Object.assign(e, { [`${id}-share`]: t.indexSharePercent, [`${id}-rows`]: t.liveRows, [`${id}-seq`]: t.seqScans, [`${id}-idx`]: t.indexScans });
  }
  r.statements.statements.forEach((x, i) => {
    if (r.statements.status !== 'ok') return;
    Object.assign(e, { [`statement-${i}-mean`]: x.meanMs, [`statement-${i}-calls`]: x.calls, [`statement-${i}-total`]: x.totalMs });
  });
  for (const x of r.unusedIndexes) e[`unused-${x.schema}.${x.index}-size`] = x.sizeBytes;
  for (const x of r.redundantIndexes) e[`redundant-${x.schema}.${x.index}-size`] = x.sizeBytes;
  return e;
}

/** The Prometheus text format, parsed on its own (not through the dashboard's code). */
function parseExposition(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    out.push({ name: m[1], labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return out;
}

async function fetchJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Debian's chromium is missing at ${CHROMIUM}: the browser test needs it. `
      + 'Install it with: sudo apt-get install -y chromium (bash .ci/run does).');
  }
}

// ---------------------------------------------------------------------------------------------
describe('the dashboard on the test database, in a browser, while a controller works', () => {
  let sql: postgres.Sql;
  let reactor: Reactor;
  let db: AldDb;
  let workload: Workload;
  let proxy: TcpProxy;
  let dashboardSql: postgres.Sql;
  let dashboard: Dashboard;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    requireChromium();
    sql = adminSql();
    reactor = await cloneReactor(sql, 'dashboard');
    db = createAldDb({ databaseUrl: databaseUrl(), cache: { hotRefreshMs: 0 } });
    await db.ready();
    await db.controllers.register({ machineId: reactor.machineId, host: 'dashboard-test', version: 'test' });
    workload = new Workload(db, reactor);
    await workload.start();
    // The dashboard reaches the database through a proxy, so the test can take the database away
    // from the dashboard alone while the controller keeps working.
    proxy = new TcpProxy({ targetPort: Number(new URL(databaseUrl()).port || 5432) });
    await proxy.start();
    dashboardSql = postgres(viaPort(proxy.port), { max: 2, prepare: false, connect_timeout: 2, onnotice: () => {} });
    dashboard = await startDashboard({ sql: dashboardSql, db, intervalMs: INTERVAL_MS, windowMs: WINDOW_MS, doctorIntervalMs: 2000, timeoutMs: 1500 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await dashboardSql?.end({ timeout: 5 });
    await proxy?.close();
    await workload?.stop();
    await db?.close();
    await dropReactor(sql, reactor);
    await sql?.end();
  }, 60_000);

  it('serves the page, its files, /metrics, snapshots by id, the history and an event stream', async () => {
    const index = await fetch(dashboard.url);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await index.text()).toContain('<script type="module" src="/app.js">');
    for (const path of ['app.js', 'panels.js', 'charts.js', 'format.js', 'style.css', 'vendor/uPlot.esm.js', 'vendor/uPlot.min.css']) {
      expect((await fetch(new URL(path, dashboard.url))).status, path).toBe(200);
    }
    const metrics = await fetch(new URL('metrics', dashboard.url));
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await metrics.text()).toMatch(/^ald_db_client_round_trips_total\{operation="advance_step"\} \d+$/m);

    const latest = await fetchJson<Snapshot>(new URL('api/snapshot', dashboard.url).href);
    expect(latest.database).toMatchObject({ configured: true, reachable: true, error: null });
    expect(await fetchJson<Snapshot>(new URL(`api/snapshot?id=${latest.id}`, dashboard.url).href)).toEqual(latest);
    expect((await fetch(new URL('api/snapshot?id=999999', dashboard.url))).status).toBe(404);
    const history = await fetchJson<{ id: number; doctor?: unknown }[]>(new URL('api/history', dashboard.url).href);
    expect(history.at(-1)!.id).toBeGreaterThanOrEqual(latest.id);
    expect(history.every((p) => p.doctor === undefined)).toBe(true);

    const controller = new AbortController();
    const events = await fetch(new URL('api/events', dashboard.url), { signal: controller.signal });
    expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = events.body!.getReader();
    let text = '';
    while (!/\n\n(?:.|\n)*event: snapshot\ndata: .+\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toMatch(/^retry: \d+\n\n/);

    expect((await fetch(new URL('nope', dashboard.url))).status).toBe(404);
    expect((await fetch(new URL('../package.json', dashboard.url))).status).toBe(404);
    const post = await fetch(new URL('api/snapshot', dashboard.url), { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it('shows exactly the numbers of the snapshot it drew, each with its unit, while the workload runs', async () => {
    await page.goto(dashboard.url);
    // Enough history for the charts, and the doctor's first report.
    await page.waitForFunction(() => Number(document.body.dataset.snapshotId) >= 16 && document.querySelector('[data-testid="doctor-failures"]'), null, { timeout: 20_000 });
    const shown = await pageValues(page);
    const snapshot = await fetchJson<Snapshot>(new URL(`api/snapshot?id=${shown.id}`, dashboard.url).href);
    expect(snapshot.sdk!.all.roundTrips).toBeGreaterThan(0);
    expect(shown.values).toEqual(expectedValues(snapshot));
    expect(shown.withoutUnit).toEqual([]);
    // The machines panel: the working controller and the progress of its run.
    const machine = snapshot.database.machines!.find((m) => m.id === reactor.machineId)!;
    expect(machine).toMatchObject({ status: 'running', controller: { status: 'alive', host: 'dashboard-test' }, run: { status: 'running' } });
    expect(machine.run!.completedSteps).toBeGreaterThan(0);
    expect(shown.values[`machine-${reactor.machineId}-progress`]).toBe(machine.run!.progressPercent);
    expect(await page.locator('#machines tr', { hasText: machine.name }).textContent()).toMatch(/alive · dashboard-test/);
    expect(await page.getByTestId('db-unreachable-banner').isHidden()).toBe(true);
    expect(await page.getByTestId('db-status').textContent()).toMatch(/^database reachable · ald_test/);

    // The README's screenshot is written only on request (ALD_WRITE_SCREENSHOTS=1), so that a test
    // run leaves the checkout clean; otherwise it goes to the ignored .tmp/ like the others.
    const shot = process.env.ALD_WRITE_SCREENSHOTS === '1' ? `${repoRoot}docs/dashboard.png` : `${repoRoot}.tmp/dashboard.png`;
    mkdirSync(`${repoRoot}.tmp`, { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 40_000);

  it('shows the setpoint queue: pending requests and the last failed one with the controller\'s error', async () => {
    const id = reactor.param('lid_heater/kp');
    await sql`select public.set_parameter_value(${id}, 3.25, source => 'operator')`;
    const claimed = await sql<{ request_id: string; parameter_id: string }[]>`select request_id, parameter_id from public.claim_setpoint_requests(${reactor.machineId}, 'dashboard test')`;
    expect(claimed.map((c) => c.parameter_id)).toContain(id);
    await sql`select * from public.ack_setpoint_requests(${reactor.machineId}, ${claimed.map((c) => c.request_id)}::uuid[],
      ${`{${claimed.map((c) => (c.parameter_id !== id ? 't' : 'f')).join(',')}}`}::text::boolean[], null, ${claimed.map((c) => (c.parameter_id === id ? 'dashboard test: PLC refused' : null))}::text[])`;
    await page.goto(dashboard.url);
    await page.waitForFunction(() => document.getElementById('setpoint-failures')?.textContent?.includes('dashboard test: PLC refused'), null, { timeout: 20_000 });
    const row = await page.locator('#setpoint-failures tr', { hasText: 'dashboard test: PLC refused' }).textContent();
    expect(row).toContain('lid_heater.kp');
    expect(row).toContain('3.25');
    expect(Number(await page.getByTestId('setpoint-tiles').locator('[data-testid="setpoints-failed"]').getAttribute('data-value'))).toBeGreaterThanOrEqual(1);
  }, 40_000);

  it('shows the same numbers as /metrics once the controller is quiet', async () => {
    await workload.pause();
    try {
      const after = (await fetchJson<Snapshot>(new URL('api/snapshot', dashboard.url).href)).id;
      await page.waitForFunction((id) => Number(document.body.dataset.snapshotId) > id, after, { timeout: 5000 });
      const shown = await pageValues(page);
      const samples = parseExposition(await (await fetch(new URL('metrics', dashboard.url))).text());
      const sum = (name: string, labels: Record<string, string> = {}) => samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((n, s) => n + s.value, 0);

      const operations = [...new Set(samples.filter((s) => s.name === 'ald_db_client_round_trips_total').map((s) => s.labels.operation))];
      expect(operations).toEqual(expect.arrayContaining(['advance_step', 'set_parameter_value', 'record_process_data', 'claim_next_command']));
      for (const op of operations) expect(shown.values[`op-${op}-rt`], op).toBe(sum('ald_db_client_round_trips_total', { operation: op }));
      const roundTrips = sum('ald_db_client_round_trips_total');
      const retries = sum('ald_db_client_retries_total') + sum('ald_db_recorder_retries_total');
      expect(shown.values['rt-total']).toBe(roundTrips);
      expect(shown.values['rt-per-call']).toBe(roundTrips / (roundTrips - retries));
      expect(shown.values['cache-hits']).toBe(sum('ald_db_cache_hits_total'));
      expect(shown.values['cache-misses']).toBe(sum('ald_db_cache_misses_total'));
      expect(shown.values['cache-revalidating']).toBe(sum('ald_db_cache_revalidating_reads_total'));
      expect(shown.values['cache-hit-ratio']).toBeCloseTo(sum('ald_db_cache_hit_ratio') * 100, 9);
      expect(shown.values['recorder-backlog-rows']).toBe(sum('ald_db_recorder_backlog_rows'));
      expect(shown.values['recorder-backlog-rows']).toBe(0);
      expect(shown.values['recorder-rows-sent']).toBe(sum('ald_db_recorder_rows_sent_total'));
      expect(shown.values['recorder-rows-sent']).toBeGreaterThanOrEqual(137 * 10);
      expect(shown.values['pool-in-use']).toBe(sum('ald_db_pool_connections_in_use'));
      expect(shown.values['pool-waiting']).toBe(sum('ald_db_pool_requests_waiting'));
      expect(shown.values['pool-max']).toBe(sum('ald_db_pool_connections_max'));

      // p95 since start, from the bucket lines of /metrics (every operation and outcome added up)
      const buckets = samples.filter((s) => s.name === 'ald_db_client_operation_duration_seconds_bucket');
      const le = (s: { labels: Record<string, string> }) => (s.labels.le === '+Inf' ? Infinity : Number(s.labels.le));
      const bounds = [...new Set(buckets.map(le))].sort((a, b) => a - b);
      const counts = bounds.map((b) => buckets.filter((s) => le(s) === b).reduce((n, s) => n + s.value, 0));
      expect(shown.values['latency-p95-total']).toBeCloseTo(histogramQuantile(0.95, { bounds: bounds.filter(Number.isFinite), counts, sum: 0 })! * 1000, 9);
    } finally {
      workload.resume();
    }
  }, 30_000);

  it('fits a phone screen in one column without horizontal scrolling', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    try {
      await phone.goto(dashboard.url);
      await phone.waitForFunction(() => document.querySelector('[data-testid="doctor-failures"]'), null, { timeout: 10_000 });
      const layout = await phone.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        width: window.innerWidth,
        lefts: [...document.querySelectorAll('.panel')].map((p) => Math.round(p.getBoundingClientRect().left)),
        rights: [...document.querySelectorAll('.panel')].map((p) => p.getBoundingClientRect().right),
        // Outside the tables (which scroll inside their panel), nothing may reach past the screen.
        outside: [...document.querySelectorAll('.top *, .banner, .tile, .tile *, .chart, .panel-head *')]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5).map((e) => e.className || e.tagName),
      }));
      expect(layout.outside).toEqual([]);
      expect(layout.scrollWidth).toBeLessThanOrEqual(layout.width);
      expect(new Set(layout.lefts).size).toBe(1);
      expect(Math.max(...layout.rights)).toBeLessThanOrEqual(layout.width);
      mkdirSync(`${repoRoot}.tmp`, { recursive: true });
      await phone.screenshot({ path: `${repoRoot}.tmp/dashboard-phone.png`, fullPage: true });
    } finally {
      await phone.close();
    }
  }, 30_000);

  it('says plainly that the database is unreachable, keeps showing SDK metrics, and recovers', async () => {
    const before = await pageValues(page);
    proxy.setRefusing(true);
    proxy.resetAll();
    const banner = page.getByTestId('db-unreachable-banner');
    await banner.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await banner.textContent()).toMatch(/^Database unreachable: .+ — showing SDK metrics only; database panels show last known values from \d\d:\d\d:\d\d\.$/);
    expect(await page.getByTestId('db-status').textContent()).toBe('database unreachable');
    const snapshot = await fetchJson<Snapshot>(new URL('api/snapshot', dashboard.url).href);
    expect(snapshot.database).toMatchObject({ reachable: false, error: expect.any(String) });
    expect(snapshot.database.connections).not.toBeNull(); // last known, kept

    // The controller still works, and its numbers still move on the page.
    const rtBefore = before.values['rt-total']!;
    await page.waitForFunction((n) => Number(document.querySelector<HTMLElement>('[data-testid="rt-total"]')!.dataset.value) > n, rtBefore, { timeout: 10_000 });
    await page.screenshot({ path: `${repoRoot}.tmp/dashboard-unreachable.png` });

    proxy.setRefusing(false);
    await banner.waitFor({ state: 'hidden', timeout: 10_000 });
    expect(await page.getByTestId('db-status').textContent()).toMatch(/^database reachable · /);
    expect(pageErrors).toEqual([]);
  }, 40_000);

  it('shows the connection-lost banner when the dashboard server goes away', async () => {
    const other = await startDashboard({ db, intervalMs: 200 });
    const p = await browser.newPage();
    try {
      await p.goto(other.url);
      await p.waitForFunction(() => document.body.dataset.snapshotId, null, { timeout: 5000 });
      expect(await p.getByTestId('sdk-banner').isHidden()).toBe(true);
      await other.close();
      await p.getByTestId('connection-banner').waitFor({ state: 'visible', timeout: 10_000 });
      expect(await p.getByTestId('connection-banner').textContent()).toMatch(/^Connection to the dashboard lost — reconnecting… Values as of \d\d:\d\d:\d\d\.$/);
    } finally {
      await p.close();
      await other.close();
    }
  }, 30_000);
});

// ---------------------------------------------------------------------------------------------
describe('the dashboard of a database that never answered', () => {
  it('serves the SDK metrics and says why the database is unreachable, with no last known values', async () => {
    const refused = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const metrics = new Metrics({ pool: () => ({ max: 1, inUse: 0, waiting: 0 }), cacheEntries: () => 0, cacheCoherent: () => false, backlog: () => ({ rows: 0, ticks: 0 }) });
    metrics.attempt('claim_next_command', 0.002);
    const dashboard = await startDashboard({ databaseUrl: `postgresql://postgres@127.0.0.1:${refused}/none?sslmode=disable`, registry: metrics.registry, timeoutMs: 1000 });
    try {
      const s = await fetchJson<Snapshot>(new URL('api/snapshot', dashboard.url).href);
      expect(s.database).toMatchObject({ configured: true, reachable: false, lastReachableAt: null, connections: null });
      expect(s.database.error).toMatch(/ECONNREFUSED/);
      expect(s.sdk!.operations.map((o) => [o.operation, o.roundTrips])).toEqual([['claim_next_command', 1]]);
      expect(await (await fetch(new URL('metrics', dashboard.url))).text()).toMatch(/^ald_db_client_round_trips_total\{operation="claim_next_command"\} 1$/m);
    } finally {
      await dashboard.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('ald-db dashboard (the command)', () => {
  function cli(args: string[]) {
    const child = spawn(process.execPath, [`${repoRoot}bin/ald-db.js`, 'dashboard', ...args], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    return { child, exited, out: () => stdout, err: () => stderr };
  }

  it('serves the dashboard of a database with its SDK client until Ctrl-C, then exits 0', async () => {
    const c = cli(['--db-url', databaseUrl(), '--port', '0', '--interval-ms', '200']);
    try {
      const deadline = Date.now() + 20_000;
      while (!/http:\/\/\S+\//.test(c.out()) && Date.now() < deadline) await sleep(50);
      const url = /http:\/\/\S+\//.exec(c.out())?.[0];
      expect(url, c.err()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const s = await fetchJson<Snapshot>(`${url}api/snapshot`);
      // The first snapshot waits for the first check of the database.
      expect(s.database).toMatchObject({ configured: true, reachable: true });
      expect(s.sdk?.pool.max).toBeGreaterThan(0); // the command's own SDK client
      expect((await fetch(url!)).status).toBe(200);
    } finally {
      c.child.kill('SIGINT');
    }
    expect(await c.exited).toBe(0);
    expect(c.out()).toMatch(/stopped\n$/);
  }, 30_000);

  it('exits 2 on a usage error, echoing the bad value', async () => {
    const c = cli(['--db-url', databaseUrl(), '--port', 'eighty']);
    expect(await c.exited).toBe(2);
    expect(c.err()).toMatch(/--port must be a whole number from 0 to 65535, but got: eighty/);
  });
});
