// Pure pieces: SQLSTATE → status, error bodies, request parsing, cache headers, the call script.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { callScript } from '../../functions/_shared/db.ts';
import { HttpError, httpErrorFromDatabase, SQLSTATE_STATUS, statusForSqlstate } from '../../functions/_shared/http.ts';
import { cacheStatus, etag, ifNoneMatchHits, MAX_IDS, parseQuery, queryKey } from '../../functions/parameters/query.ts';
import { toRecordArgs } from '../../functions/record-data/body.ts';

const failure = (sqlstate: string, raisedByRpc = true) => ({
  sqlstate,
  message: 'value out of range',
  detail: '500 is outside [0, 400]',
  hint: undefined,
  raisedByRpc,
  unavailable: false,
});

Deno.test('http: maps each documented SQLSTATE to its status', () => {
  const expected: Record<string, number> = {
    '22004': 400,
    '22023': 422,
    '22003': 422,
    'P0002': 404,
    '42501': 403,
    '40001': 409,
    '55000': 409,
    '23505': 409,
    '23503': 409,
    '40P01': 409,
    '57014': 504,
    '53300': 503,
  };
  assert.deepEqual(SQLSTATE_STATUS, expected);
  assert.equal(statusForSqlstate('42501', true), 401);
  assert.equal(statusForSqlstate('42P01'), 500);
});

Deno.test('http: passes on messages our RPCs raised, hides every other database text', () => {
  const raised = httpErrorFromDatabase(failure('22003')).toJSON();
  assert.deepEqual(raised, { code: '22003', message: 'value out of range', details: '500 is outside [0, 400]' });
  const platform = httpErrorFromDatabase({
    ...failure('42501', false),
    message: 'permission denied for function get_parameters',
  });
  assert.deepEqual(platform.toJSON(), { code: '42501', message: 'not allowed' });
  const bug = httpErrorFromDatabase({ ...failure('42703', false), message: 'column "x" does not exist' });
  assert.deepEqual([bug.status, bug.toJSON()], [500, { code: 'internal_error', message: 'internal error' }]);
  const down = httpErrorFromDatabase({ ...failure('08006', false), unavailable: true });
  assert.deepEqual([down.status, down.code], [503, 'database_unavailable']);
});

Deno.test('parameters query: accepts exactly one of machine_id, component_ids, ids', () => {
  const a = '00000000-0000-4000-8000-000000000001';
  const b = '56d243a2-5e41-e24a-eecd-49d37224f768'; // md5-derived ids are not RFC 4122 variants
  assert.deepEqual(parseQuery(new URLSearchParams(`machine_id=${a}`)), { kind: 'machine', ids: [a] });
  assert.deepEqual(parseQuery(new URLSearchParams(`ids=${b},${a},${b}`)), { kind: 'ids', ids: [a, b] });
  assert.equal(queryKey(parseQuery(new URLSearchParams(`component_ids=${b},${a}`))), `components:${a},${b}`);
  const bad = (qs: string, message: RegExp) =>
    assert.throws(
      () => parseQuery(new URLSearchParams(qs)),
      (e: unknown) => e instanceof HttpError && e.status === 400 && message.test(e.message),
    );
  bad('', /exactly one/);
  bad(`machine_id=${a}&ids=${b}`, /exactly one/);
  bad(`machine_id=${a},${a}`, /exactly one uuid/);
  bad('ids=42', /ids\[0\]: must be a uuid/);
  bad(`machine=${a}`, /unknown query parameter machine/);
  bad(
    `ids=${
      Array(MAX_IDS + 1).fill(0).map((_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`).join(',')
    }`,
    /at most 1000/,
  );
});

Deno.test('parameters headers: Cache-Status follows RFC 9211, ETag follows the versions', () => {
  assert.equal(cacheStatus('hit', { ttl: 299 }), 'ald-edge; hit; ttl=299');
  assert.equal(
    cacheStatus('revalidated', { ttl: 12, refreshing: true }),
    'ald-edge; fwd=stale; fwd-status=304; ttl=12; detail=refresh',
  );
  assert.equal(cacheStatus('miss', { stored: true }), 'ald-edge; fwd=miss; stored');
  assert.equal(cacheStatus('stale', { stored: true }), 'ald-edge; fwd=stale; fwd-status=200; stored');
  const rows = [{ id: 'a', version: 1 }, { id: 'b', version: 7 }] as never[];
  const tag = etag(rows);
  assert.match(tag, /^W\/"[A-Za-z0-9_-]+"$/);
  assert.equal(etag([{ id: 'a', version: 1 }, { id: 'b', version: 7 }] as never[]), tag);
  assert.notEqual(etag([{ id: 'a', version: 1 }, { id: 'b', version: 8 }] as never[]), tag);
  assert.equal(ifNoneMatchHits(`"x", ${tag}`, tag), true);
  assert.equal(ifNoneMatchHits(tag.slice(2), tag), true); // weak comparison ignores W/
  assert.equal(ifNoneMatchHits('*', tag), true);
  assert.equal(ifNoneMatchHits('W/"other"', tag), false);
  assert.equal(ifNoneMatchHits(null, tag), false);
});

Deno.test('db: the call script carries caller text only base64-encoded, and roles from a fixed list', () => {
  const evil = `x'); drop table public.machines; --`;
  const script = callScript({ role: 'authenticated', claims: { sub: evil } }, ['select 1'], { reason: evil }, 5000);
  assert.equal(script.includes('drop table'), false);
  assert.ok(script.includes(Buffer.from(JSON.stringify({ sub: evil })).toString('base64')));
  assert.match(script, /set_config\('role', 'authenticated', true\)/);
  assert.match(script, /set_config\('statement_timeout', '5000', true\)/);
  assert.throws(() => callScript({ role: 'postgres' as never, claims: {} }, [], {}, 5000), /caller.role/);
});

Deno.test('record-data body: flattens ticks into parallel arrays and enforces the row limit', () => {
  const p1 = '00000000-0000-4000-8000-00000000a001';
  const p2 = '00000000-0000-4000-8000-00000000a002';
  const pid = '00000000-0000-4000-8000-00000000b001';
  const single = toRecordArgs({
    process_id: pid,
    readings: [{ parameter_id: p1, value: 1.5 }, { parameter_id: p2, value: null }],
  }, 10);
  assert.deepEqual(single, {
    process_id: pid,
    parameter_ids: `{${p1},${p2}}`,
    values: '{1.5,NULL}',
    timestamps: null,
    set_points: null,
    rows: 2,
  });
  const batch = toRecordArgs({
    process_id: pid,
    ticks: [
      { ts: '2026-01-01T12:00:00+01:00', readings: [{ parameter_id: p1, value: 1, set_point: 2 }] },
      { ts: '2026-01-01T11:00:01Z', readings: [{ parameter_id: p1, value: 3 }] },
    ],
  }, 10);
  assert.equal(batch.timestamps, '{"2026-01-01T11:00:00.000Z","2026-01-01T11:00:01.000Z"}');
  assert.equal(batch.set_points, '{2,NULL}');
  assert.throws(
    () =>
      toRecordArgs({ process_id: pid, readings: [{ parameter_id: p1, value: 1 }, { parameter_id: p2, value: 2 }] }, 1),
    (e: unknown) => e instanceof HttpError && e.status === 413,
  );
});
