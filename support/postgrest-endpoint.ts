/**
 * TEST STAND-IN FOR POSTGREST, RPC SUBSET ONLY (`/rest/v1/rpc/<fn>`). This is not PostgREST.
 *
 * Why it exists: the SDK's supabase-js transport has to be tested end to end, and there is no
 * PostgREST binary on this machine. A real `createClient(endpoint.url, key).rpc(...)` talks to this
 * server, and this server talks to a real PostgreSQL database. Not implemented: tables and views,
 * filters, select, order, limit, embedding, OpenAPI, Prefer (apart from count), NOTIFY reloads.
 *
 * Behaviour follows PostgREST's docs (docs.postgrest.org references/api/functions, transactions,
 * errors, auth, api/cors) and, where the docs say nothing, its source (src/PostgREST/{Error,Auth}.hs):
 *  - POST takes a JSON object of named arguments. GET takes `?arg=value`, with arrays as `{a,b}`
 *    literals and repeated keys for a VARIADIC argument. The function is chosen by name and argument
 *    names: the given keys must be a subset of its parameters and include every parameter that has no
 *    default. A lone unnamed json/jsonb parameter receives the whole POST body. No match gives
 *    404 PGRST202, several matches give 300 PGRST203.
 *  - Access mode (transactions "Access Mode on Functions"): GET runs READ ONLY. POST runs READ WRITE
 *    for a VOLATILE function and READ ONLY otherwise. PostgREST does not refuse GET on a VOLATILE
 *    function up front: its write fails with 25006, and that maps to 405.
 *  - Per-transaction settings: role, request.jwt.claims (the role claim defaults to the anon role),
 *    request.method, request.path, request.headers (lower-case names), request.cookies, search_path,
 *    and the legacy (before v9) request.jwt.claim.sub and .role that older auth.uid() helpers read.
 *  - The JSON is built in SQL, as PostgREST's query builder does. A set becomes an array, a single
 *    composite an object (a NULL one has every field null), a scalar a bare value, and void gives 204.
 *    `Accept: application/vnd.pgrst.object+json` returns one object, or 406 PGRST116.
 *  - JWT: HS256. exp, nbf and iat get a 30 s allowance (Auth.hs). A failure is 401 PGRST301
 *    (the v12 docs; v13 uses PGRST303 for claim errors).
 *  - Error body {code,message,details,hint}, status from httpStatusFor(). RAISE 'PTxyz' and
 *    RAISE 'PGRST' work as documented in errors "Custom Errors".
 *  - From the Supabase API gateway, not PostgREST: without an Authorization header, the `apikey`
 *    header is used as the token.
 */
import http from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import postgres from 'postgres';

export const TEST_JWT_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';

export function signJwt(claims: Record<string, unknown>, secret: string = TEST_JWT_SECRET): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const unsigned = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}
export const anonKey = (secret?: string) => signJwt({ iss: 'supabase-test', role: 'anon' }, secret);
export const serviceRoleKey = (secret?: string) => signJwt({ iss: 'supabase-test', role: 'service_role' }, secret);

