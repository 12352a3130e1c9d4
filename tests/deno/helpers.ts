// Shared by the Deno tests: the seeded test database, tokens for the seed's users, requests.
// Needs TEST_DATABASE_URL (a fresh database with migrations and supabase/seed.sql; `npm test --
// --only deno` creates one). The functions read SUPABASE_DB_URL and the JWT secret from the
// environment on first use, so they are set here, at import, before any test runs.
import postgres from 'npm:postgres@3.4.9';
import { setLogSink } from '../../functions/_shared/log.ts';
import { tokenFor, type Who } from './tokens.ts';

export * from './tokens.ts';

export const DATABASE_URL = Deno.env.get('TEST_DATABASE_URL') ?? '';
if (!DATABASE_URL) {
  throw new Error(
    'TEST_DATABASE_URL is not set: run `npm test -- --only deno`, or point it at a database with the migrations and supabase/seed.sql',
  );
}
Deno.env.set('SUPABASE_DB_URL', DATABASE_URL);
Deno.env.delete('ALD_DB_URL'); // it would take precedence over SUPABASE_DB_URL

export interface RequestOptions {
  method?: string;
  as?: Who;
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  base?: string;
}

/** A Request to a function; `as` adds the Authorization header of that user. */
export function req(path: string, opts: RequestOptions = {}): Request {
  const headers = new Headers(opts.headers);
  const token = opts.token ?? (opts.as ? tokenFor(opts.as) : undefined);
  if (token) headers.set('Authorization', `Bearer ${token}`);
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers.set('Content-Type', 'application/json');
  }
  return new Request(new URL(path, opts.base ?? 'http://edge.test'), {
    method: opts.method ?? (body ? 'POST' : 'GET'),
    headers,
    body,
  });
}

/** Direct connection for setup and for changes made "by another writer". */
export const admin = postgres(DATABASE_URL, { max: 2, onnotice: () => {} });

/** Log lines written while fn runs (and kept off the test output). */
export async function captureLogs<T>(fn: () => Promise<T>): Promise<{ result: T; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const previous = setLogSink((line) => lines.push(JSON.parse(line)));
  try {
    return { result: await fn(), lines };
  } finally {
    setLogSink(previous);
  }
}

// Quiet by default: tests that look at logs capture them.
setLogSink(() => {});

/** Deno.test for code that keeps a pool open across tests (the isolate's, as in production). */
export function dbTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

/** A running process on machine `machine` (created directly: start_process is not under test here). */
export async function runningProcess(machine: string): Promise<string> {
  await admin`update public.process_executions set status = 'completed', ended_at = now()
              where machine_id = ${machine} and status = 'running'`;
  const [row] = await admin`insert into public.process_executions (machine_id, recipe_snapshot)
                            values (${machine}, '{}'::jsonb) returning id`;
  return row.id as string;
}
