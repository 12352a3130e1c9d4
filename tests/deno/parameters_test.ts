// GET /parameters against the seeded test database, through the handler (no server).
import assert from 'node:assert/strict';
import { IsolateCache } from '../../functions/_shared/cache.ts';
import { roundTrips } from '../../functions/_shared/db.ts';
import { createParametersHandler } from '../../functions/parameters/handler.ts';
import {
  admin,
  captureLogs,
  COMPONENT_BENCH_HEATER,
  COMPONENT_CHAMBER_HEATER,
  dbTest,
  MACHINE_A,
  MACHINE_B,
  parameterId,
  req,
  USERS,
} from './helpers.ts';

const fresh = (options: ConstructorParameters<typeof IsolateCache>[0] = {}) => {
  const cache = new IsolateCache(options);
  return { cache, fetch: createParametersHandler({ cache }) };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

dbTest('parameters: the second GET is a hit and makes no database call', async () => {
  const { fetch } = fresh();
  const path = `/parameters?machine_id=${MACHINE_A}`;
  const before = roundTrips();
  const first = await fetch(req(path, { as: 'operator' }));
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('cache-status'), 'ald-edge; fwd=miss; stored');
  const body = await first.json();
  assert.equal(body.parameters.length, 137, 'every active parameter of the 21 components');
  assert.equal(roundTrips() - before, 1, 'a miss costs one round trip');

  const second = await fetch(req(path, { as: 'operator' }));
  assert.equal(second.status, 200);
  assert.match(second.headers.get('cache-status')!, /^ald-edge; hit; ttl=\d+$/);
  assert.equal(roundTrips() - before, 1, 'the hit made no database call');
  assert.equal(second.headers.get('etag'), first.headers.get('etag'));
  assert.deepEqual(await second.json(), body);
});

