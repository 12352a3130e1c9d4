// GET /metrics: Prometheus text of the isolate's shared registry.
import assert from 'node:assert/strict';
import { IsolateCache } from '../../functions/_shared/cache.ts';
import { registry } from '../../functions/_shared/metrics.ts';
import { compareMetrics, edgeMetricsOfReadme, type MetricShape } from '../../scripts/readme-tables.ts';
import { createMetricsHandler } from '../../functions/metrics/handler.ts';
import { createParametersHandler } from '../../functions/parameters/handler.ts';
import { COMPONENT_CHAMBER_HEATER, dbTest, req } from './helpers.ts';

const metrics = createMetricsHandler();
const readme = Deno.readTextFileSync(new URL('../../README.md', import.meta.url));

const registered = (): MetricShape[] =>
  registry.getMetricsAsArray().map((m) => ({
    name: m.name,
    labels: [...((m as unknown as { labelNames?: string[] }).labelNames ?? [])],
  }));

Deno.test('metrics: the README lists every Edge metric with its labels, and nothing else', () => {
  assert.deepEqual(compareMetrics(edgeMetricsOfReadme(readme), registered(), 'the README'), []);
});

Deno.test('metrics: a metric or a label on one side only is reported', () => {
  const changed = readme.replace('`ald_edge_cache_hit_ratio`', '`ald_edge_cache_hit_rate`')
    .replace('`ald_edge_requests_total{function,method,status}`', '`ald_edge_requests_total{function,status}`');
  assert.deepEqual(compareMetrics(edgeMetricsOfReadme(changed), registered(), 'the README'), [
    'ald_edge_cache_hit_ratio is registered but missing from the README',
    'ald_edge_cache_hit_rate is in the README but not registered',
    'ald_edge_requests_total: the README gives labels {function,status}, the registry {function,method,status}',
  ]);
});

function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

dbTest('metrics: reports cache hits, misses, hit ratio, round trips and latency', async () => {
  const parameters = createParametersHandler({ cache: new IsolateCache() });
  const scrape = async () => {
    const res = await metrics(req('/metrics', { as: 'service' }));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    return await res.text();
  };
  const before = await scrape();
  for (let i = 0; i < 3; i++) {
    await (await parameters(req(`/parameters?component_ids=${COMPONENT_CHAMBER_HEATER}`, { as: 'viewer' }))).body
      ?.cancel();
  }
  const after = await scrape();
  const delta = (name: string) => sample(after, name) - sample(before, name);
  assert.equal(delta('ald_edge_cache_hits_total{validation="none"}'), 2);
  assert.equal(delta('ald_edge_cache_misses_total{reason="absent"}'), 1);
  assert.equal(delta('ald_edge_db_round_trips_total{operation="get_component_parameters_bulk",outcome="ok"}'), 1);
  const ratio = sample(after, 'ald_edge_cache_hit_ratio');
  assert.ok(ratio > 0 && ratio < 1, `hit ratio ${ratio}`);
  assert.equal(delta('ald_edge_request_duration_seconds_count{function="parameters"}'), 3);
  assert.match(after, /ald_edge_request_duration_seconds_bucket\{le="0\.005",function="parameters"\} \d+/);
  assert.match(
    after,
    /ald_edge_db_round_trip_seconds_bucket\{le="0\.05",operation="get_component_parameters_bulk"\} \d+/,
  );
  assert.match(after, /# TYPE ald_edge_request_duration_seconds histogram/);
});

dbTest('metrics: needs a service_role token', async () => {
  for (const [as, status] of [[undefined, 401], ['anon', 401], ['operator', 403]] as const) {
    const res = await metrics(req('/metrics', { as }));
    assert.equal(res.status, status, String(as));
    assert.equal(typeof (await res.json()).code, 'string');
  }
  const post = await metrics(req('/metrics', { as: 'service', method: 'POST', body: {} }));
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, OPTIONS');
  await post.body?.cancel();
  assert.equal((await metrics(req('/metrics', { method: 'OPTIONS' }))).status, 204);
});

// Issue 14 (lesser finding): every made-up HTTP method name created its own series, so
// unauthenticated requests could grow the registry without bound.
dbTest('metrics: unknown HTTP methods share one series, so requests cannot grow the registry', async () => {
  const parameters = createParametersHandler({ cache: new IsolateCache() });
  for (const method of ['BREW', 'WHEN', 'XYZZY1', 'XYZZY2']) {
    const res = await parameters(new Request('http://edge.test/parameters', { method }));
    assert.equal(res.status, 405);
    await res.body?.cancel();
  }
  const text = await (await metrics(req('/metrics', { as: 'service' }))).text();
  assert.doesNotMatch(text, /method="(BREW|WHEN|XYZZY1|XYZZY2)"/);
  assert.match(text, /ald_edge_requests_total\{function="parameters",method="OTHER",status="405"\} [4-9]/);
});
