/**
 * Checks the PostgREST stand-in (support/postgrest-endpoint.ts) through the real supabase-js
 * client. The SDK's transport tests depend on it behaving like PostgREST, so each assertion pins a
 * documented PostgREST behaviour: the response shape, the error code and the HTTP status.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createClient } from '@supabase/supabase-js';
import { PostgrestEndpoint, anonKey, httpStatusFor, serviceRoleKey, signJwt } from '../../support/postgrest-endpoint.ts';

const ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';
const DB = `pgrst_ep_${randomBytes(6).toString('hex')}`;
const DB_URL = `postgresql://postgres@127.0.0.1:5432/${DB}`;

const SCHEMA_SQL = `
grant usage on schema public to anon, authenticated, service_role;
create type pair_t as (a int, b text);
create table counter (n int not null);
insert into counter values (0);
grant select, update on counter to anon, authenticated, service_role;

create function list_items(p_min int default 0)
returns table (id int, label text, big int8, ratio float8, at timestamptz)
language sql stable as $$
  select i, 'item ' || i, 5000000000::int8 * i, i / 4.0, timestamptz '2024-01-01 03:04:05+00' + make_interval(days => i)
  from generate_series(1, 3) i where i >= p_min
$$;
create function add_them(a int, b int) returns int language sql immutable as $$ select a + b $$;
create function bump(p_by int) returns int language sql volatile as $$ update counter set n = n + p_by returning n $$;
create function noop() returns void language plpgsql volatile as $$ begin end $$;
create function fail_invalid(p text) returns void language plpgsql as $$
begin raise exception using errcode = '22023', message = 'x', detail = 'bad ' || p, hint = 'fix it'; end $$;
create function fail_privilege() returns void language plpgsql as $$
begin raise exception using errcode = '42501', message = 'nope'; end $$;
create function get_pair(p_a int, p_b text default 'dflt') returns pair_t language sql stable as $$
  select case when p_a is null then null else row(p_a, p_b)::pair_t end $$;
create function whoami() returns jsonb language sql stable as $$
  select jsonb_build_object('user', current_user, 'sub', current_setting('request.jwt.claim.sub', true),
    'claims', current_setting('request.jwt.claims', true)::jsonb, 'method', current_setting('request.method', true),
    'headers', current_setting('request.headers', true)::jsonb) $$;
revoke execute on function whoami() from public;
grant execute on function whoami() to authenticated;
create function tag_ids(p_ids uuid[], p_meta jsonb) returns table (id uuid, meta jsonb, pos int)
language sql stable as $$ select u, p_meta, o::int from unnest(p_ids) with ordinality as t(u, o) $$;
`;

let admin: postgres.Sql;
let endpoint: PostgrestEndpoint;
let anon: ReturnType<typeof client>;
let authed: ReturnType<typeof client>;
const sub = randomUUID();

// Node 20 has no global WebSocket, and supabase-js 2.119 wants a constructor for its realtime
// client even when realtime is never used. This stub throws if anything ever tries to use it.
class NoRealtime { constructor() { throw new Error('realtime is not used by these tests'); } }
const client = (key: string, url = endpoint.url, schema = 'public') =>
  createClient(url, key, { auth: { persistSession: false, autoRefreshToken: false }, db: { schema }, realtime: { transport: NoRealtime as never } });
const nowSec = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${DB}`);
  await admin.unsafe(`alter database ${DB} set timezone = 'UTC'`);
  // Roles are cluster-wide and may already exist. Two runs can also race to create the same role,
  // and the loser of that race gets unique_violation rather than duplicate_object.
  for (const role of ['anon', 'authenticated', 'service_role']) {
    await admin.unsafe(`do $$ begin create role ${role} nologin; exception when duplicate_object or unique_violation then null; end $$`);
  }
  const db = postgres(DB_URL, { max: 1, onnotice: () => {} });
  await db.unsafe(SCHEMA_SQL).simple();
  await db.end();
  endpoint = new PostgrestEndpoint({ databaseUrl: DB_URL });
  await endpoint.start();
  anon = client(anonKey());
  authed = client(signJwt({ role: 'authenticated', sub, exp: nowSec() + 3600 }));
});

afterAll(async () => {
  await endpoint?.close();
  await admin?.unsafe(`drop database if exists ${DB} with (force)`);
  await admin?.end();
});

describe('response shapes', () => {
  it('a set-returning function gives an array of rows, with int8 as a number and timestamptz in ISO form', async () => {
    const { data, error, status } = await anon.rpc('list_items', { p_min: 2 });
    expect(error).toBeNull();
    expect(status).toBe(200);
    expect(data).toEqual([
      { id: 2, label: 'item 2', big: 10000000000, ratio: 0.5, at: '2024-01-03T03:04:05+00:00' },
      { id: 3, label: 'item 3', big: 15000000000, ratio: 0.75, at: '2024-01-04T03:04:05+00:00' },
    ]);
  });

  it('leaves out an argument that has a default, and GET works on STABLE and IMMUTABLE functions', async () => {
    expect((await anon.rpc('list_items')).data).toHaveLength(3);
    const get = await anon.rpc('list_items', { p_min: 3 }, { get: true });
    expect(get.error).toBeNull();
    expect(get.data).toMatchObject([{ id: 3 }]);
    expect((await anon.rpc('add_them', { a: 2, b: 3 }, { get: true })).data).toBe(5);
  });

  it('a scalar comes back bare, and void gives 204 with no body', async () => {
    expect(await anon.rpc('add_them', { a: 2, b: 3 })).toMatchObject({ data: 5, error: null, status: 200 });
    expect(await anon.rpc('noop')).toMatchObject({ data: null, error: null, status: 204 });
  });

  it('a single composite comes back as an object; a NULL composite has all fields null, as in PostgREST', async () => {
    expect((await anon.rpc('get_pair', { p_a: 1 })).data).toEqual({ a: 1, b: 'dflt' });
    expect((await anon.rpc('get_pair', { p_a: 7, p_b: 'x' }, { get: true })).data).toEqual({ a: 7, b: 'x' });
    expect((await anon.rpc('get_pair', { p_a: null })).data).toEqual({ a: null, b: null });
  });

  it('uuid[] takes a JSON array (POST) or a {a,b} literal (GET); jsonb keeps objects', async () => {
    const ids = [randomUUID(), randomUUID()];
    const post = await anon.rpc('tag_ids', { p_ids: ids, p_meta: { k: [1, 2] } });
    expect(post.error).toBeNull();
    expect(post.data).toEqual([{ id: ids[0], meta: { k: [1, 2] }, pos: 1 }, { id: ids[1], meta: { k: [1, 2] }, pos: 2 }]);
    // supabase-js stringifies GET arguments, so an object has to be sent as JSON text.
    const get = await anon.rpc('tag_ids', { p_ids: ids, p_meta: JSON.stringify({ g: true }) }, { get: true });
    expect(get.error).toBeNull();
    expect(get.data).toEqual([{ id: ids[0], meta: { g: true }, pos: 1 }, { id: ids[1], meta: { g: true }, pos: 2 }]);
  });

  it('single() sends Accept: vnd.pgrst.object+json and gets one object, or 406 PGRST116', async () => {
    const one = await anon.rpc('list_items', { p_min: 3 }).single();
    expect(one.error).toBeNull();
    expect(one.data).toMatchObject({ id: 3, label: 'item 3' });
    const many = await anon.rpc('list_items').single();
    expect(many.status).toBe(406);
    expect(many.error).toMatchObject({ code: 'PGRST116', details: 'The result contains 3 rows' });
  });
});

describe('transaction and settings', () => {
  it('POST runs a VOLATILE function READ WRITE; GET runs it READ ONLY, so a write fails with 405 / 25006', async () => {
    const first = await anon.rpc('bump', { p_by: 2 });
    expect(first).toMatchObject({ data: 2, error: null });
    const viaGet = await anon.rpc('bump', { p_by: 1 }, { get: true });
    expect(viaGet.status).toBe(405);
    expect(viaGet.error?.code).toBe('25006');
    expect((await anon.rpc('bump', { p_by: 0 })).data).toBe(2);
  });

  it('switches to the JWT role and sets request.jwt.claims, the legacy .sub, request.method and request.headers', async () => {
    const { data, error } = await authed.rpc('whoami');
    expect(error).toBeNull();
    expect(data.user).toBe('authenticated');
    expect(data.sub).toBe(sub);
    expect(data.claims).toMatchObject({ role: 'authenticated', sub });
    expect(data.method).toBe('POST');
    // What supabase-js sends: apikey, a Bearer token, X-Client-Info and Content-Profile for POST.
    expect(data.headers).toMatchObject({ 'content-profile': 'public', 'content-type': 'application/json' });
    expect(data.headers.apikey).toMatch(/^ey/);
    expect(data.headers.authorization).toMatch(/^Bearer ey/);
    expect(data.headers['x-client-info']).toMatch(/^supabase-js/);
  });
});

describe('errors', () => {
  it('passes PostgreSQL error fields through; 22023 is 400', async () => {
    const { error, status } = await anon.rpc('fail_invalid', { p: 'q' });
    expect(status).toBe(400);
    expect(error).toMatchObject({ code: '22023', message: 'x', details: 'bad q', hint: 'fix it' });
  });

  it('42501 is 401 for the anon role and 403 for an authenticated role', async () => {
    expect(await anon.rpc('fail_privilege')).toMatchObject({ status: 401, error: { code: '42501', message: 'nope' } });
    expect(await authed.rpc('fail_privilege')).toMatchObject({ status: 403, error: { code: '42501' } });
    // A function granted only to authenticated: PostgreSQL itself raises 42501 for anon.
    expect(await anon.rpc('whoami')).toMatchObject({ status: 401, error: { code: '42501' } });
    expect(await client(serviceRoleKey()).rpc('whoami')).toMatchObject({ status: 403, error: { code: '42501' } });
  });

  it('an unknown function or argument name is 404 PGRST202', async () => {
    const fn = await anon.rpc('no_such_fn', { a: 1 });
    expect(fn.status).toBe(404);
    expect(fn.error).toMatchObject({ code: 'PGRST202', message: 'Could not find the function public.no_such_fn(a) in the schema cache' });
    expect(await anon.rpc('add_them', { a: 1, c: 2 })).toMatchObject({ status: 404, error: { code: 'PGRST202' } });
    expect(await anon.rpc('add_them', { a: 1 }, { get: true })).toMatchObject({ status: 404, error: { code: 'PGRST202' } });
  });

  it('a bad signature, an expired token or an unknown role is 401', async () => {
    const forged = client(signJwt({ role: 'service_role' }, 'another-secret-that-is-at-least-32-characters'));
    expect(await forged.rpc('add_them', { a: 1, b: 1 })).toMatchObject({ status: 401, error: { code: 'PGRST301' } });
    const expired = client(signJwt({ role: 'authenticated', exp: nowSec() - 120 }));
    expect(await expired.rpc('add_them', { a: 1, b: 1 })).toMatchObject({ status: 401, error: { code: 'PGRST301', message: 'JWT expired' } });
    const ghost = client(signJwt({ role: 'no_such_role_pgrst_ep' }));
    expect(await ghost.rpc('add_them', { a: 1, b: 1 })).toMatchObject({ status: 401, error: { code: '22023' } });
  });

  it('a schema that is not exposed is 406 PGRST106', async () => {
    const other = client(anonKey(), endpoint.url, 'private');
    expect(await other.rpc('add_them', { a: 1, b: 1 })).toMatchObject({ status: 406, error: { code: 'PGRST106' } });
  });

  it('a database that cannot be reached is 503 PGRST000', async () => {
    const down = new PostgrestEndpoint({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/none' });
    await down.start();
    try {
      // POST on purpose: supabase-js retries GET/HEAD on 503 (with backoff), but never POST.
      const res = await client(anonKey(), down.url).rpc('add_them', { a: 1, b: 1 });
      expect(res).toMatchObject({ status: 503, error: { code: 'PGRST000' } });
      expect(down.requests).toBe(1);
    } finally {
      await down.close();
    }
  });

  it('httpStatusFor follows the table in PostgREST docs', () => {
    const cases: Array<[string, boolean, number]> = [
      ['23503', false, 409], ['23505', false, 409], ['25006', false, 405], ['25001', false, 500], ['40001', false, 500],
      ['P0001', false, 400], ['P0002', false, 500], ['42883', false, 404], ['42P01', false, 404], ['42501', false, 401],
      ['42501', true, 403], ['53400', false, 500], ['53100', false, 503], ['54000', false, 500], ['57014', false, 500],
      ['57P01', false, 503], ['08006', false, 503], ['28000', false, 403], ['XX000', false, 500], ['22P02', false, 400],
      ['42703', false, 400], ['PT402', false, 402],
    ];
    for (const [code, auth, status] of cases) expect([code, httpStatusFor(code, auth)]).toEqual([code, status]);
  });
});

describe('HTTP surface', () => {
  it('counts one request per RPC round trip, and resetCounters() clears the count', async () => {
    endpoint.resetCounters();
    await anon.rpc('add_them', { a: 1, b: 2 });
    await anon.rpc('list_items', {}, { get: true });
    await anon.rpc('no_such_fn');
    expect(endpoint.requests).toBe(3);
    endpoint.resetCounters();
    expect(endpoint.requests).toBe(0);
  });

  it('serves GET /rest/v1/ and answers CORS preflights without counting them', async () => {
    endpoint.resetCounters();
    const root = await fetch(`${endpoint.url}/rest/v1/`);
    expect(root.status).toBe(200);
    expect(await root.json()).toEqual({});
    const pre = await fetch(`${endpoint.url}/rest/v1/rpc/add_them`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://example.com', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'apikey, content-type' },
    });
    expect(pre.status).toBe(200);
    expect(pre.headers.get('access-control-allow-origin')).toBe('http://example.com');
    expect(pre.headers.get('access-control-allow-headers')).toBe('apikey, content-type');
    expect(endpoint.requests).toBe(0);
  });
});
