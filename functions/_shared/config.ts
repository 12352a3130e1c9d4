// Settings of the Edge Functions, read from the environment on first use (not at import), so a
// test can set Deno.env before the first request. Every setting has a default that suits hosted
// Supabase; the README lists them all.

export interface EdgeConfig {
  /**
   * ALD_DB_URL, else SUPABASE_DB_URL (set by the platform). Any PostgreSQL URL whose user may
   * `set role authenticated` and `service_role`; Supavisor's transaction mode (port 6543) suits
   * short-lived isolates best.
   */
  dbUrl: string | undefined;
  /** ALD_DB_POOL_MAX: connections per isolate. Few: an isolate serves one request at a time mostly. */
  dbPoolMax: number;
  /** ALD_STATEMENT_TIMEOUT_MS: statement_timeout of every call, so a stuck query frees the isolate. */
  statementTimeoutMs: number;
  /** ALD_CACHE_TTL_MS: an entry older than this is never served (the backstop). */
  cacheTtlMs: number;
  /** ALD_CACHE_REFRESH_MS: an entry older than this is served and refreshed in the background. */
  cacheRefreshMs: number;
  /** ALD_EPOCH_CHECK_MS: how long a machine's epoch counts as checked; the staleness bound. */
  epochCheckMs: number;
  /** ALD_CACHE_MAX_ENTRIES: cached queries per isolate (oldest dropped first). */
  cacheMaxEntries: number;
  /** ALD_CORS_ORIGIN: Access-Control-Allow-Origin. `*` is safe: callers authenticate with a bearer token, not cookies. */
  corsOrigin: string;
  /** ALD_RECORD_MAX_BYTES: largest record-data body; larger gets 413. */
  recordMaxBytes: number;
  /** ALD_RECORD_MAX_ROWS: most readings in one record-data call (record_process_data's own limit). */
  recordMaxRows: number;
  /**
   * ALD_READINGS_IMMUTABLE_AFTER_MS: a readings window that ended longer ago than this is served
   * as immutable (a year of Cache-Control). Default 31 days, the database's max_tick_age: no older
   * tick is accepted, so no answer older than that can change (short of retention dropping it).
   */
  readingsImmutableAfterMs: number;
  /** ALD_JWT_SECRET, else SUPABASE_JWT_SECRET: the legacy HS256 secret. */
  jwtSecret: string | undefined;
  /** SUPABASE_JWKS: the project's public signing keys (ES256/RS256), set by the platform. */
  jwks: string | undefined;
  /** ALD_JWT_AUDIENCE: the `aud` a user token must carry; Supabase Auth issues `authenticated`. */
  jwtAudience: string;
  /** ALD_JWT_ISSUER: accepted `iss` values, comma-separated (e.g. https://<ref>.supabase.co/auth/v1); unchecked when unset. */
  jwtIssuers: string[];
}

function env(name: string): string | undefined {
  const value = Deno.env.get(name);
  return value === undefined || value === '' ? undefined : value;
}

function positiveInt(name: string, fallback: number): number {
  const raw = env(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer, but got: ${raw}`);
  }
  return value;
}

let cached: EdgeConfig | undefined;

/** The configuration, read once per isolate. */
export function config(): EdgeConfig {
  cached ??= readConfig();
  return cached;
}

/** Forget the configuration so the next call re-reads the environment (tests only). */
export function resetConfig(): void {
  cached = undefined;
}

function readConfig(): EdgeConfig {
  const jwtSecret = env('ALD_JWT_SECRET') ?? env('SUPABASE_JWT_SECRET');
  const jwks = env('SUPABASE_JWKS');
  // Issue 14, finding 4: this setting once decoded tokens without any check when no key was set,
  // which with verify_jwt = false accepted a token signed with any key. It is gone; refuse to start
  // rather than run with a setting whose reader expects it to work.
  if (env('ALD_TRUST_PLATFORM_JWT') !== undefined) {
    throw new Error(
      'ALD_TRUST_PLATFORM_JWT is no longer supported: the functions always verify tokens themselves. ' +
        'Unset it and set ALD_JWT_SECRET (HS256) or SUPABASE_JWKS (ES256/RS256; hosted Supabase sets it).',
    );
  }
  if (!jwtSecret && !jwks) {
    throw new Error('no JWT key configured: set ALD_JWT_SECRET (HS256) or SUPABASE_JWKS (ES256/RS256)');
  }
  return {
    dbUrl: env('ALD_DB_URL') ?? env('SUPABASE_DB_URL'),
    dbPoolMax: positiveInt('ALD_DB_POOL_MAX', 3),
    statementTimeoutMs: positiveInt('ALD_STATEMENT_TIMEOUT_MS', 15_000),
    cacheTtlMs: positiveInt('ALD_CACHE_TTL_MS', 300_000),
    cacheRefreshMs: positiveInt('ALD_CACHE_REFRESH_MS', 60_000),
    epochCheckMs: positiveInt('ALD_EPOCH_CHECK_MS', 1_000),
    cacheMaxEntries: positiveInt('ALD_CACHE_MAX_ENTRIES', 1_000),
    corsOrigin: env('ALD_CORS_ORIGIN') ?? '*',
    recordMaxBytes: positiveInt('ALD_RECORD_MAX_BYTES', 1_048_576),
    recordMaxRows: positiveInt('ALD_RECORD_MAX_ROWS', 100_000),
    readingsImmutableAfterMs: positiveInt('ALD_READINGS_IMMUTABLE_AFTER_MS', 31 * 86_400_000),
    jwtSecret,
    jwks,
    jwtAudience: env('ALD_JWT_AUDIENCE') ?? 'authenticated',
    jwtIssuers: (env('ALD_JWT_ISSUER') ?? '').split(',').map((s) => s.trim()).filter(Boolean),
  };
}
