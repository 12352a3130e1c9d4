// POST /set-parameter: the caller's permissions apply, and the isolate's cache follows at once.
import assert from 'node:assert/strict';
import { IsolateCache } from '../../functions/_shared/cache.ts';
import { roundTrips } from '../../functions/_shared/db.ts';
import { createParametersHandler } from '../../functions/parameters/handler.ts';
import { createSetParameterHandler } from '../../functions/set-parameter/handler.ts';
import { admin, dbTest, parameterId, req, tokenFor } from './helpers.ts';

function isolate(options: ConstructorParameters<typeof IsolateCache>[0] = {}) {
  const cache = new IsolateCache(options);
  return { cache, get: createParametersHandler({ cache }), set: createSetParameterHandler({ cache }) };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const versionOf = async (id: string) =>
  Number((await admin`select version from public.component_parameters where id = ${id}`)[0].version);

dbTest('set-parameter: the same isolate serves the new value at once, without a database call', async () => {
  const { get, set } = isolate();
  const id = parameterId('lid_heater', 'temperature_set');
  const path = `/parameters?ids=${id}`;
  const before = (await (await get(req(path, { as: 'operator' }))).json()).parameters[0];

  const res = await set(
    req('/set-parameter', { as: 'operator', body: { parameter_id: id, value: before.set_value + 5, reason: 'test' } }),
  );
  assert.equal(res.status, 200);
  const written = (await res.json()).parameter;
  assert.equal(written.set_value, before.set_value + 5);
  assert.equal(written.version, before.version + 1);

  const calls = roundTrips();
  const after = await get(req(path, { as: 'operator' }));
  assert.match(after.headers.get('cache-status')!, /^ald-edge; hit/);
  assert.equal(roundTrips(), calls, 'served from memory');
  const served = (await after.json()).parameters[0];
  assert.deepEqual([served.set_value, served.version], [written.set_value, written.version]);
  assert.equal(await versionOf(id), written.version);
});

dbTest('set-parameter: after its own write the cache revalidates instead of refetching', async () => {
  const { get, set } = isolate({ epochCheckMs: 50 });
  const id = parameterId('lid_heater', 'kp');
  const path = `/parameters?machine_id=00000000-0000-4000-8000-000000000001`;
  await (await get(req(path, { as: 'operator' }))).body?.cancel();
  const res = await set(req('/set-parameter', { as: 'operator', body: { parameter_id: id, value: 7.5 } }));
  assert.equal(res.status, 200);
  await res.body?.cancel();
  await sleep(60);
  const after = await get(req(path, { as: 'operator' }));
  // The epoch moved by exactly this write, so the check confirms the cached answer (304), no refetch.
  assert.match(after.headers.get('cache-status')!, /^ald-edge; fwd=stale; fwd-status=304/);
  const kp = (await after.json()).parameters.find((p: { id: string }) => p.id === id);
  assert.equal(kp.set_value, 7.5);
});

dbTest('set-parameter: the service role may write any machine', async () => {
  const { set } = isolate();
  const id = parameterId('bench_heater', 'temperature_set');
  const res = await set(req('/set-parameter', { as: 'service', body: { parameter_id: id, value: 30 } }));
  assert.equal(res.status, 200);
  assert.equal((await res.json()).parameter.set_value, 30);
});

dbTest('set-parameter: every bad input gets its documented status and {code, message}', async () => {
  const { set } = isolate();
  const temp = parameterId('precursor_line_heater_1', 'temperature_set');
  const version = await versionOf(temp);
  const post = (
    body: unknown,
    opts: { as?: 'operator' | 'viewer' | 'bench' | 'anon'; token?: string } = { as: 'operator' },
  ) => set(req('/set-parameter', { ...opts, body }));
  const cases: [string, Promise<Response>, number, string][] = [
    ['not JSON', post('{"parameter_id":'), 400, 'invalid_request'],
    ['no body', set(req('/set-parameter', { as: 'operator', method: 'POST' })), 400, 'invalid_request'],
    ['value missing', post({ parameter_id: temp }), 400, 'invalid_request'],
    ['value not a number', post({ parameter_id: temp, value: '150' }), 400, 'invalid_request'],
    ['unknown field', post({ parameter_id: temp, value: 150, force: true }), 400, 'invalid_request'],
    ['parameter_id not a uuid', post({ parameter_id: 'heater', value: 150 }), 400, 'invalid_request'],
    ['no token', post({ parameter_id: temp, value: 150 }, {}), 401, 'unauthorized'],
    ['anon key', post({ parameter_id: temp, value: 150 }, { as: 'anon' }), 401, 'unauthorized'],
    [
      'forged token',
      post({ parameter_id: temp, value: 150 }, { token: tokenFor('operator').slice(0, -3) + 'AAA' }),
      401,
      'unauthorized',
    ],
    ['viewer', post({ parameter_id: temp, value: 150 }, { as: 'viewer' }), 403, '42501'],
    ['operator of another machine', post({ parameter_id: temp, value: 150 }, { as: 'bench' }), 403, '42501'],
    ['unknown parameter', post({ parameter_id: '00000000-0000-4000-8000-00000000dead', value: 1 }), 404, 'P0002'],
    ['stale expected_version', post({ parameter_id: temp, value: 150, expected_version: version + 10 }), 409, '40001'],
    [
      'read-only parameter',
      post({ parameter_id: parameterId('chamber_heater', 'temperature_read'), value: 1 }),
      409,
      '55000',
    ],
    ['out of range', post({ parameter_id: temp, value: 10_000 }), 422, '22003'],
    [
      'fraction for an integer',
      post({ parameter_id: parameterId('chamber_heater', 'pid_period'), value: 10.5 }),
      422,
      '22023',
    ],
    ['2 for a binary', post({ parameter_id: parameterId('chamber_heater', 'power_on'), value: 2 }), 422, '22023'],
    [
      'body over 16 KiB',
      post({ parameter_id: temp, value: 150, reason: 'x'.repeat(17_000) }),
      413,
      'payload_too_large',
    ],
    ['GET', set(req('/set-parameter', { as: 'operator' })), 405, 'method_not_allowed'],
  ];
  for (const [what, pending, status, code] of cases) {
    const res = await pending;
    const body = await res.json();
    assert.equal(res.status, status, `${what}: ${JSON.stringify(body)}`);
    assert.equal(body.code, code, what);
    assert.equal(typeof body.message, 'string', what);
    assert.doesNotMatch(JSON.stringify(body), /\bat \w+ \(|set_config|select /, `${what}: no stack or SQL`);
  }
  assert.equal(await versionOf(temp), version, 'nothing was written');
});

dbTest('set-parameter: a stale-version conflict explains itself', async () => {
  const { set } = isolate();
  const id = parameterId('precursor_line_heater_2', 'temperature_set');
  const version = await versionOf(id);
  const res = await set(
    req('/set-parameter', {
      as: 'operator',
      body: { parameter_id: id, value: 100, expected_version: version - 1 || 99 },
    }),
  );
  assert.equal(res.status, 409);
  const body = await res.json();
  assert.equal(body.message, 'parameter version conflict');
  assert.match(body.details, /the parameter is at version/);
  assert.match(body.hint, /retry/);
});

dbTest('set-parameter: a request_id makes a retry harmless and cannot be reused on another parameter', async () => {
  const { set } = isolate();
  const a = parameterId('precursor_line_heater_3', 'temperature_set');
  const b = parameterId('precursor_line_heater_4', 'temperature_set');
  const requestId = crypto.randomUUID();
  const first = await set(
    req('/set-parameter', { as: 'operator', body: { parameter_id: a, value: 111, request_id: requestId } }),
  );
  const written = (await first.json()).parameter;
  const retry = await set(
    req('/set-parameter', { as: 'operator', body: { parameter_id: a, value: 112, request_id: requestId } }),
  );
  assert.equal(retry.status, 200);
  assert.deepEqual(
    ((await retry.json()).parameter as { version: number }).version,
    written.version,
    'the retry wrote nothing',
  );
  const reused = await set(
    req('/set-parameter', { as: 'operator', body: { parameter_id: b, value: 111, request_id: requestId } }),
  );
  assert.equal(reused.status, 409);
  const body = await reused.json();
  assert.equal(body.code, '23505');
  assert.doesNotMatch(body.message, /constraint|parameter_changes/);
});

dbTest('set-parameter: OPTIONS 204 announces POST', async () => {
  const { set } = isolate();
  const res = await set(req('/set-parameter', { method: 'OPTIONS' }));
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('access-control-allow-methods'), 'POST, OPTIONS');
});
