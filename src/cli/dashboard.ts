// `ald-db dashboard`: serves the performance dashboard (src/dashboard/) on localhost until Ctrl-C.
// It keeps serving while the database is unreachable (the page says so); exit codes: 0 after
// Ctrl-C, 2 on a usage error or when the port cannot be opened.
import { checkDbUrl, parseOptions, readCommandLine, redact, UsageError } from './args.ts';
import { startDashboard } from '../dashboard/server.ts';
import type { Dashboard } from '../dashboard/server.ts';

export const usage = `Usage: ald-db dashboard [--db-url URL] [options]

Serves a live dashboard of the database layer on http://127.0.0.1:PORT/: latency per operation
(p50/p95), round trips per controller step, parameter cache, recorder backlog and data points per
second, connections and pool waits, and the doctor's findings (index-scan share per table, unused
and duplicate indexes, slowest statements). It opens an SDK client on the database, so the SDK
panels show that client's metrics; a controller shows its own by calling startDashboard({ db }).

Options:
  --db-url URL        the database (default: $DATABASE_URL)
  --port N            the port (default 7070; 0: a free one)
  --host HOST         the address to listen on (default 127.0.0.1)
  --allowed-host NAME a host name the browser may use besides the address, localhost and IP
                      literals (repeatable; other names get 403: no DNS rebinding)
  --interval-ms N     a snapshot every N ms (default 1000)
  --no-sdk            no SDK client: the database panels and the doctor only
  -h, --help          print this help
`;

function integer(value: string | undefined, flag: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, but got: ${value}`);
  }
  return n;
}

function parse(argv: string[]) {
  const v = parseOptions(argv, {
    'db-url': { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'allowed-host': { type: 'string', multiple: true },
    'interval-ms': { type: 'string' },
    'no-sdk': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  const dbUrl = v['db-url'] ?? process.env.DATABASE_URL;
  checkDbUrl(dbUrl);
  return {
    help: v.help === true,
    dbUrl,
    sdk: v['no-sdk'] !== true,
    port: integer(v.port, '--port', 0, 65535, 7070),
    host: v.host ?? '127.0.0.1',
    allowedHosts: (v['allowed-host'] ?? []) as string[],
    intervalMs: integer(v['interval-ms'], '--interval-ms', 50, 3_600_000, 1000),
  };
}

/** The SDK client, if the SDK can be loaded (it is optional here: the doctor works without it). */
async function openSdk(databaseUrl: string) {
  try {
    const { createAldDb } = await import('../index.ts');
    return createAldDb({ databaseUrl, applicationName: 'ald-db dashboard' });
  } catch (error) {
    process.stderr.write(`ald-db dashboard: no SDK metrics (${(error as Error).message}); showing the database only\n`);
    return undefined;
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = readCommandLine('dashboard', usage, argv, parse);
  if (typeof args === 'number') return args;
  if (!args.dbUrl) {
    process.stderr.write('ald-db dashboard: no database: pass --db-url postgresql://… or set DATABASE_URL\n');
    return 2;
  }

  const db = args.sdk ? await openSdk(args.dbUrl) : undefined;
  let dashboard: Dashboard;
  try {
    dashboard = await startDashboard({ databaseUrl: args.dbUrl, db, port: args.port, host: args.host, allowedHosts: args.allowedHosts, intervalMs: args.intervalMs });
  } catch (error) {
    await db?.close({ timeoutMs: 1000 });
    process.stderr.write(`ald-db dashboard: cannot serve on ${args.host}:${args.port}: ${(error as Error).message}\n`);
    return 2;
  }
  process.stdout.write(`ald-db dashboard: ${dashboard.url} (database ${redact(args.dbUrl)}; Ctrl-C to stop)\n`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await dashboard.close();
  await db?.close({ timeoutMs: 2000 });
  process.stdout.write('ald-db dashboard: stopped\n');
  return 0;
}
