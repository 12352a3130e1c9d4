// Creating, preparing and dropping ald-db databases on a plain (or embedded) PostgreSQL:
// the platform bootstrap of a Supabase project, the migrations through the real Supabase CLI,
// and the seed. Shared by the demo (it ships), the test harness and the benchmark.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** The repository (or the installed package): src/database/ and dist/database/ are two levels down. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The pinned Supabase CLI's entry point (the `supabase` package: an optional peer dependency of the
 * package, a devDependency of the repository). Throws a message that says how to install it.
 */
export function supabaseCli(): string {
  try {
    return createRequire(import.meta.url).resolve('supabase/dist/supabase.js');
  } catch {
    throw new Error('the Supabase CLI is not installed; it applies the migrations: npm i -E supabase@2.117.0');
  }
}
export const DEFAULT_SERVER_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

/** The URL of another database on the same server, with sslmode=disable for the Supabase CLI. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = '/' + database;
  if (!url.searchParams.has('sslmode')) url.searchParams.set('sslmode', 'disable');
  return url.toString();
}

export function uniqueDatabaseName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

function adminClient(serverUrl: string) {
  return postgres(serverUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
}

/** Creates an empty database; throws a readable error when the server is unreachable. */
export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = adminClient(serverUrl);
  try {
    await admin.unsafe(`create database "${name}"`);
  } catch (error) {
    const e = error as { code?: string; message: string };
    if (e.code === 'ECONNREFUSED' || e.code === 'CONNECT_TIMEOUT') {
      throw new Error(`cannot reach PostgreSQL at ${redact(serverUrl)} (${e.code}); start it or set DATABASE_URL`);
    }
    throw error;
  } finally {
    await admin.end();
  }
  return databaseUrl(serverUrl, name);
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const admin = adminClient(serverUrl);
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
}

/**
 * Roles, auth schema and auth.uid() of a Supabase project (supabase/platform-bootstrap.sql).
 * Roles are cluster-wide: an advisory lock, taken in the server's maintenance database that every
 * run shares, keeps two concurrent runs from racing on them.
 */
export async function bootstrapPlatform(serverUrl: string, url: string): Promise<void> {
  const admin = adminClient(serverUrl);
  const db = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const sqlText = await readFile(join(repoRoot, 'supabase/platform-bootstrap.sql'), 'utf8');
    await admin`select pg_advisory_lock(hashtext('ald-db platform bootstrap'))`;
    try {
      await db.unsafe(sqlText);
    } finally {
      await admin`select pg_advisory_unlock(hashtext('ald-db platform bootstrap'))`;
    }
  } finally {
    await Promise.all([db.end(), admin.end()]);
  }
}

/** `supabase db push --db-url` with the pinned CLI: the migrations (and the seed, if asked). */
export async function pushMigrations(url: string, opts: { seed?: boolean; log?: (line: string) => void; workdir?: string } = {}): Promise<void> {
  const args = [supabaseCli(), 'db', 'push', '--db-url', url, '--yes', '--workdir', opts.workdir ?? repoRoot];
  if (opts.seed) args.push('--include-seed');
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, args, { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, DO_NOT_TRACK: '1', SUPABASE_TELEMETRY_DISABLED: '1' } },
      (error, stdout, stderr) => {
        const out = `${stdout}\n${stderr}`.trim();
        if (error) reject(new Error(`supabase db push failed:\n${out}`));
        else {
          for (const line of out.split('\n')) if (/^(Applying|Seeding|Finished)/.test(line)) opts.log?.(line);
          resolve();
        }
      });
  });
}

/** A fresh database with the platform bootstrap, all migrations and (by default) the seed. */
export async function prepareDatabase(
  serverUrl: string, name: string, opts: { seed?: boolean; log?: (line: string) => void; workdir?: string } = {},
): Promise<string> {
  const url = await createDatabase(serverUrl, name);
  try {
    await bootstrapPlatform(serverUrl, url);
    await pushMigrations(url, { seed: opts.seed ?? true, log: opts.log, workdir: opts.workdir });
  } catch (error) {
    await dropDatabase(serverUrl, name).catch(() => {});
    throw error;
  }
  return url;
}

export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
