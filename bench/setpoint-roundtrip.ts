// `npx tsx bench/setpoint-roundtrip.ts [--rtt 32] [--iterations 30] [--json] [--db-url URL]`:
// a setpoint from the UI to the PLC and back, through latency-injecting TCP proxies.
//
//   UI       (its own proxy)   set_parameter_value (source operator)           1 round trip
//   controller (its own proxy) db.setpoints.subscribe: NOTIFY wakes it, one claim, the simulated
//                              PLC write (instant), one ack                     2 round trips
//   UI                          hears the parameter change (NOTIFY of the ack's version bump) and
//                              reads the row: applied_value = the value it asked for   1 round trip
//
// Measured per iteration, from the start of the UI's write: the write's own latency, the moment
// the PLC holds the value (the handler ran), and the moment the UI sees it applied. Round trips
// are counted at the proxies (PostgreSQL ReadyForQuery messages), the LISTEN sessions excluded.
// The database is a throwaway one on the server (dropped at the end).
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { DEFAULT_SERVER_URL, dropDatabase, prepareDatabase, uniqueDatabaseName } from '../src/database/database.ts';
import { createAldDb } from '../src/index.ts';
import { distribution, round, type Distribution } from './stats.ts';

const MACHINE = '00000000-0000-4000-8000-000000000001';
const OPERATOR = '00000000-0000-4000-8000-000000000102';
const PARAMETER = 'md5(\'ald-demo/chamber_heater/temperature_set\')::uuid';

export interface SetpointBenchResult {
  rttMs: number;
  iterations: number;
  /** Milliseconds from the start of the UI's write. */
  uiWriteMs: Distribution;
  plcAppliedMs: Distribution;
  visibleAsAppliedMs: Distribution;
  /** Round trips per iteration, counted at the proxies (mean over the iterations). */
  roundTrips: { ui: number; controller: number };
}

