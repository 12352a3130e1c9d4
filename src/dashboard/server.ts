// startDashboard(): the performance dashboard on a local HTTP server (node:http, nothing else).
//
//   GET /                 the page (src/dashboard/public/), charts by uPlot from node_modules
//   GET /metrics          the registry in the Prometheus text format
//   GET /api/snapshot     the latest snapshot (types.ts); ?id=N: snapshot N while it is in the history
//   GET /api/history      the recent snapshots without the doctor's report (the charts' points)
//   GET /api/events       server-sent events: one `snapshot` event per interval
//   GET /readings         the readings page: a machine's parameters over time (live, a run, any window)
//   GET /api/readings/*   its data (readings-api.ts)
//
// It serves as long as it runs: an unreachable database only shows in the snapshot
// (database.reachable: false, with the reason), and the SDK's metrics keep coming.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import type { Registry } from 'prom-client';
import type { DoctorOptions, Sql } from '../doctor/index.ts';
import { DatabaseMonitor } from './database-monitor.ts';
import { BadRequest, readingsApi } from './readings-api.ts';
import { Snapshots } from './snapshots.ts';

export interface DashboardOptions {
  /** The database to check and run the doctor on (a postgres.js client; not closed by the dashboard). */
  sql?: Sql;
  /** ... or its URL: the dashboard opens (and closes) a small pool of its own. */
  databaseUrl?: string;
  /** The metrics to show, e.g. db.metrics; any prom-client Registry with the SDK's metric names. */
  registry?: Pick<Registry, 'getMetricsAsJSON' | 'metrics' | 'contentType'>;
  /** An SDK client: its registry is used when `registry` is not given. */
  db?: { metrics: Pick<Registry, 'getMetricsAsJSON' | 'metrics' | 'contentType'> };
  /** 0 (default): a free port. */
  port?: number;
  /** Default 127.0.0.1: the page shows database internals, keep it off the network. */
  host?: string;
  /**
   * Host names (besides `localhost`, IP literals and `host`) that requests may name in their Host
   * header. Any other name is refused with 403, so a web page cannot reach the dashboard through
   * DNS rebinding (a name of the attacker's that resolves to 127.0.0.1).
   */
  allowedHosts?: readonly string[];
  /** A snapshot every this many ms (default 1000). */
  intervalMs?: number;
  /** Rates and latency quantiles cover this many ms (default 10 000). */
  windowMs?: number;
  /** The doctor runs every this many ms (default 10 000). */
  doctorIntervalMs?: number;
  /** A database check that takes longer counts as unreachable (default 5000 ms; the doctor gets 4×). */
  timeoutMs?: number;
  /** Options of the doctor's checks (thresholds, schemas, how many statements). */
  doctor?: DoctorOptions;
  /** Snapshots kept for the charts (default 300). */
  historySize?: number;
}

export interface Dashboard {
  /** http://host:port/ */
  url: string;
  close(): Promise<void>;
}

const PUBLIC = fileURLToPath(new URL('./public/', import.meta.url));
const require = createRequire(import.meta.url);
const UPLOT = { js: require.resolve('uplot/dist/uPlot.esm.js'), css: require.resolve('uplot/dist/uPlot.min.css') };

/** URL path → file and content type. Nothing else is served from disk. */
const FILES: Record<string, [path: string, type: string]> = {
  '/': [`${PUBLIC}index.html`, 'text/html; charset=utf-8'],
  '/index.html': [`${PUBLIC}index.html`, 'text/html; charset=utf-8'],
  '/style.css': [`${PUBLIC}style.css`, 'text/css; charset=utf-8'],
  '/app.js': [`${PUBLIC}app.js`, 'text/javascript; charset=utf-8'],
  '/panels.js': [`${PUBLIC}panels.js`, 'text/javascript; charset=utf-8'],
  '/charts.js': [`${PUBLIC}charts.js`, 'text/javascript; charset=utf-8'],
  '/format.js': [`${PUBLIC}format.js`, 'text/javascript; charset=utf-8'],
  '/readings': [`${PUBLIC}readings.html`, 'text/html; charset=utf-8'],
  '/readings.html': [`${PUBLIC}readings.html`, 'text/html; charset=utf-8'],
  '/readings.js': [`${PUBLIC}readings.js`, 'text/javascript; charset=utf-8'],
  '/vendor/uPlot.esm.js': [UPLOT.js, 'text/javascript; charset=utf-8'],
  '/vendor/uPlot.min.css': [UPLOT.css, 'text/css; charset=utf-8'],
};

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
};

