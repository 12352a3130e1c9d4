// `npm run test:soak`: the load run of tests/load for longer. 50 simulated controllers, each on
// its own copy of the seed reactor, record 137 readings at 10 Hz and step through their recipes
// for 60 s against a throwaway database (created on DATABASE_URL's server, default the local
// PostgreSQL at 127.0.0.1:5432, and dropped afterwards). Prints throughput, latencies and the
// lost/duplicated counts; exits 1 unless every recorded row is stored exactly once, no call
// failed and the pool waits stayed within their bound.
//
//   npm run test:soak
//   npm run test:soak -- --controllers 20 --duration 30 --json
//
// With --machines N, the fleet soak of telemetry instead (tests/load/telemetry.ts): N machines
// record all 137 parameters at 1 Hz through db.recorder(machineId) with no process running, for
// --duration seconds (default 600 with --machines); exits 1 unless every tick is stored exactly
// once; prints the database backends' CPU and the bytes of readings per machine-day.
//
//   npm run test:soak -- --machines 100
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { runLoad } from '../tests/load/controllers.ts';
import { runTelemetry } from '../tests/load/telemetry.ts';
import { DEFAULT_SERVER_URL, dropDatabase, prepareDatabase, redact, uniqueDatabaseName } from '../src/database/database.ts';

const { values } = parseArgs({
  options: {
    controllers: { type: 'string', default: '50' },
    machines: { type: 'string' },
    duration: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const controllers = Number(values.controllers);
const machines = values.machines === undefined ? undefined : Number(values.machines);
const durationMs = Number(values.duration ?? (machines === undefined ? 60 : 600)) * 1000;
if (machines !== undefined && (!Number.isInteger(machines) || machines < 1)) {
  console.error(`--machines must be a positive integer, but got: ${values.machines}`);
  process.exit(2);
}
if (!Number.isInteger(controllers) || controllers < 1 || !(durationMs > 0)) {
  console.error(`--controllers must be a positive integer and --duration a positive number of seconds, but got: ${values.controllers}, ${values.duration}`);
  process.exit(2);
}
const serverUrl = process.env.DATABASE_URL ?? DEFAULT_SERVER_URL;

async function main(): Promise<number> {
  const name = uniqueDatabaseName('ald_soak');
  console.log(`preparing ${name} on ${redact(serverUrl)}`);
  const url = await prepareDatabase(serverUrl, name, { seed: true });
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  try {
    const [{ version }] = await sql<{ version: string }[]>`select current_setting('server_version') as version`;
    const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
      `PostgreSQL ${version}, Node ${process.version}`;
    const loadBefore = loadavg()[0].toFixed(2);
    if (machines !== undefined) return await fleetSoak(url, sql, machine, loadBefore);
    console.log(`${controllers} controllers for ${durationMs / 1000} s on ${machine}; load average ${loadBefore}`);
    const { fleet: _fleet, ...r } = await runLoad(url, sql, { controllers, durationMs, log: console.log });
    const loadAfter = loadavg()[0].toFixed(2);
    if (values.json) console.log(JSON.stringify({ machine, loadAverage: [loadBefore, loadAfter], ...r }, null, 2));
    const ms = (p: { p50: number; p99: number }) => `p50 ${p.p50} ms, p99 ${p.p99} ms`;
    console.log([
      `clients:     ${r.clients} (${r.controllers / r.clients} controllers each), at most ${r.connections} connections`,
      `recorded:    ${r.ticks} ticks (${r.ticksPerController.min}..${r.ticksPerController.max} per controller, ${(r.ticks / r.controllers / (r.recordingMs / 1000)).toFixed(1)} Hz of 10 Hz asked), ` +
        `${r.rows.recorded} rows in ${(r.recordingMs / 1000).toFixed(1)} s`,
      `stored:      ${r.rows.stored} rows; lost ${r.rows.lost}, duplicated ${r.rows.duplicated}, unexpected ${r.rows.unexpected}`,
      `throughput:  ${r.throughput} rows/s stored`,
      `record:      ${ms(r.latency.record)} (tick recorded -> stored, ${r.latency.record.n} ticks)`,
      `advance:     ${ms(r.latency.advance)} (${r.latency.advance.n} steps; runs ${r.runs.started} started, ${r.runs.completed} completed, ${r.runs.aborted} cut by the end)`,
      `pool:        waiting max ${r.pool.maxWaiting} (bound ${r.pool.waitBound}), in use max ${r.pool.maxInUse}`,
      `errors:      surfaced ${JSON.stringify(r.errors.surfaced)}, failed attempts ${JSON.stringify(r.errors.attempts)}, dropped rows ${r.errors.dropped}`,
      `this process: ${r.node.cpu} CPU, event loop ${Math.round(r.node.eventLoopUtilization * 100)} % busy; load average ${loadBefore} -> ${loadAfter}`,
    ].join('\n'));
    const ok = r.rows.lost === 0 && r.rows.duplicated === 0 && r.rows.unexpected === 0 && r.rows.stored === r.rows.recorded &&
      Object.keys(r.errors.surfaced).length === 0 && Object.keys(r.errors.attempts).length === 0 && r.errors.dropped === 0 &&
      r.pool.maxWaiting <= r.pool.waitBound && r.ticksPerController.min > 0;
    console.log(ok ? 'soak: ok' : 'soak: FAILED');
    return ok ? 0 : 1;
  } finally {
    await sql.end({ timeout: 5 });
    await dropDatabase(serverUrl, name);
  }
}

async function fleetSoak(url: string, sql: postgres.Sql, machine: string, loadBefore: string): Promise<number> {
  console.log(`${machines} machines x 137 parameters at 1 Hz for ${durationMs / 1000} s on ${machine}; load average ${loadBefore}`);
  const r = await runTelemetry(url, sql, { machines: machines!, durationMs, log: console.log });
  const loadAfter = loadavg()[0].toFixed(2);
  if (values.json) console.log(JSON.stringify({ machine, loadAverage: [loadBefore, loadAfter], ...r }, null, 2));
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
  console.log([
    `clients:      ${r.clients} (${r.machines / r.clients} machine recorders each)`,
    `ticks:        ${r.ticks.recorded} recorded in ${(r.recordingMs / 1000).toFixed(1)} s; stored ${r.ticks.stored}; lost ${r.ticks.lost}, duplicated ${r.ticks.duplicated}, unexpected ${r.ticks.unexpected}`,
    `readings:     ${r.readings} (${r.readingsPerSecond} a second)`,
    `record:       p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms (tick recorded -> stored, ${r.latency.n} ticks)`,
    `server CPU:   ${r.serverCpu === null ? 'not measured (the server is not on this host)' : `${r.serverCpu} cores (the soak's backends, utime + stime)`}`,
    `storage:      ${mb(r.bytes)} of readings, ${r.bytesPerReading} bytes a reading, ${mb(r.bytesPerMachineDay)} per machine-day`,
    `errors:       ${JSON.stringify(r.errors)}, dropped ${r.dropped}; load average ${loadBefore} -> ${loadAfter}`,
  ].join('\n'));
  const ok = r.ticks.lost === 0 && r.ticks.duplicated === 0 && r.ticks.unexpected === 0 && r.ticks.stored === r.ticks.recorded &&
    r.dropped === 0 && Object.keys(r.errors).length === 0 && r.ticks.recorded > 0;
  console.log(ok ? 'soak: ok' : 'soak: FAILED');
  return ok ? 0 : 1;
}

main().then((code) => process.exit(code), (error) => {
  console.error(error instanceof Error ? error.stack ?? error.message : error);
  process.exit(1);
});