type Status = number | ((authenticated: boolean, message: string) => number);
// How PostgreSQL error codes map to HTTP statuses. A row is either an exact SQLSTATE or a
// 2-character class. Exact rows win over class rows. "errors.rst" rows come from
// docs.postgrest.org/en/stable/references/errors.html#http-status-codes; "Error.hs" rows are
// refinements that exist only in PostgREST's source (src/PostgREST/Error.hs, mapSQLtoHTTP).
const STATUS_TABLE: ReadonlyArray<readonly [string, Status]> = [
  ['08', 503], // errors.rst: pg connection err
  ['09', 500], // errors.rst: triggered action exception
  ['0L', 403], // errors.rst: invalid grantor
  ['0P', 403], // errors.rst: invalid role specification
  ['21000', (_a, m) => (m.endsWith('requires a WHERE clause') ? 400 : 500)], // Error.hs: cardinality_violation
  ['22023', (_a, m) => (/^role .* does not exist$/.test(m) ? 401 : 400)], // Error.hs: role from the JWT is unknown
  ['23503', 409], // errors.rst: foreign key violation
  ['23505', 409], // errors.rst: uniqueness violation
  ['25006', 405], // errors.rst: read only sql transaction
  ['25', 500], // errors.rst: invalid transaction state
  ['28', 403], // errors.rst: invalid auth specification
  ['2D', 500], // errors.rst: invalid transaction termination
  ['38', 500], // errors.rst: external routine exception
  ['39', 500], // errors.rst: external routine invocation
  ['3B', 500], // errors.rst: savepoint exception
  ['40', 500], // errors.rst: transaction rollback (so 40001 and 40P01 are 500)
  ['53400', 500], // errors.rst: config limit exceeded
  ['53', 503], // errors.rst: insufficient resources
  ['54', 500], // errors.rst: too complex
  ['55', 500], // errors.rst: obj not in prerequisite state
  ['57P01', 503], // Error.hs: terminating connection due to administrator command
  ['57', 500], // errors.rst: operator intervention
  ['58', 500], // errors.rst: system error
  ['F0', 500], // errors.rst: config file error
  ['HV', 500], // errors.rst: foreign data wrapper error
  ['P0001', 400], // errors.rst: default code for "raise"
  ['P0', 500], // errors.rst: PL/pgSQL error (so P0002 no_data_found is 500)
  ['XX', 500], // errors.rst: internal error
  ['42883', 404], // errors.rst: undefined function
  ['42P01', 404], // errors.rst: undefined table
  ['42P17', 500], // errors.rst: infinite recursion
  ['42501', (authenticated) => (authenticated ? 403 : 401)], // errors.rst: insufficient privileges
];

/** HTTP status for a SQLSTATE, as PostgREST maps it. `authenticated` = the JWT role differs from the anon role. */
export function httpStatusFor(sqlstate: string, authenticated: boolean, message = ''): number {
  if (/^PT\d{3}$/.test(sqlstate)) return Number(sqlstate.slice(2)); // errors.rst: "RAISE errors with HTTP Status Codes"
  const row = STATUS_TABLE.find(([c]) => c === sqlstate) ?? STATUS_TABLE.find(([c]) => c.length === 2 && sqlstate.startsWith(c));
  if (!row) return 400; // errors.rst: "other → 400"
  return typeof row[1] === 'number' ? row[1] : row[1](authenticated, message);
}

type ErrBody = { code: string; message: string; details: unknown; hint: unknown };
class HttpError extends Error {
  constructor(readonly status: number, readonly body: ErrBody, readonly headers: Record<string, string> = {}) {
    super(body.message);
  }
}
const fail = (status: number, code: string, message: string, details: unknown = null, hint: unknown = null) =>
  new HttpError(status, { code, message, details, hint });

interface Param { name: string; type: string; variadic: boolean }
interface Routine { name: string; params: Param[]; required: number; volatility: string; retset: boolean; composite: boolean; isVoid: boolean }

// "Schema cache" for one function name. Only input parameters (modes i/b/v) are kept. proargtypes is an
// oidvector, which is indexed from 0, so it is re-aggregated into a 1-based array to line up with
// proargnames. This runs with an empty search_path, so format_type() schema-qualifies every
// non-catalogue type.
const LOOKUP_SQL = `
select p.provolatile::text as volatility, p.proretset as retset, p.prorettype = 'void'::regtype as is_void,
  (t.typtype = 'c' or p.prorettype = 'record'::regtype) as composite, p.pronargdefaults::int as ndefaults,
  coalesce((select json_agg(json_build_object('name', coalesce(p.proargnames[i], ''),
      'type', format_type(a.types[i], null), 'variadic', coalesce(p.proargmodes[i] = 'v', false)) order by i)
    from (select coalesce(p.proallargtypes, array(select unnest(p.proargtypes))) as types) a,
      generate_subscripts(a.types, 1) as i
    where coalesce(p.proargmodes[i], 'i') in ('i', 'b', 'v')), '[]')::text as params
from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_type t on t.oid = p.prorettype
where n.nspname = $1 and p.proname = $2 and p.prokind = 'f'`;

const qi = (id: string) => `"${id.replace(/"/g, '""')}"`;
const arrayLiteral = (vals: string[]) => `{${vals.map((v) => `"${v.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;