function positiveInteger(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be a whole number of at least ${min}, but got: ${JSON.stringify(value)}`);
  }
  return value;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...SECURITY_HEADERS, ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown) =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

export async function startDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`startDashboard must be called with an options object, but got: ${JSON.stringify(options)}`);
  }
  if (options.sql && options.databaseUrl) throw new TypeError('startDashboard takes sql or databaseUrl, not both');
  const intervalMs = positiveInteger('intervalMs', options.intervalMs, 1000, 50);
  const windowMs = positiveInteger('windowMs', options.windowMs, 10_000, intervalMs);
  const doctorIntervalMs = positiveInteger('doctorIntervalMs', options.doctorIntervalMs, 10_000, 100);
  const timeoutMs = positiveInteger('timeoutMs', options.timeoutMs, 5000, 10);
  const historySize = positiveInteger('historySize', options.historySize, 300, 2);
  const port = positiveInteger('port', options.port, 0, 0);
  const host = options.host ?? '127.0.0.1';
  const registry = options.registry ?? options.db?.metrics;

  // prepare: false, so it also works through a transaction pooler (Supavisor, port 6543).
  const ownSql = options.databaseUrl
    ? postgres(options.databaseUrl, {
      max: 2, prepare: false, connect_timeout: Math.ceil(timeoutMs / 1000), idle_timeout: 60, onnotice: () => {},
      connection: { application_name: 'ald-db dashboard' },
    })
    : undefined;
  const sql = options.sql ?? ownSql;
  const monitor = new DatabaseMonitor(sql, { timeoutMs, doctorIntervalMs, doctor: options.doctor ?? {} });
  const snapshots = new Snapshots(registry, monitor, { intervalMs, windowMs, historySize });
  const streams = new Set<ServerResponse>();

  const events = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', ...SECURITY_HEADERS,
    });
    // The browser reconnects by itself after `retry` ms when the stream drops.
    res.write(`retry: ${Math.max(1000, intervalMs)}\n\n`);
    const push = (s: { id: number }) => res.write(`id: ${s.id}\nevent: snapshot\ndata: ${JSON.stringify(s)}\n\n`);
    const latest = snapshots.latest();
    if (latest) push(latest);
    const unsubscribe = snapshots.subscribe(push);
    // A comment now and then keeps proxies from closing an idle stream.
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    streams.add(res);
    req.on('close', () => {
      unsubscribe();
      clearInterval(keepAlive);
      streams.delete(res);
    });
  };

  const allowedHosts = new Set(['localhost', host.toLowerCase(), ...(options.allowedHosts ?? []).map((h) => h.toLowerCase())]);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!hostAllowed(req.headers.host, allowedHosts)) {
      return send(res, 403, 'text/plain; charset=utf-8',
        `Host ${JSON.stringify(req.headers.host ?? '')} is not allowed: open the dashboard by its address, or pass allowedHosts\n`);
    }
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, 'text/plain; charset=utf-8', `${req.method} is not allowed: the dashboard only serves GET\n`, { allow: 'GET, HEAD' });
    }
    const file = FILES[url.pathname];
    if (file) return send(res, 200, file[1], await readFile(file[0]));
    switch (url.pathname) {
      case '/metrics':
        if (!registry) return send(res, 404, 'text/plain; charset=utf-8', 'no registry: this dashboard shows the database only\n');
        return send(res, 200, registry.contentType, await registry.metrics());
      case '/api/snapshot': {
        const id = url.searchParams.get('id');
        const snapshot = id === null ? snapshots.latest() : snapshots.byId(Number(id));
        if (!snapshot) return sendJson(res, 404, { error: `no snapshot ${id} in the history (it keeps the last ${historySize})` });
        return sendJson(res, 200, snapshot);
      }
      case '/api/history':
        return sendJson(res, 200, snapshots.points());
      case '/api/events':
        return events(req, res);
      default:
        if (url.pathname.startsWith('/api/readings/')) {
          if (!sql) return sendJson(res, 503, { error: 'no database: start the dashboard with a database to see readings' });
          try {
            return sendJson(res, 200, await readingsApi(sql, url.pathname.slice('/api/readings/'.length), url.searchParams));
          } catch (error) {
            if (error instanceof BadRequest) return sendJson(res, error.status, { error: error.message });
            throw error;
          }
        }
        return send(res, 404, 'text/plain; charset=utf-8', `not found: ${url.pathname}\n`);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Never a stack: the reason, in one line.
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `dashboard error: ${(error as Error)?.message ?? String(error)}\n`);
      else res.destroy();
    });
  });

  try {
    await snapshots.start();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await snapshots.stop();
    await ownSql?.end({ timeout: 5 });
    throw error;
  }

  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}/`,
    close() {
      closing ??= (async () => {
        await snapshots.stop();
        for (const res of streams) res.end();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await ownSql?.end({ timeout: 5 });
      })();
      return closing;
    },
  };
}

/**
 * Whether a request's Host header names this dashboard: an IP literal (a DNS rebinding attack needs
 * a name), `localhost`, the bind host or one of the allowed names, with or without a port.
 */
export function hostAllowed(hostHeader: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (!hostHeader) return false;
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return /^\[[0-9a-f:.]+\](:\d+)?$/.test(h); // IPv6 literal
  const name = h.replace(/:\d+$/, '');
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return true;
  return allowed.has(name);
}