dbTest('parameters: If-None-Match with the current ETag gets 304 without a body', async () => {
  const { fetch } = fresh();
  const path = `/parameters?component_ids=${COMPONENT_CHAMBER_HEATER}`;
  const first = await fetch(req(path, { as: 'viewer' }));
  const tag = first.headers.get('etag')!;
  assert.match(tag, /^W\/"/);
  await first.body?.cancel();
  const before = roundTrips();
  const second = await fetch(req(path, { as: 'viewer', headers: { 'If-None-Match': tag } }));
  assert.equal(second.status, 304);
  assert.equal(await second.text(), '');
  assert.equal(second.headers.get('etag'), tag);
  assert.match(second.headers.get('cache-status')!, /hit/);
  assert.equal(roundTrips(), before);
  const other = await fetch(req(path, { as: 'viewer', headers: { 'If-None-Match': 'W/"something-else"' } }));
  assert.equal(other.status, 200);
  await other.body?.cancel();
});

dbTest('parameters: serves ids and component_ids, each row with every column of component_parameters', async () => {
  const { fetch } = fresh();
  const id = parameterId('chamber_heater', 'kp');
  const one = await (await fetch(req(`/parameters?ids=${id}`, { as: 'operator' }))).json();
  assert.equal(one.parameters.length, 1);
  assert.equal(one.parameters[0].id, id);
  assert.equal(one.parameters[0].name, 'kp');
  assert.equal(typeof one.parameters[0].version, 'number');
  const columns = await admin`select column_name from information_schema.columns
                               where table_schema = 'public' and table_name = 'component_parameters'`;
  assert.deepEqual(Object.keys(one.parameters[0]).sort(), columns.map((c) => c.column_name as string).sort());
  const heater = await (await fetch(req(`/parameters?component_ids=${COMPONENT_CHAMBER_HEATER}`, { as: 'operator' })))
    .json();
  assert.equal(heater.parameters.length, 11);
});

dbTest("parameters: one user's cached answer is never served to a user who may not see it", async () => {
  const { fetch } = fresh();
  const path = `/parameters?component_ids=${COMPONENT_CHAMBER_HEATER},${COMPONENT_BENCH_HEATER}`;
  const operator = await (await fetch(req(path, { as: 'operator' }))).json();
  assert.ok(operator.parameters.every((p: { machine_id: string }) => p.machine_id === MACHINE_A));
  const bench = await fetch(req(path, { as: 'bench' }));
  assert.equal(bench.headers.get('cache-status'), 'ald-edge; fwd=miss; stored');
  const rows = (await bench.json()).parameters;
  assert.ok(rows.length > 0 && rows.every((p: { machine_id: string }) => p.machine_id === MACHINE_B));
  const denied = await fetch(req(`/parameters?machine_id=${MACHINE_A}`, { as: 'bench' }));
  assert.equal(denied.status, 404);
  assert.deepEqual(Object.keys(await denied.json()).sort(), ['code', 'details', 'message']);
});

dbTest('parameters: a change made directly in the database is served within the epoch bound', async () => {
  const { fetch } = fresh({ epochCheckMs: 50 });
  const id = parameterId('substrate_heater', 'temperature_set');
  const path = `/parameters?ids=${id}`;
  const first = (await (await fetch(req(path, { as: 'viewer' }))).json()).parameters[0];
  const [changed] =
    await admin`update public.component_parameters set set_value = set_value + 1 where id = ${id} returning version, set_value`;
  await sleep(60);
  const before = roundTrips();
  const res = await fetch(req(path, { as: 'viewer' }));
  assert.equal(res.headers.get('cache-status'), 'ald-edge; fwd=stale; fwd-status=200; stored');
  const now = (await res.json()).parameters[0];
  assert.equal(now.version, Number(changed.version));
  assert.equal(now.version, first.version + 1);
  assert.equal(now.set_value, changed.set_value);
  assert.equal(roundTrips() - before, 2, 'one epoch check, one refetch');

  await sleep(60);
  const unchanged = await fetch(req(path, { as: 'viewer' }));
  assert.match(unchanged.headers.get('cache-status')!, /^ald-edge; fwd=stale; fwd-status=304; ttl=\d+$/);
  assert.equal((await unchanged.json()).parameters[0].version, now.version);
});

dbTest('parameters: an entry past the refresh age is served and refreshed in the background', async () => {
  const { cache, fetch } = fresh({ refreshAfterMs: 1 });
  const path = `/parameters?component_ids=${COMPONENT_CHAMBER_HEATER}`;
  await (await fetch(req(path, { as: 'operator' }))).body?.cancel();
  await sleep(5);
  const { result: res, lines } = await captureLogs(async () => {
    const r = await fetch(req(path, { as: 'operator' }));
    await cache.idle();
    return r;
  });
  assert.match(res.headers.get('cache-status')!, /^ald-edge; hit; ttl=\d+; detail=refresh$/);
  await res.body?.cancel();
  const refresh = lines.find((l) => l.event === 'background_refresh');
  assert.deepEqual([refresh?.outcome, refresh?.db_calls], ['ok', 1]);
});

dbTest('parameters: bad requests get their documented status and a JSON error', async () => {
  const { fetch } = fresh();
  const cases: [Request, number, string][] = [
    [req('/parameters', { as: 'operator' }), 400, 'invalid_request'],
    [req(`/parameters?machine_id=${MACHINE_A}&ids=${MACHINE_A}`, { as: 'operator' }), 400, 'invalid_request'],
    [req('/parameters?ids=not-a-uuid', { as: 'operator' }), 400, 'invalid_request'],
    [req(`/parameters?machine_id=${MACHINE_A}`), 401, 'unauthorized'],
    [req(`/parameters?machine_id=${MACHINE_A}`, { as: 'anon' }), 401, 'unauthorized'],
    [req(`/parameters?machine_id=00000000-0000-4000-8000-0000000000ff`, { as: 'operator' }), 404, 'P0002'],
    [
      req(`/parameters?machine_id=${MACHINE_A}`, { as: 'operator', method: 'POST', body: {} }),
      405,
      'method_not_allowed',
    ],
  ];
  for (const [request, status, code] of cases) {
    const res = await fetch(request);
    assert.equal(res.status, status, `${request.method} ${request.url}`);
    assert.match(res.headers.get('content-type')!, /^application\/json/);
    const body = await res.json();
    assert.equal(body.code, code);
    assert.equal(typeof body.message, 'string');
    assert.equal(JSON.stringify(body).includes('select'), false, 'no SQL text');
    if (status === 405) assert.equal(res.headers.get('allow'), 'GET, OPTIONS');
  }
});

dbTest('parameters: OPTIONS is answered 204 with CORS headers, before authentication', async () => {
  const { fetch } = fresh();
  const res = await fetch(
    req('/parameters', {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' },
    }),
  );
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.equal(res.headers.get('access-control-allow-methods'), 'GET, OPTIONS');
  assert.match(res.headers.get('access-control-allow-headers')!, /authorization/);
  assert.match(res.headers.get('access-control-allow-headers')!, /if-none-match/);
  assert.match(res.headers.get('access-control-expose-headers')!, /cache-status/);
});

dbTest('parameters: writes one structured log line per request', async () => {
  const { fetch } = fresh();
  const { lines } = await captureLogs(async () => {
    await (await fetch(req(`/parameters?machine_id=${MACHINE_B}`, { as: 'bench' }))).body?.cancel();
    await (await fetch(req(`/parameters?machine_id=${MACHINE_B}`, { as: 'bench' }))).body?.cancel();
  });
  assert.equal(lines.length, 2);
  const [miss, hit] = lines;
  for (const line of lines) {
    for (const field of ['function', 'method', 'status', 'cache', 'duration_ms', 'db_calls']) {
      assert.ok(field in line, field);
    }
  }
  assert.deepEqual([miss.function, miss.method, miss.status, miss.cache, miss.db_calls], [
    'parameters',
    'GET',
    200,
    'miss',
    1,
  ]);
  assert.deepEqual([hit.cache, hit.db_calls], ['hit', 0]);
});

// Issue 14, finding 5: a parameter deleted and inserted again with the same id used to start again
// at version 1; the cache, which never goes back to a lower version, kept serving the deleted row.
dbTest('parameters: a parameter deleted and inserted again with the same id is served as the new row', async () => {
  const { fetch } = fresh({ epochCheckMs: 0 });
  const id = parameterId('bench_heater', 'temperature_set');
  const [{ set_value: original }] = await admin`select set_value from public.component_parameters where id = ${id}`;
  await admin`update public.component_parameters set set_value = set_value + 1 where id = ${id}`;
  await admin`update public.component_parameters set set_value = set_value + 1 where id = ${id}`;
  const path = `/parameters?ids=${id}`;
  const before = (await (await fetch(req(path, { as: 'bench' }))).json()).parameters[0];
  assert.ok(before.version >= 3);
  try {
    await admin.begin(async (tx) => {
      const [old] = await tx`delete from public.component_parameters where id = ${id} returning *`;
      await tx`insert into public.component_parameters ${tx({ ...old, set_value: 42 })}`;
    });
    const after = (await (await fetch(req(path, { as: 'bench' }))).json()).parameters[0];
    assert.equal(after.set_value, 42, 'the new row, not the deleted one');
    assert.ok(after.version > before.version, `version ${after.version} after ${before.version}`);
  } finally {
    await admin`update public.component_parameters set set_value = ${original} where id = ${id}`;
  }
});

// Issue 14, finding 1, end to end: the viewer's grant is deleted while the operator keeps asking
// (every answer of theirs refreshes the machine's epoch). Once the viewer's own check is due
// (epochCheckMs on the cache's clock) the viewer is asked again as themself and gets nothing.
dbTest(
  'parameters: a revoked user is not served from memory once their own epoch check is due, whatever others do',
  async () => {
    const clock = { t: 1_000_000 };
    const { fetch } = fresh({ epochCheckMs: 1000, now: () => clock.t });
    const path = `/parameters?machine_id=${MACHINE_A}`;
    const viewerFirst = await fetch(req(path, { as: 'viewer' }));
    assert.equal((await viewerFirst.json()).parameters.length, 137);
    await (await fetch(req(path, { as: 'operator' }))).body?.cancel();
    const [grant] = await admin`delete from public.machine_operators
                              where machine_id = ${MACHINE_A} and user_id = ${USERS.viewer} returning *`;
    try {
      for (let i = 0; i < 4; i++) {
        clock.t += 400;
        const res = await fetch(req(path, { as: 'operator' }));
        assert.equal(res.status, 200);
        await res.body?.cancel();
      }
      const revoked = await fetch(req(path, { as: 'viewer' }));
      const body = await revoked.json();
      assert.notEqual(revoked.status, 200, `served ${body.parameters?.length} rows from memory after the revocation`);
      assert.equal(body.parameters, undefined);
    } finally {
      await admin`insert into public.machine_operators ${admin(grant)}`;
    }
  },
);
