// Setpoints through the Edge Functions (issue 11): set-parameter answers with the row and the
// pending request it made; parameters shows desired and applied; setpoint-requests lists a
// machine's open requests, each in one database round trip, as the caller.
import assert from 'node:assert/strict';
import { IsolateCache } from '../../functions/_shared/cache.ts';
import { roundTrips } from '../../functions/_shared/db.ts';
import { createParametersHandler } from '../../functions/parameters/handler.ts';
import { createSetParameterHandler } from '../../functions/set-parameter/handler.ts';
import { createSetpointRequestsHandler } from '../../functions/setpoint-requests/handler.ts';
import { admin, dbTest, parameterId, req } from './helpers.ts';

const A = '00000000-0000-4000-8000-000000000001';

function isolate() {
  const cache = new IsolateCache({});
  return {
    get: createParametersHandler({ cache }),
    set: createSetParameterHandler({ cache }),
    list: createSetpointRequestsHandler({ cache }),
  };
}

dbTest('set-parameter answers with the row and its pending request; setpoint-requests lists it; an ack shows applied', async () => {
  const { get, set, list } = isolate();
  const id = parameterId('substrate_heater', 'kp');
  const requestId = crypto.randomUUID();
  const calls = roundTrips();
  const res = await set(req('/set-parameter', { as: 'operator', body: { parameter_id: id, value: 6.25, reason: 'edge', request_id: requestId } }));
  assert.equal(res.status, 200);
  assert.equal(roundTrips() - calls, 1, 'the write and its request in one round trip');
  const body = await res.json();
  assert.equal(body.parameter.set_value, 6.25);
  assert.equal(body.request.status, 'pending');
  assert.equal(body.request.value, 6.25);
  assert.equal(body.request.version, body.parameter.version);
  assert.equal(body.request.request_id, requestId);
  assert.equal(body.request.source, 'api');

  // A retry with the same request_id answers with the same request, and makes no other.
  const retry = await (await set(req('/set-parameter', { as: 'operator', body: { parameter_id: id, value: 6.25, request_id: requestId } }))).json();
  assert.equal(retry.request.id, body.request.id);

  const before = roundTrips();
  const open = await list(req(`/setpoint-requests?machine_id=${A}`, { as: 'viewer' }));
  assert.equal(open.status, 200);
  assert.equal(roundTrips() - before, 1);
  const listed = (await open.json()).requests;
  assert.ok(listed.some((r: { id: string; status: string }) => r.id === body.request.id && r.status === 'pending'));

  // The controller applies it (as postgres here): parameters then shows it applied.
  await admin`select * from public.claim_setpoint_requests(${A})`;
  await admin`select * from public.ack_setpoint_requests(${A}, array[${body.request.id}]::uuid[], array[true])`;
  const row = (await (await get(req(`/parameters?ids=${id}`, { as: 'viewer' }))).json()).parameters[0];
  assert.deepEqual([row.set_value, row.applied_value, row.applied_version], [6.25, 6.25, body.request.version]);
  const closed = (await (await list(req(`/setpoint-requests?machine_id=${A}&include_closed=true&limit=1000`, { as: 'viewer' }))).json()).requests;
  assert.equal(closed.find((r: { id: string }) => r.id === body.request.id).status, 'applied');
});

dbTest('set-parameter of the value already desired answers request: null', async () => {
  const { set } = isolate();
  const id = parameterId('substrate_heater', 'ki');
  const [{ set_value }] = await admin`select set_value from public.component_parameters where id = ${id}`;
  const body = await (await set(req('/set-parameter', { as: 'operator', body: { parameter_id: id, value: set_value } }))).json();
  assert.equal(body.request, null);
});

dbTest('setpoint-requests: bad queries are 400, an invisible machine 404, no token 401', async () => {
  const { list } = isolate();
  const status = async (path: string, as?: 'operator' | 'bench') => {
    const res = await list(req(path, as ? { as } : {}));
    const body = await res.json();
    return [res.status, body.code];
  };
  assert.deepEqual(await status('/setpoint-requests', 'operator'), [400, 'invalid_request']);
  assert.deepEqual(await status('/setpoint-requests?machine_id=nope', 'operator'), [400, 'invalid_request']);
  assert.deepEqual(await status(`/setpoint-requests?machine_id=${A}&limit=0`, 'operator'), [400, 'invalid_request']);
  assert.deepEqual(await status(`/setpoint-requests?machine_id=${A}&include_closed=maybe`, 'operator'), [400, 'invalid_request']);
  assert.deepEqual(await status(`/setpoint-requests?machine_id=${A}&x=1`, 'operator'), [400, 'invalid_request']);
  assert.equal((await status(`/setpoint-requests?machine_id=${A}`, 'bench'))[0], 404);
  assert.equal((await status(`/setpoint-requests?machine_id=${A}`))[0], 401);
});
