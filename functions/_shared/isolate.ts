// The isolate's singletons, built from the configuration on first use: the connection pool, the
// parameter cache and the authenticator. Module-level, so every function that runs in the same
// isolate (and every request it serves) shares them: that is what makes the cache a cache.
// Handlers take them as parameters, so tests can pass their own.
import { type Authenticator, createAuthenticator } from './auth.ts';
import { IsolateCache } from './cache.ts';
import { config } from './config.ts';
import { Db } from './db.ts';

export interface Deps {
  /** Called only when a request needs the database, so OPTIONS and 4xx work without one. */
  db: () => Db;
  cache: IsolateCache;
  authenticate: Authenticator;
}

let db: Db | undefined;
let cache: IsolateCache | undefined;
let authenticate: Authenticator | undefined;

// `deno serve` stops on SIGINT/SIGTERM by letting the event loop drain, and idle pooled
// connections would hold it for idle_timeout (20 s): close them as soon as a stop is asked for.
// The edge runtime ends isolates itself and may lack signal listeners; then this does nothing.
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const onStop = () => void shutdown();

function listenForStop(add: boolean): void {
  for (const signal of STOP_SIGNALS) {
    try {
      if (add) Deno.addSignalListener(signal, onStop);
      else Deno.removeSignalListener(signal, onStop);
    } catch {
      // not supported here (edge runtime, Windows SIGTERM): nothing to clean up on a signal
    }
  }
}

export function sharedDb(): Db {
  if (!db) {
    const { dbUrl, dbPoolMax, statementTimeoutMs } = config();
    if (!dbUrl) throw new Error('neither ALD_DB_URL nor SUPABASE_DB_URL is set');
    db = new Db(dbUrl, { max: dbPoolMax, statementTimeoutMs });
    listenForStop(true);
  }
  return db;
}

export function sharedCache(): IsolateCache {
  if (!cache) {
    const c = config();
    cache = new IsolateCache({
      ttlMs: c.cacheTtlMs,
      refreshAfterMs: c.cacheRefreshMs,
      epochCheckMs: c.epochCheckMs,
      maxEntries: c.cacheMaxEntries,
    });
  }
  return cache;
}

export function sharedAuthenticator(): Authenticator {
  if (!authenticate) {
    const c = config();
    authenticate = createAuthenticator({
      jwtSecret: c.jwtSecret,
      jwks: c.jwks,
      audience: c.jwtAudience,
      issuers: c.jwtIssuers,
    });
  }
  return authenticate;
}

/**
 * Reads the configuration and builds the authenticator now, so that a function whose JWT settings
 * are missing or insecure refuses to start (the import throws) instead of failing per request.
 * Each index.ts calls it; handlers built in tests with their own authenticator do not.
 */
export function assertStartable(): void {
  sharedAuthenticator();
}

/** The isolate's dependencies, with any of them replaced. */
export function deps(overrides: Partial<Deps> = {}): Deps {
  return {
    db: overrides.db ?? sharedDb,
    cache: overrides.cache ?? sharedCache(),
    authenticate: overrides.authenticate ?? ((req) => sharedAuthenticator()(req)),
  };
}

/** Waits for background work and closes the pool (tests, and shutdown of `deno serve`). */
export async function shutdown(): Promise<void> {
  await cache?.idle();
  const pool = db;
  db = undefined;
  if (pool) listenForStop(false);
  await pool?.end();
}