function proxied(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

export async function runSetpointBench(serverUrl: string, rttMs: number, iterations: number, log: (s: string) => void = () => {}): Promise<SetpointBenchResult> {
  const name = uniqueDatabaseName('ald_bench_setpoints');
  log(`preparing throwaway database ${name}`);
  const url = await prepareDatabase(serverUrl, name, { seed: true });
  const target = new URL(url);
  const to = { targetHost: target.hostname, targetPort: Number(target.port || 5432), rttMs };
  const uiProxy = new TcpProxy(to);
  const controllerProxy = new TcpProxy(to);
  const listenProxy = new TcpProxy(to);
  await Promise.all([uiProxy.start(), controllerProxy.start(), listenProxy.start()]);
  const ui = postgres(proxied(url, uiProxy.port), { max: 1, onnotice: () => {} });
  const uiListen = postgres(proxied(url, listenProxy.port), { max: 1, onnotice: () => {} });
  const db = createAldDb({ databaseUrl: proxied(url, controllerProxy.port), listenUrl: proxied(url, listenProxy.port), pool: { max: 2 } });
  try {
    const [{ id, min, max }] = await ui<{ id: string; min: number; max: number }[]>`
      select id, min_value as min, max_value as max from public.component_parameters where id = ${ui.unsafe(PARAMETER)}`;
    let plcAt: ((t: number) => void) | undefined;
    const sub = db.setpoints.subscribe(MACHINE, async (requests) => {
      const now = performance.now();
      if (requests.some((r) => r.parameter_id === id)) plcAt?.(now);
      return requests.map(() => ({ ok: true as const }));
    }, { claimedBy: 'bench', pollMs: 60_000 });
    let appliedSeen: ((t: number) => void) | undefined;
    let wanted = Number.NaN;
    let written = Number.POSITIVE_INFINITY;
    // The UI follows the parameter by NOTIFY and, on a version after its own write (the ack's),
    // reads the row (1 round trip), as a UI on Realtime would.
    await uiListen.listen('ald_parameter_changes', async (payload) => {
      const change = JSON.parse(payload) as { id: string; version: number };
      if (!appliedSeen || change.id !== id || change.version <= written) return;
      const [row] = await ui<{ applied_value: number }[]>`select applied_value from public.get_parameters(${[id]}::uuid[])`;
      if (row.applied_value === wanted) appliedSeen(performance.now());
    });
    await new Promise((resolve) => setTimeout(resolve, 500)); // the controller's LISTEN session is up
    await sub.idle();

    const write = async (value: number) => {
      const [row] = await ui<{ version: number }[]>`select version::float8 as version from public.set_parameter_value(${id}, ${value}, source => 'operator', reason => ${`bench as ${OPERATOR}`})`;
      return row.version;
    };
    const samples = { write: [] as number[], plc: [] as number[], visible: [] as number[] };
    const trips = { ui: 0, controller: 0 };
    for (let i = 0; i < iterations + 2; i++) {
      wanted = min + 1 + ((i * 7) % Math.max(1, Math.floor(max - min) - 1));
      uiProxy.resetStats();
      controllerProxy.resetStats();
      const plc = new Promise<number>((resolve) => (plcAt = resolve));
      const visible = new Promise<number>((resolve) => (appliedSeen = resolve));
      written = Number.POSITIVE_INFINITY;
      const t0 = performance.now();
      written = await write(wanted);
      const tWrite = performance.now();
      const [tPlc, tVisible] = await Promise.all([plc, visible]);
      await sub.idle();
      appliedSeen = undefined;
      if (i < 2) continue; // warm-up
      samples.write.push(tWrite - t0);
      samples.plc.push(tPlc - t0);
      samples.visible.push(tVisible - t0);
      trips.ui += uiProxy.stats().roundTrips;
      trips.controller += controllerProxy.stats().roundTrips;
      log(`  #${i - 1}: write ${round(tWrite - t0, 1)} ms, PLC ${round(tPlc - t0, 1)} ms, visible as applied ${round(tVisible - t0, 1)} ms`);
    }
    await sub.close();
    return {
      rttMs, iterations,
      uiWriteMs: distribution(samples.write),
      plcAppliedMs: distribution(samples.plc),
      visibleAsAppliedMs: distribution(samples.visible),
      roundTrips: { ui: round(trips.ui / iterations, 2), controller: round(trips.controller / iterations, 2) },
    };
  } finally {
    await db.close();
    await ui.end({ timeout: 1 });
    await uiListen.end({ timeout: 1 });
    await Promise.all([uiProxy.close(), controllerProxy.close(), listenProxy.close()]);
    await dropDatabase(serverUrl, name);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rtt: { type: 'string' }, iterations: { type: 'string' }, json: { type: 'boolean', default: false }, 'db-url': { type: 'string' } },
    strict: true,
  });
  const rtt = Number(values.rtt ?? 32);
  const iterations = Number(values.iterations ?? 30);
  if (!(rtt >= 0) || !Number.isInteger(iterations) || iterations < 1) throw new Error('--rtt must be >= 0 and --iterations a positive integer');
  const serverUrl = values['db-url'] ?? process.env.DATABASE_URL ?? DEFAULT_SERVER_URL;
  const result = await runSetpointBench(serverUrl, rtt, iterations, values.json ? () => {} : (s) => console.error(s));
  if (values.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const row = (label: string, d: Distribution) => `  ${label.padEnd(34)} p50 ${round(d.p50, 1).toFixed(1).padStart(7)} ms   p95 ${round(d.p95, 1).toFixed(1).padStart(7)} ms`;
  console.log(`setpoint from the UI to the PLC and back, RTT ${rtt} ms, ${iterations} iterations`);
  console.log(row('UI write (set_parameter_value)', result.uiWriteMs));
  console.log(row('PLC holds it (handler called)', result.plcAppliedMs));
  console.log(row('UI sees it applied', result.visibleAsAppliedMs));
  console.log(`  round trips per change: UI ${result.roundTrips.ui} (write and the read of the applied row), controller ${result.roundTrips.controller} (claim and ack)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
