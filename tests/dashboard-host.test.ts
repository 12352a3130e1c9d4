// Issue 14 (lesser finding): the dashboard answered any Host header, so a web page on an attacker's
// domain that resolves to 127.0.0.1 (DNS rebinding) could read it from the operator's browser.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../src/sdk/metrics.ts';
import { hostAllowed, startDashboard, type Dashboard } from '../src/dashboard/server.ts';

function get(url: string, host: string): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname: u.hostname, port: u.port, path: '/api/history', headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dashboard checks the Host header', () => {
  let dashboard: Dashboard;
  beforeAll(async () => {
    const metrics = new Metrics({ pool: () => ({ max: 0, inUse: 0, waiting: 0 }), cacheEntries: () => 0, cacheCoherent: () => true, backlog: () => ({ rows: 0, ticks: 0 }) });
    dashboard = await startDashboard({ registry: metrics.registry, intervalMs: 200, allowedHosts: ['dashboard.lab.example'] });
  });
  afterAll(async () => { await dashboard?.close(); });

  it('refuses a name it was not told about (403) and serves its address, localhost and allowed names', async () => {
    const port = new URL(dashboard.url).port;
    expect(await get(dashboard.url, `rebind.attacker.example:${port}`)).toBe(403);
    expect(await get(dashboard.url, 'rebind.attacker.example')).toBe(403);
    expect(await get(dashboard.url, `127.0.0.1:${port}`)).toBe(200);
    expect(await get(dashboard.url, `localhost:${port}`)).toBe(200);
    expect(await get(dashboard.url, `dashboard.lab.example:${port}`)).toBe(200);
  });

  it('accepts IP literals and the allowed names only', () => {
    const allowed = new Set(['localhost', 'ctl.example']);
    expect(hostAllowed('[::1]:8080', allowed)).toBe(true);
    expect(hostAllowed('10.0.0.7', allowed)).toBe(true);
    expect(hostAllowed('CTL.example:80', allowed)).toBe(true);
    expect(hostAllowed('ctl.example.attacker.example', allowed)).toBe(false);
    expect(hostAllowed('', allowed)).toBe(false);
    expect(hostAllowed(undefined, allowed)).toBe(false);
  });
});