// Defaults: the jwtSecret is TEST_JWT_SECRET, port 0 picks a random port on 127.0.0.1, anonRole 'anon', schema 'public'.
export interface PostgrestEndpointOptions { databaseUrl: string; jwtSecret?: string; port?: number; anonRole?: string; schema?: string }

export class PostgrestEndpoint {
  private baseUrl = '';
  get url(): string { return this.baseUrl; } // http://127.0.0.1:PORT, the supabaseUrl given to createClient
  /** Requests to /rest/v1/rpc/* received (one per HTTP round trip, failures included). */
  requests = 0;
  private readonly opts: Required<PostgrestEndpointOptions>;
  private readonly sql: postgres.Sql;
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private cache = new Map<string, Promise<Routine[]>>();

  constructor(opts: PostgrestEndpointOptions) {
    this.opts = { jwtSecret: TEST_JWT_SECRET, port: 0, anonRole: 'anon', schema: 'public', ...opts };
    this.sql = postgres(this.opts.databaseUrl, { max: 10, onnotice: () => {}, connection: { application_name: 'postgrest-endpoint' } });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.server.once('error', reject).listen(this.opts.port, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }
  resetCounters(): void { this.requests = 0; }
  /** Forget cached signatures, like PostgREST's schema cache reload (NOTIFY pgrst). */
  reloadSchemaCache(): void { this.cache.clear(); }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.sql.end({ timeout: 5 });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    // CORS, as in cors.rst: any origin is allowed, and preflights get 200 with Max-Age 86400.
    res.setHeader('Access-Control-Allow-Origin', req.headers.origin ?? '*');
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Type, Location, Proxy-Status');
    if (method === 'OPTIONS') {
      const allow = req.headers['access-control-request-headers'] ?? 'Authorization, Content-Type, Accept, Accept-Language, Content-Language';
      res.writeHead(200, { 'Access-Control-Allow-Methods': 'GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD', 'Access-Control-Allow-Headers': allow, 'Access-Control-Max-Age': '86400' }).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://stand-in');
    let authed = false; // for 42501: 403 when the JWT role is not the anon role, else 401
    try {
      if (/^\/rest\/v1\/?$/.test(url.pathname) && method === 'GET') return this.send(res, 200, '{}', false);
      const m = /^\/rest\/v1\/rpc\/([^/]+)$/.exec(url.pathname);
      if (!m) throw fail(404, 'PGRST125', 'Invalid path specified in request URL', null, 'This PostgREST stand-in serves only /rest/v1/rpc/<function>');
      this.requests++;
      if (!['GET', 'HEAD', 'POST'].includes(method)) throw fail(405, 'PGRST101', `Cannot use the ${method} method on RPC`);
      const claims = this.authenticate(req);
      authed = claims.role !== this.opts.anonRole;
      const body = await this.invoke(req, method, decodeURIComponent(m[1]), url, claims);
      this.send(res, body.status, method === 'HEAD' ? '' : body.text, body.singular, body.headers);
    } catch (e) {
      const err = this.toHttpError(e, authed);
      res.setHeader('Proxy-Status', `PostgREST; error=${err.body.code}`);
      this.send(res, err.status, JSON.stringify(err.body), false, err.headers);
    }
  }

  private send(res: http.ServerResponse, status: number, text: string, singular: boolean, headers: Record<string, string> = {}): void {
    if (status !== 204) res.setHeader('Content-Type', `application/${singular ? 'vnd.pgrst.object+json' : 'json'}; charset=utf-8`);
    res.writeHead(status, headers);
    res.end(status === 204 ? undefined : text);
  }

  /** Auth.hs: take the Bearer token, check HS256, exp/nbf/iat (30 s allowance), and fill in `role`. */
  private authenticate(req: http.IncomingMessage): Record<string, unknown> {
    const { authorization: header, apikey } = req.headers;
    const token = header !== undefined ? /^bearer\s+(.*)$/i.exec(header)?.[1]?.trim() ?? '' : typeof apikey === 'string' ? apikey : undefined;
    if (token === undefined) return { role: this.opts.anonRole };
    const bad = (message: string) =>
      new HttpError(401, { code: 'PGRST301', message, details: null, hint: null }, { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${message}"` });
    if (token === '') throw bad('Empty JWT is sent in Authorization header');
    const parts = token.split('.');
    if (parts.length !== 3) throw bad(`Expected 3 parts in JWT; got ${parts.length}`);
    let head: { alg?: unknown }, claims: unknown;
    const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString());
    try { [head, claims] = [decode(parts[0]), decode(parts[1])]; } catch { throw bad('JWT couldn\'t be decoded'); }
    if (head.alg !== 'HS256') throw bad('Wrong or unsupported encoding algorithm');
    const want = createHmac('sha256', this.opts.jwtSecret).update(`${parts[0]}.${parts[1]}`).digest();
    const got = Buffer.from(parts[2], 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw bad('JWT cryptographic operation failed');
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw bad('Parsing claims failed');
    const [c, now] = [claims as Record<string, unknown>, Math.floor(Date.now() / 1000)];
    if (typeof c.exp === 'number' && now > c.exp + 30) throw bad('JWT expired');
    if (typeof c.nbf === 'number' && now < c.nbf - 30) throw bad('JWT not yet valid');
    if (typeof c.iat === 'number' && now < c.iat - 30) throw bad('JWT issued at future');
    return { ...c, role: typeof c.role === 'string' ? c.role : this.opts.anonRole };
  }

  private routines(name: string): Promise<Routine[]> {
    let hit = this.cache.get(name);
    if (!hit) {
      hit = this.sql.begin(async (tx) => {
        await tx`select set_config('search_path', '', true)`;
        return tx.unsafe(LOOKUP_SQL, [this.opts.schema, name]);
      }).then((rows) => rows.map((r): Routine => {
        const params = JSON.parse(r.params) as Param[];
        return { name, params, required: params.length - r.ndefaults, volatility: r.volatility, retset: r.retset, composite: r.composite, isVoid: r.is_void };
      }));
      this.cache.set(name, hit);
      // Remember only what was found (and no failures), so functions created later are still found.
      hit.then((r) => { if (!r.length) this.cache.delete(name); }, () => this.cache.delete(name));
    }
    return hit;
  }

  private async invoke(req: http.IncomingMessage, method: string, fn: string, url: URL, claims: Record<string, unknown>)
    : Promise<{ status: number; text: string; singular: boolean; headers: Record<string, string> }> {
    const { schema } = this.opts; // Accept-Profile / Content-Profile select a schema; only one is exposed here
    const profile = req.headers[method === 'POST' ? 'content-profile' : 'accept-profile'];
    if (typeof profile === 'string' && profile !== schema) throw fail(406, 'PGRST106', `Invalid schema: ${profile}`, null, `Only the following schemas are exposed: ${schema}`);
    const accept = String(req.headers.accept ?? '*/*');
    const singular = accept.includes('application/vnd.pgrst.object+json');
    const stripNulls = /nulls=stripped/.test(accept);
    const acceptable = singular || /(^|,)\s*(\*\/\*|application\/\*|application\/json|application\/vnd\.pgrst\.array\+json)/.test(accept);
    if (!acceptable) throw fail(406, 'PGRST107', `None of these media types are available: ${accept}`);

    // Arguments: POST → a JSON object; GET/HEAD → query parameters (repeated keys collected for VARIADIC).
    let payload: Record<string, unknown> = {};
    const query = new Map<string, string[]>();
    if (method === 'POST') {
      let raw = ''; // setEncoding: decode UTF-8 across chunk boundaries
      req.setEncoding('utf8');
      for await (const chunk of req) raw += chunk;
      try { payload = raw.trim() === '' ? {} : JSON.parse(raw); } catch (e) { throw fail(400, 'PGRST102', (e as Error).message); } // empty = {} (#777)
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw fail(400, 'PGRST102', 'This stand-in accepts only a JSON object body on /rpc');
    } else {
      for (const [k, v] of url.searchParams) {
        if (k === 'select' && v === '*') continue;
        if (['select', 'order', 'limit', 'offset', 'columns', 'on_conflict'].includes(k)) throw fail(400, 'PGRST127', 'Feature not implemented', `The PostgREST stand-in does not support "${k}" on /rpc`);
        query.set(k, [...(query.get(k) ?? []), v]);
      }
    }
    const keys = method === 'POST' ? Object.keys(payload) : [...query.keys()];
    // Overload resolution (functions.rst "Overloaded functions", Error.hs NoRpc/AmbiguousRpc).
    const all = await this.routines(fn);
    let cands = all.filter((r) => keys.every((k) => r.params.some((p) => p.name === k)) && r.params.slice(0, r.required).every((p) => keys.includes(p.name)));
    const wholeBody = !cands.length && method === 'POST';
    if (wholeBody) cands = all.filter((r) => r.params.length === 1 && r.params[0].name === '' && /^jsonb?$/.test(r.params[0].type));
    if (!cands.length) {
      const withParams = keys.length ? `with parameter${keys.length > 1 ? 's' : ''} ${keys.join(', ')}` : 'without parameters';
      throw fail(404, 'PGRST202', `Could not find the function ${schema}.${fn}${keys.length ? `(${keys.join(', ')})` : ' without parameters'} in the schema cache`,
        `Searched for the function ${schema}.${fn} ${withParams}${method === 'POST' ? ' or with a single unnamed json/jsonb parameter' : ''}, but no matches were found in the schema cache.`);
    }
    if (cands.length > 1) {
      const sigs = cands.map((r) => `${schema}.${fn}(${r.params.map((p) => `${p.name} => ${p.type}`).join(', ')})`);
      throw fail(300, 'PGRST203', `Could not choose the best candidate function between: ${sigs.join(', ')}`, null, 'Try renaming the parameters or the function itself in the database so function overloading can be resolved');
    }
    const r = cands[0];

    // The call: POST goes through json_to_record() (JSON arrays become PG arrays, and objects stay
    // json/jsonb), and GET uses `$n::type` text casts, as PostgREST's query builder does. Parameters
    // are pinned to text: postgres.js serialises by the inferred type and would re-encode a json one.
    const params: string[] = [];
    let prelude = '';
    let args: string[];
    if (wholeBody) {
      args = [`$${params.push(JSON.stringify(payload))}::text::${r.params[0].type}`];
    } else if (method === 'POST') {
      const ps = keys.map((k) => r.params.find((p) => p.name === k) as Param);
      if (ps.length) prelude = `(select $${params.push(JSON.stringify(payload))}::text::json as json_data) pgrst_payload cross join lateral json_to_record(pgrst_payload.json_data) as pgrst_body(${ps.map((p) => `${qi(p.name)} ${p.type}`).join(', ')})`;
      args = ps.map((p) => `${p.variadic ? 'VARIADIC ' : ''}${qi(p.name)} := pgrst_body.${qi(p.name)}`);
    } else {
      args = keys.map((k) => {
        const p = r.params.find((x) => x.name === k) as Param;
        const vals = query.get(k) as string[];
        const text = p.variadic && !(vals.length === 1 && vals[0].startsWith('{')) ? arrayLiteral(vals) : (vals.at(-1) as string);
        return `${p.variadic ? 'VARIADIC ' : ''}${qi(p.name)} := $${params.push(text)}::text::${p.type}`;
      });
    }
    const call = `${qi(schema)}.${qi(fn)}(${args.join(', ')})`;
    const source = r.composite
      ? `select pgrst_call.* from ${prelude ? `${prelude} cross join lateral ` : ''}${call} pgrst_call`
      : `select ${call} as pgrst_scalar${prelude ? ` from ${prelude}` : ''}`;
    const single = singular || !r.retset;
    const col = r.composite ? '_postgrest_t' : '_postgrest_t.pgrst_scalar';
    let agg = single ? `coalesce(json_agg(${col})->0, 'null')` : `coalesce(json_agg(${col}), '[]')`;
    if (stripNulls) agg = `json_strip_nulls(${agg})`;
    const main = `with pgrst_source as (${source}) select count(*)::int as n, ${r.isVoid ? 'null' : agg}::text as body from pgrst_source _postgrest_t`;
    const cookies = Object.fromEntries(String(req.headers.cookie ?? '').split(/;\s*/).filter(Boolean).map((c) => [c.split('=')[0], c.slice(c.indexOf('=') + 1)]));
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'cookie').map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
    const settings = [String(claims.role), JSON.stringify(claims), typeof claims.sub === 'string' ? claims.sub : '', method, `/rpc/${fn}`,
      JSON.stringify(headers), JSON.stringify(cookies), [schema, 'public'].filter((s, i, a) => a.indexOf(s) === i).map(qi).join(', ')];
    const mode = method === 'POST' && r.volatility === 'v' ? 'read write' : 'read only';
    const row = await this.sql.begin(mode, async (tx) => {
      // set_config(..., true) is SET LOCAL with bound parameters, so nothing from the request is spliced into SQL.
      await tx.unsafe(`select set_config('role', $1::text, true), set_config('request.jwt.claims', $2::text, true),
        set_config('request.jwt.claim.sub', $3::text, true), set_config('request.jwt.claim.role', $1::text, true),
        set_config('request.method', $4::text, true), set_config('request.path', $5::text, true),
        set_config('request.headers', $6::text, true), set_config('request.cookies', $7::text, true),
        set_config('search_path', $8::text, true),
        -- the role's own settings (ALTER ROLE ... SET statement_timeout), as PostgREST applies them
        set_config('statement_timeout', coalesce((select split_part(c, '=', 2) from pg_catalog.pg_db_role_setting d
          cross join lateral unnest(d.setconfig) c where d.setrole = (select oid from pg_catalog.pg_roles where rolname = $1::text)
            and d.setdatabase in (0, (select oid from pg_catalog.pg_database where datname = current_database()))
            and c like 'statement\\_timeout=%' order by d.setdatabase desc limit 1), current_setting('statement_timeout')), true)`, settings);
      const [out] = await tx.unsafe<{ n: number; body: string | null }[]>(main, params);
      // PostgREST checks singularity inside the transaction, so a failed check rolls it back.
      if (singular && r.retset && out.n !== 1) throw fail(406, 'PGRST116', 'Cannot coerce the result to a single JSON object', `The result contains ${out.n} rows`);
      return out;
    });
    const range = r.retset ? (row.n ? `0-${row.n - 1}` : '*') : '0-0';
    const total = /count=(exact|planned|estimated)/.test(String(req.headers.prefer ?? '')) ? String(row.n) : '*';
    if (r.isVoid) return { status: 204, text: '', singular: false, headers: {} }; // CHANGELOG v10 #2001
    return { status: 200, text: row.body ?? 'null', singular, headers: { 'Content-Range': `${range}/${total}` } };
  }

  private toHttpError(e: unknown, authed: boolean): HttpError {
    if (e instanceof HttpError) return e;
    if (e instanceof postgres.PostgresError) {
      if (e.code === 'PGRST') {
        // errors.rst "Add HTTP Headers with RAISE": message = JSON body, detail = {status, headers}.
        try {
          const [body, meta] = [JSON.parse(e.message) as ErrBody, JSON.parse(e.detail ?? '') as { status: number; headers?: Record<string, string> }];
          return new HttpError(meta.status, { code: body.code, message: body.message, details: body.details ?? null, hint: body.hint ?? null }, meta.headers);
        } catch {
          return fail(500, 'PGRST121', 'Could not parse JSON in the "RAISE SQLSTATE \'PGRST\'" error');
        }
      }
      const status = httpStatusFor(e.code, authed, e.message);
      return new HttpError(status, { code: e.code, message: e.message, details: e.detail ?? null, hint: e.hint ?? null },
        status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {});
    }
    const code = (e as { code?: unknown } | null)?.code;
    // errors.rst PGRST000 (503): socket errors (ECONNREFUSED…) and postgres.js CONNECT_TIMEOUT / CONNECTION_* errors.
    if (typeof code === 'string' && /^(E[A-Z]+|CONNECT(ION)?_[A-Z_]+)$/.test(code)) return fail(503, 'PGRST000', 'Database connection error. Retrying the connection.', (e as Error).message);
    return fail(500, 'PGRSTX00', e instanceof Error ? e.message : String(e)); // errors.rst: internal error
  }
}
