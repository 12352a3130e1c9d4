/**
 * The dashboard's readings page (src/dashboard/public/readings.*) in Debian's chromium
 * (playwright-core), on a private copy of the seed reactor recording through db.recorder(machineId):
 * the chart shows exactly what get_readings returns for its window, the last hour moves live from
 * the latest readings, and dragging across the chart re-queries a narrower window with a finer
 * bucket. Saves the README's docs/readings.png with ALD_WRITE_SCREENSHOTS=1 (`npm run screenshots`),
 * else .tmp/readings.png.
 * Needs TEST_DATABASE_URL: run through `npm test -- --only vitest tests/dashboard-readings`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createAldDb, type AldDb } from '../src/index.ts';
import { startDashboard, type Dashboard } from '../src/dashboard/server.ts';
import { adminSql, cloneReactor, databaseUrl, dropReactor, type Reactor } from './sdk/support.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TICKS = 600;

describe.skipIf(!existsSync(CHROMIUM))('the readings page in a browser', () => {
  let admin: postgres.Sql;
  let reactor: Reactor;
  let db: AldDb;
  let dashboard: Dashboard;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const t0 = Math.floor(Date.now() / 1000) * 1000 - TICKS * 1000;

  beforeAll(async () => {
    admin = adminSql();
    reactor = await cloneReactor(admin, 'readings page');
    db = createAldDb({ databaseUrl: databaseUrl() });
    // ten minutes of the machine at 1 Hz, no process running: a slow ramp with a spike
    const recorder = db.recorder(reactor.machineId);
    for (let i = 0; i < TICKS; i++) {
      recorder.record(Object.fromEntries(reactor.parameterIds.map((id, k) => [id, k + i / 10 + (i === 300 ? 50 : 0)])), new Date(t0 + i * 1000));
    }
    await recorder.close();
    dashboard = await startDashboard({ databaseUrl: databaseUrl(), intervalMs: 1000 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await db?.close();
    await dropReactor(admin, reactor);
    await admin?.end();
  });

  /** What get_readings answers for the page's current window and parameters. */
  async function expected(): Promise<number> {
    const [from, to] = (await page.evaluate(() => document.body.dataset.window ?? '')).split('|');
    const ids = await page.evaluate(() => [...document.querySelectorAll<HTMLInputElement>('#params input:checked')].map((b) => b.value));
    const [{ n }] = await admin`select count(*)::int as n from public.get_readings(${reactor.machineId}::uuid, ${ids}::uuid[], ${from}::timestamptz, ${to}::timestamptz, 500)`;
    return n;
  }

  it('draws exactly the points of the chart query for the last hour, parameters grouped by component', async () => {
    await page.goto(`${dashboard.url}readings?machine_id=${reactor.machineId}`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 20_000 });
    expect(await page.getByTestId('readings-machine').inputValue()).toBe(reactor.machineId);
    expect(await page.locator('#params fieldset').count()).toBe(reactor.componentIds.length);
    expect(await page.locator('#params input:checked').count()).toBe(3);
    const points = Number(await page.evaluate(() => document.body.dataset.points));
    // 600 ticks in the hour: more than 500 points, so buckets of 10 s (the ladder width above 7.2 s), per parameter
    expect(points).toBeGreaterThan(0);
    expect(points).toBe(await expected());
    expect(await page.getByTestId('readings-mode').textContent()).toBe('live · last hour');
    expect(pageErrors).toEqual([]);
  });

  it('moves with every new tick from the latest readings, without another chart query', async () => {
    const before = Number(await page.evaluate(() => document.body.dataset.points));
    const requests = Number(await page.evaluate(() => document.body.dataset.requests));
    // two seconds ahead: later than everything the chart query covered
    const ts = new Date(Math.floor(Date.now() / 1000) * 1000 + 2000);
    const recorder = db.recorder(reactor.machineId);
    recorder.record(Object.fromEntries(reactor.parameterIds.map((id) => [id, 4242.5])), ts);
    await recorder.close();
    await page.waitForFunction((iso) => document.body.dataset.latestTs === iso, ts.toISOString(), { timeout: 10_000 });
    const firstChecked = await page.evaluate(() => document.querySelector<HTMLInputElement>('#params input:checked')!.value);
    await page.waitForFunction((id) => document.getElementById(`latest-${id}`)?.textContent === '4242.5', firstChecked);
    expect(Number(await page.evaluate(() => document.body.dataset.points))).toBe(before + 3);
    // the page learnt of the tick by polling the latest readings
    const after = Number(await page.evaluate(() => document.body.dataset.requests));
    expect(after).toBeGreaterThan(requests);
    expect(await page.getByTestId('readings-mode').textContent()).toBe('live · last hour');
  });

  it('re-queries a dragged window with a finer bucket, and a double click goes back', async () => {
    const hour = (await page.evaluate(() => document.body.dataset.window ?? '')).split('|').map(Date.parse);
    const over = page.locator('#readings-chart .u-over');
    const box = (await over.boundingBox())!;
    // the recorded ten minutes are the right sixth of the hour: drag across most of them
    await page.mouse.move(box.x + box.width * 0.86, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.97, box.y + box.height / 2, { steps: 8 });
    await page.mouse.up();
    await page.waitForFunction(() => document.body.dataset.window?.length && document.querySelector('[data-testid="readings-mode"]')?.textContent === 'zoomed');
    const zoom = (await page.evaluate(() => document.body.dataset.window ?? '')).split('|').map(Date.parse);
    expect(zoom[1] - zoom[0]).toBeLessThan((hour[1] - hour[0]) / 5);
    const points = Number(await page.evaluate(() => document.body.dataset.points));
    expect(points).toBe(await expected());
    // under 500 ticks in the window: the raw readings, the spike included
    const [{ top }] = await admin`select max(max_value) as top from public.get_readings(${reactor.machineId}::uuid,
      ${[await page.evaluate(() => document.querySelector<HTMLInputElement>('#params input:checked')!.value)]}::uuid[],
      ${new Date(zoom[0]).toISOString()}::timestamptz, ${new Date(zoom[1]).toISOString()}::timestamptz, 500)`;
    expect(Number(top)).toBeGreaterThanOrEqual(50);
    // the README's screenshot only on request, so that a test run leaves the checkout clean
    const shot = process.env.ALD_WRITE_SCREENSHOTS === '1' ? `${repoRoot}docs/readings.png` : `${repoRoot}.tmp/readings.png`;
    await page.screenshot({ path: shot, fullPage: true });
    await over.dblclick();
    await page.waitForFunction(() => document.querySelector('[data-testid="readings-mode"]')?.textContent === 'live · last hour');
    expect(pageErrors).toEqual([]);
  });
});
