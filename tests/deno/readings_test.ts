// GET /readings: chart points in one get_readings call; a closed window is immutable (strong ETag,
// a year of private Cache-Control), an open one is revalidated.
import assert from 'node:assert/strict';
import { roundTrips } from '../../functions/_shared/db.ts';
import { createReadingsHandler } from '../../functions/readings/handler.ts';
import { admin, dbTest, MACHINE_A, MACHINE_B, parameterId, req } from './helpers.ts';

const readings = createReadingsHandler();
const BENCH_TEMP = parameterId('bench_heater', 'temperature_read');
const CLOSED = { from: '2026-01-10T00:00:00.000Z', to: '2026-01-10T00:00:05.000Z' };
const url = (q: Record<string, string>) => `/readings?${new URLSearchParams(q)}`;

/** Five ticks of machine B long ago: written directly (the RPCs refuse ticks older than 31 days). */
async function oldTicks(): Promise<void> {
  await admin`select public.record_readings(${MACHINE_B}, array[${BENCH_TEMP}]::uuid[], array[20.0], array[now() - interval '1 minute'])`;
  await admin`
    insert into public.readings (machine_id, ts, layout_version, vals)
    select ${MACHINE_B}, ${CLOSED.from}::timestamptz + make_interval(secs => g), l.version,
           array(select case when p = ${BENCH_TEMP}::uuid then 20.0 + g end from unnest(l.parameter_ids) p)
    from generate_series(0, 4) g
    cross join (select version, parameter_ids from public.reading_layouts where machine_id = ${MACHINE_B}
                order by version desc limit 1) l
    on conflict do nothing`;
}

dbTest('readings: a closed window comes back in one round trip with a strong ETag and a year of private caching', async () => {
  await oldTicks();
  const q = { machine_id: MACHINE_B, parameter_ids: BENCH_TEMP, ...CLOSED, max_points: '10' };
  const before = roundTrips();
  const res = await readings(req(url(q), { as: 'bench' }));
  assert.equal(res.status, 200);
  assert.equal(roundTrips() - before, 1);
  const tag = res.headers.get('etag')!;
  assert.match(tag, /^"[A-Za-z0-9_-]+"$/, 'a strong ETag');
  assert.equal(res.headers.get('cache-control'), 'private, max-age=31536000, immutable');
  const body = await res.json();
  assert.deepEqual(body.points.map((p: { ts: string; min: number; samples: number }) => [p.ts, p.min, p.samples]), [
    ['2026-01-10T00:00:00.000Z', 20, 1],
    ['2026-01-10T00:00:01.000Z', 21, 1],
    ['2026-01-10T00:00:02.000Z', 22, 1],
    ['2026-01-10T00:00:03.000Z', 23, 1],
    ['2026-01-10T00:00:04.000Z', 24, 1],
  ]);
  const again = await readings(req(url(q), { as: 'bench', headers: { 'If-None-Match': tag } }));
  assert.equal(again.status, 304);
  assert.equal(again.headers.get('etag'), tag);
});

dbTest('readings: buckets carry min, max and mean; an open window is revalidated, not kept', async () => {
  await oldTicks();
  const q = { machine_id: MACHINE_B, parameter_ids: BENCH_TEMP, ...CLOSED, max_points: '1' };
  const res = await readings(req(url(q), { as: 'bench' }));
  const body = await res.json();
  assert.deepEqual(body.points.map((p: { min: number; max: number; mean: number; samples: number }) => [p.min, p.max, p.mean, p.samples]), [
    [20, 24, 22, 5],
  ]);
  const open = await readings(req(url({
    machine_id: MACHINE_B, parameter_ids: BENCH_TEMP,
    from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString(),
  }), { as: 'bench' }));
  assert.equal(open.status, 200);
  assert.equal(open.headers.get('cache-control'), 'private, no-cache');
  assert.ok((await open.json()).points.length >= 1);
});

dbTest('readings: only viewers of the machine read it; bad queries cost no round trip', async () => {
  const q = { machine_id: MACHINE_A, parameter_ids: parameterId('chamber_heater', 'temperature_read'), ...CLOSED };
  assert.equal((await readings(req(url(q), { as: 'viewer' }))).status, 200);
  assert.equal((await readings(req(url(q), { as: 'bench' }))).status, 404);
  assert.equal((await readings(req(url(q)))).status, 401);
  const before = roundTrips();
  for (const bad of [
    { ...q, from: CLOSED.to, to: CLOSED.from },
    { ...q, parameter_ids: 'not-a-uuid' },
    { ...q, max_points: '0' },
    { ...q, extra: '1' },
    { machine_id: MACHINE_A, from: CLOSED.from, to: CLOSED.to },
  ]) {
    const res = await readings(req(url(bad as Record<string, string>), { as: 'viewer' }));
    assert.equal(res.status, 400, JSON.stringify(bad));
  }
  assert.equal(roundTrips() - before, 0);
  assert.equal((await readings(req(url(q), { as: 'viewer', method: 'POST', body: {} }))).status, 405);
});
