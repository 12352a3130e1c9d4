// POST /record-data: a tick or a backlog in one record_process_data call, idempotently.
import assert from 'node:assert/strict';
import { roundTrips } from '../../functions/_shared/db.ts';
import { createRecordDataHandler } from '../../functions/record-data/handler.ts';
import { admin, dbTest, MACHINE_A, MACHINE_B, parameterId, req, runningProcess } from './helpers.ts';

const record = createRecordDataHandler();
const TEMP = parameterId('chamber_heater', 'temperature_read');
const PRESSURE = parameterId('chamber_pressure_gauge', 'pressure_read');
const post = (body: unknown, as: 'operator' | 'viewer' | 'anon' | 'service' = 'operator') =>
  record(req('/record-data', { as, body }));
/** Tick times a few minutes back: the database refuses ticks older than 31 days. */
const T0 = Math.floor(Date.now() / 1000) * 1000 - 600_000;
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const rowsOf = async (process: string) =>
  Number((await admin`select count(*)::int as n from public.process_data_points where process_id = ${process}`)[0].n);

dbTest('record-data: one tick is one round trip, and a retry inserts nothing twice', async () => {
  const process = await runningProcess(MACHINE_A);
  const tick = {
    process_id: process,
    ts: at(0),
    readings: [{ parameter_id: TEMP, value: 149.8, set_point: 150 }, { parameter_id: PRESSURE, value: null }],
  };
  const before = roundTrips();
  const res = await post(tick);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { inserted: 2, received: 2 });
  assert.equal(roundTrips() - before, 1);
  const retry = await post(tick);
  assert.deepEqual(await retry.json(), { inserted: 0, received: 2 });
  // the narrow view has a row for each reading that holds a value or a setpoint: the pressure
  // reading (null, no setpoint) is stored in its tick but has no row there
  assert.equal(await rowsOf(process), 1);
  const [point] =
    await admin`select value, set_point from public.process_data_points where process_id = ${process} and parameter_id = ${TEMP}`;
  assert.deepEqual([point.value, point.set_point], [149.8, 150]);
});

dbTest('record-data: a tick without ts is stamped by the database', async () => {
  const process = await runningProcess(MACHINE_A);
  const res = await post({ process_id: process, readings: [{ parameter_id: TEMP, value: 150 }] });
  assert.deepEqual(await res.json(), { inserted: 1, received: 1 });
});

dbTest('record-data: a backlog of ticks goes in one call', async () => {
  const process = await runningProcess(MACHINE_A);
  const ticks = [0, 1, 2].map((s) => ({
    ts: at(10 + s),
    readings: [{ parameter_id: TEMP, value: 150 + s }, { parameter_id: PRESSURE, value: 12.5 }],
  }));
  const before = roundTrips();
  const res = await post({ process_id: process, ticks });
  assert.deepEqual(await res.json(), { inserted: 6, received: 6 });
  assert.equal(roundTrips() - before, 1);
  assert.equal(await rowsOf(process), 6);
});

dbTest('record-data: answers 413 above the byte and row limits, before any database call', async () => {
  const process = await runningProcess(MACHINE_A);
  const small = createRecordDataHandler({}, { maxBytes: 200, maxRows: 2 });
  const before = roundTrips();
  const big = await small(
    req('/record-data', {
      as: 'operator',
      body: { process_id: process, readings: Array(5).fill({ parameter_id: TEMP, value: 1 }) },
    }),
  );
  assert.equal(big.status, 413);
  assert.equal((await big.json()).code, 'payload_too_large');
  const many = await createRecordDataHandler({}, { maxRows: 2 })(req('/record-data', {
    as: 'operator',
    body: {
      process_id: process,
      ticks: [{ ts: at(0), readings: Array(3).fill({ parameter_id: TEMP, value: 1 }) }],
    },
  }));
  assert.equal(many.status, 413);
  assert.match((await many.json()).message, /3 readings in one request; the limit is 2/);
  assert.equal(roundTrips(), before);
});

dbTest('record-data: the default limit is 1 MiB', async () => {
  const process = await runningProcess(MACHINE_A);
  const readings = Array(20_000).fill({ parameter_id: TEMP, value: 123.456789 });
  const res = await post({ process_id: process, readings });
  assert.equal(res.status, 413);
  assert.equal((await res.json()).limit_bytes, 1_048_576);
});

dbTest('record-data: every bad input gets its documented status', async () => {
  const process = await runningProcess(MACHINE_A);
  const ended = await runningProcess(MACHINE_B);
  await admin`update public.process_executions set status = 'completed', started_at = now() - interval '2 hours', ended_at = now() - interval '1 hour' where id = ${ended}`;
  const benchParam = parameterId('bench_heater', 'temperature_set');
  const reading = { parameter_id: TEMP, value: 1 };
  const cases: [string, Promise<Response>, number, string][] = [
    ['not JSON', post('nope'), 400, 'invalid_request'],
    ['no readings', post({ process_id: process, readings: [] }), 400, 'invalid_request'],
    [
      'value as text',
      post({ process_id: process, readings: [{ parameter_id: TEMP, value: '1' }] }),
      400,
      'invalid_request',
    ],
    [
      'ts without zone',
      post({ process_id: process, ts: '2026-03-01 10:00', readings: [reading] }),
      400,
      'invalid_request',
    ],
    ['batch tick without ts', post({ process_id: process, ticks: [{ readings: [reading] }] }), 400, 'invalid_request'],
    ['readings and ticks', post({ process_id: process, readings: [reading], ticks: [] }), 400, 'invalid_request'],
    ['anon key', post({ process_id: process, readings: [reading] }, 'anon'), 401, 'unauthorized'],
    ['viewer', post({ process_id: process, readings: [reading] }, 'viewer'), 403, '42501'],
    [
      'unknown process',
      post({ process_id: '00000000-0000-4000-8000-00000000beef', readings: [reading] }),
      404,
      'P0002',
    ],
    [
      'process ended',
      post(
        { process_id: ended, ts: new Date().toISOString(), readings: [{ parameter_id: benchParam, value: 1 }] },
        'service',
      ),
      409,
      '55000',
    ],
    [
      'parameter of another machine',
      post({ process_id: process, readings: [{ parameter_id: benchParam, value: 1 }] }),
      422,
      '22023',
    ],
    ['GET', record(req('/record-data', { as: 'operator' })), 405, 'method_not_allowed'],
  ];
  for (const [what, pending, status, code] of cases) {
    const res = await pending;
    const body = await res.json();
    assert.equal(res.status, status, `${what}: ${JSON.stringify(body)}`);
    assert.equal(body.code, code, what);
  }
  assert.equal(await rowsOf(process), 0);
});

dbTest('record-data: a validation error names the field', async () => {
  const process = await runningProcess(MACHINE_A);
  const res = await post({
    process_id: process,
    readings: [{ parameter_id: TEMP, value: 1 }, { parameter_id: 'x', value: 1 }],
  });
  const body = await res.json();
  assert.equal(res.status, 400);
  assert.match(body.message, /body\.readings\[1\]\.parameter_id: must be a uuid/);
  assert.deepEqual(body.issues, [{ path: 'body.readings[1].parameter_id', message: 'must be a uuid' }]);
});
