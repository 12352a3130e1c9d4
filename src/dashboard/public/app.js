// The dashboard page: loads the recent history for the charts, then follows the server's event
// stream (GET /api/events, one snapshot per interval) and redraws every panel from each snapshot.
//
// For the browser test: once a snapshot is drawn, <body data-snapshot-id> holds its id, and every
// number on the page carries its raw value in data-value (format.js), all set in one task.
import { TimeChart } from './charts.js';
import { clock, el, fill } from './format.js';
import { renderCache, renderConnections, renderDoctor, renderLatency, renderMachines, renderRecorder, renderRoundTrips, renderSetpoints } from './panels.js';

const MAX_POINTS = 300;
const BLUE = '#2563eb';
const ORANGE = '#ea580c';
const RED = '#dc2626';
const GREEN = '#16a34a';
const PURPLE = '#9333ea';
const SLATE = '#64748b';

const state = { points: [], latest: null, operation: '', streamOk: false, lastEventMs: 0 };
const $ = (id) => document.getElementById(id);

const charts = {
  latency: new TimeChart($('latency-chart'), {
    series: [{ label: 'p50', color: BLUE, unit: 'ms' }, { label: 'p95', color: ORANGE, unit: 'ms' }],
    axes: { y: { unit: 'ms' } },
  }),
  cache: new TimeChart($('cache-chart'), {
    series: [
      { label: 'hit ratio', color: GREEN, unit: '%' },
      { label: 'revalidating', color: PURPLE, unit: 'reads/s', scale: 'y2' },
    ],
    axes: { y: { unit: '%', max: 100 }, y2: { unit: '/s' } },
  }),
  recorder: new TimeChart($('recorder-chart'), {
    series: [
      { label: 'data points', color: BLUE, unit: 'rows/s' },
      { label: 'backlog', color: RED, unit: 'rows', scale: 'y2' },
    ],
    axes: { y: { unit: '/s' }, y2: { unit: 'rows' } },
  }),
  connections: new TimeChart($('conn-chart'), {
    series: [
      { label: 'SDK pool', color: BLUE, unit: 'conn' },
      { label: 'server', color: SLATE, unit: 'conn' },
      { label: 'waiting', color: RED, unit: 'calls', scale: 'y2' },
    ],
    axes: { y: { unit: 'conn' }, y2: { unit: 'calls' } },
  }),
};

function operationOf(point) {
  const sdk = point.sdk;
  if (!sdk) return null;
  return state.operation ? sdk.operations.find((o) => o.operation === state.operation) ?? null : sdk.all;
}

function drawCharts() {
  const p = state.points;
  const t = p.map((x) => x.atMs);
  const col = (fn) => p.map((x) => fn(x) ?? null);
  charts.latency.setData(t, [col((x) => operationOf(x)?.window.p50Ms), col((x) => operationOf(x)?.window.p95Ms)]);
  charts.cache.setData(t, [col((x) => x.sdk?.cache.windowHitRatioPercent), col((x) => x.sdk?.cache.revalidatingReadsPerSecond)]);
  charts.recorder.setData(t, [col((x) => x.sdk?.recorder.pointsPerSecond), col((x) => x.sdk?.recorder.backlogRows)]);
  // While the database is unreachable its connection count is unknown: a gap, not a stale line.
  charts.connections.setData(t, [
    col((x) => x.sdk?.pool.inUse),
    col((x) => (x.database.reachable ? x.database.connections?.inUse : null)),
    col((x) => x.sdk?.pool.waiting),
  ]);
}

function renderOperations(s) {
  const select = $('latency-op');
  const names = s.sdk ? s.sdk.operations.map((o) => o.operation) : [];
  const shown = [...select.options].slice(1).map((o) => o.value);
  if (names.join() !== shown.join()) {
    select.replaceChildren(el('option', { value: '' }, 'all operations'), ...names.map((n) => el('option', { value: n }, n)));
    select.value = names.includes(state.operation) ? state.operation : '';
  }
}

function renderStatus(s) {
  const d = s.database;
  const pill = $('db-pill');
  if (!d.configured) {
    pill.className = 'pill pill-wait';
    pill.textContent = 'no database';
  } else if (d.reachable === null) {
    pill.className = 'pill pill-wait';
    pill.textContent = 'checking the database…';
  } else {
    pill.className = `pill ${d.reachable ? 'pill-ok' : 'pill-error'}`;
    pill.textContent = d.reachable ? `database reachable · ${d.name ?? ''}` : 'database unreachable';
  }
  $('updated').textContent = `updated ${clock(s.at)} · snapshot #${s.id} · every ${s.intervalMs >= 1000 ? `${s.intervalMs / 1000} s` : `${s.intervalMs} ms`}`;

  const banner = $('db-banner');
  banner.hidden = d.reachable !== false;
  if (d.reachable === false) {
    const since = d.lastReachableAt ? `last known values from ${clock(d.lastReachableAt)}` : 'no values from it yet';
    banner.replaceChildren(el('strong', {}, 'Database unreachable: '), d.error ?? 'no answer',
      ` — ${s.sdk ? 'showing SDK metrics only; database panels show ' : 'showing '}${since}.`);
  }
  const sdkBanner = $('sdk-banner');
  sdkBanner.hidden = s.sdk !== null && !s.sdkError;
  if (!sdkBanner.hidden) {
    sdkBanner.textContent = s.sdkError
      ? `The SDK's metrics could not be read: ${s.sdkError}`
      : 'Database only: no SDK client is attached to this dashboard, so latency, round trips, cache and recorder are empty.';
  }
  fill('foot',
    `Rates and latency quantiles cover the last ${Math.round(s.windowMs / 1000)} s; quantiles are interpolated within the SDK's histogram buckets `
    + '(1, 5, 10, 50, 100, 500 ms, …), as PromQL’s histogram_quantile does. Raw data: ',
    el('a', { href: '/metrics' }, '/metrics'), ' · ', el('a', { href: '/api/snapshot' }, '/api/snapshot'), '.');
}

function renderConnectionBanner() {
  const banner = $('conn-banner');
  const s = state.latest;
  const silentMs = Date.now() - state.lastEventMs;
  const late = s && silentMs > Math.max(5000, 3 * s.intervalMs);
  banner.hidden = state.streamOk && !late;
  if (!banner.hidden) {
    banner.replaceChildren(el('strong', {}, 'Connection to the dashboard lost'),
      ` — reconnecting…${s ? ` Values as of ${clock(s.at)}.` : ''}`);
  }
}

function render(s) {
  renderStatus(s);
  renderOperations(s);
  renderLatency(s, state.operation);
  renderRoundTrips(s);
  renderCache(s);
  renderRecorder(s);
  renderConnections(s);
  renderMachines(s);
  renderSetpoints(s);
  if (s.doctor) renderDoctor(s);
  drawCharts();
  document.body.dataset.snapshotId = String(s.id);
}

function apply(snapshot) {
  if (state.latest && snapshot.id <= state.latest.id) {
    if (snapshot.atMs <= state.latest.atMs) return; // sent again after a reconnect
    state.points = []; // a newer snapshot with a lower id: the server restarted
  }
  const { doctor: _doctor, ...point } = snapshot;
  const last = state.points[state.points.length - 1];
  if (!last || last.id < point.id) state.points.push(point); // the history may hold it already
  if (state.points.length > MAX_POINTS) state.points.splice(0, state.points.length - MAX_POINTS);
  state.latest = snapshot;
  state.lastEventMs = Date.now();
  render(snapshot);
  renderConnectionBanner();
}

$('latency-op').addEventListener('change', (e) => {
  state.operation = e.target.value;
  if (state.latest) {
    renderLatency(state.latest, state.operation);
    drawCharts();
  }
});

async function main() {
  try {
    const res = await fetch('/api/history');
    if (res.ok) state.points = (await res.json()).slice(-MAX_POINTS);
  } catch {
    // The stream below reports the connection; the charts start empty.
  }
  const events = new EventSource('/api/events');
  events.addEventListener('snapshot', (e) => apply(JSON.parse(e.data)));
  events.addEventListener('open', () => {
    state.streamOk = true;
    renderConnectionBanner();
  });
  events.addEventListener('error', () => {
    state.streamOk = false;
    renderConnectionBanner();
  });
  setInterval(renderConnectionBanner, 1000);
}

main();
