// The panels' numbers and tables, drawn from one snapshot (src/dashboard/types.ts). Charts are
// drawn in app.js from the history. Text always goes in through textContent (el/num), never HTML.
import { ago, clock, el, fill, formats as f, num, tile } from './format.js';

const seconds = (ms) => `${Math.round(ms / 1000)} s`;

function noSdk(s) {
  return el('p', { class: 'empty' }, s.sdkError
    ? `The SDK's metrics could not be read: ${s.sdkError}`
    : 'No SDK metrics: start the dashboard with an SDK client (startDashboard({ db })) or a registry.');
}

export function renderLatency(s, operation) {
  if (!s.sdk) return fill('latency-tiles', noSdk(s));
  const o = operation ? s.sdk.operations.find((x) => x.operation === operation) ?? null : s.sdk.all;
  const w = seconds(s.windowMs);
  fill('latency-tiles',
    tile(`p50 · last ${w}`, num('latency-p50', o?.window.p50Ms, f.ms)),
    tile(`p95 · last ${w}`, num('latency-p95', o?.window.p95Ms, f.ms)),
    tile('p95 · since start', num('latency-p95-total', o?.total.p95Ms, f.ms)),
    tile(`calls · last ${w}`, num('latency-rate', o?.roundTripsPerSecond, f.rate('calls/s'))));
}

export function renderRoundTrips(s) {
  if (!s.sdk) {
    fill('rt-tiles', noSdk(s));
    return fill('rt-table');
  }
  const a = s.sdk.all;
  fill('rt-tiles',
    tile('per call', num('rt-per-call', a.roundTripsPerCall, f.ratio('RT')), 'target: 1 RT'),
    tile('round trips', num('rt-total', a.roundTrips, f.count('RT')), 'since start'),
    tile('retries', num('rt-retries', a.retries, f.count('calls')), 'transient errors'),
    tile('errors', num('rt-errors', a.errors, f.count('calls')), 'failed attempts'));
  document.querySelector('#rt-tiles .tile:last-child').classList.toggle('bad', a.errors > 0);
  const head = el('tr', {}, ['operation', 'per call', 'round trips', 'rate', 'p50', 'p95'].map((h) => el('th', { scope: 'col' }, h)));
  const rows = s.sdk.operations.map((o) => {
    const id = `op-${o.operation}`;
    const perCall = num(`${id}-per-call`, o.roundTripsPerCall, f.ratio('RT'));
    return el('tr', {},
      el('td', { class: 'name' }, o.operation),
      el('td', { class: `per-call${o.roundTripsPerCall !== null && o.roundTripsPerCall > 1.005 ? ' off' : ''}` }, perCall),
      el('td', {}, num(`${id}-rt`, o.roundTrips, f.count('RT'))),
      el('td', {}, num(`${id}-rate`, o.roundTripsPerSecond, f.rate('RT/s'))),
      el('td', {}, num(`${id}-p50`, o.window.p50Ms, f.ms)),
      el('td', {}, num(`${id}-p95`, o.window.p95Ms, f.ms)));
  });
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 6, class: 'empty' }, 'No calls yet.')));
  fill('rt-table', el('thead', {}, head), el('tbody', {}, rows));
}

export function renderCache(s) {
  if (!s.sdk) return fill('cache-tiles', noSdk(s));
  const c = s.sdk.cache;
  const w = seconds(s.windowMs);
  fill('cache-tiles',
    tile('hit ratio · since start', num('cache-hit-ratio', c.hitRatioPercent, f.percent),
      [num('cache-hits', c.hits, f.count('hits')), ' · ', num('cache-misses', c.misses, f.count('misses'))]),
    tile(`hit ratio · last ${w}`, num('cache-window-hit-ratio', c.windowHitRatioPercent, f.percent)),
    tile('revalidating reads', num('cache-revalidating', c.revalidatingReads, f.count('reads')),
      [num('cache-revalidating-rate', c.revalidatingReadsPerSecond, f.rate('reads/s'))]),
    tile('cached rows', num('cache-entries', c.entries, f.count('rows')),
      c.coherent === null ? null : c.coherent ? 'served from memory' : 'revalidating: not trusted'));
}

export function renderRecorder(s) {
  if (!s.sdk) return fill('recorder-tiles', noSdk(s));
  const r = s.sdk.recorder;
  fill('recorder-tiles',
    tile(`data points · last ${seconds(s.windowMs)}`, num('recorder-points-rate', r.pointsPerSecond, f.rate('rows/s'))),
    tile('backlog', num('recorder-backlog-rows', r.backlogRows, f.count('rows')), [num('recorder-backlog-ticks', r.backlogTicks, f.count('ticks'))]),
    tile('stored', num('recorder-rows-sent', r.rowsSent, f.count('rows')), 'since start'),
    tile('dropped', num('recorder-rows-dropped', r.rowsDropped, f.count('rows')), 'since start'));
  document.querySelector('#recorder-tiles .tile:last-child').classList.toggle('bad', r.rowsDropped > 0);
}

export function renderConnections(s) {
  const d = s.database;
  const tiles = [];
  if (s.sdk) {
    const p = s.sdk.pool;
    tiles.push(
      tile('SDK pool in use', num('pool-in-use', p.inUse, f.count('conn')), ['pool size ', num('pool-max', p.max, f.count('conn'))]),
      tile('waiting for a connection', num('pool-waiting', p.waiting, f.count('calls'))));
  }
  if (d.configured) {
    const c = d.connections;
    tiles.push(
      tile('server connections', num('db-connections', c?.inUse, f.count('conn')),
        c ? [num('db-connections-percent', c.usedPercent, f.percent), ' of ', num('db-connections-max', c.max, f.count('max'))] : null),
      tile('database check', num('db-latency', d.latencyMs, f.ms), d.reachable === false ? 'unreachable' : 'one round trip'));
  }
  fill('conn-tiles', tiles.length ? tiles : el('p', { class: 'empty' }, 'No SDK client and no database.'));
  // The database's tiles hold last known values while it is unreachable; the SDK's stay live.
  if (d.configured && d.reachable === false) for (const t of [...document.querySelectorAll('#conn-tiles .tile')].slice(-2)) t.classList.add('stale');
}

export function renderSetpoints(s) {
  const q = s.database.setpoints;
  if (!q) {
    fill('setpoint-tiles', el('p', { class: 'empty' }, s.database.configured ? 'No setpoint queue in this database.' : 'No database (--db-url).'));
    fill('setpoint-failures');
    return;
  }
  fill('setpoint-tiles',
    tile('pending', num('setpoints-pending', q.pending, f.count('requests')), q.oldestOpenMs === null ? 'none open' : ['oldest ', num('setpoints-oldest', q.oldestOpenMs, f.ms)]),
    tile('being written', num('setpoints-claimed', q.claimed, f.count('requests')), 'claimed by a controller'),
    tile('overdue claims', num('setpoints-overdue', q.overdue, f.count('requests')), 'past their claim timeout'),
    tile('failed · last hour', num('setpoints-failed', q.failedLastHour, f.count('requests')), 'the PLC write failed'));
  const tiles = document.querySelectorAll('#setpoint-tiles .tile');
  tiles[2]?.classList.toggle('bad', q.overdue > 0);
  tiles[3]?.classList.toggle('bad', q.failedLastHour > 0);
  fill('setpoint-failures', table(['failed', 'machine', 'parameter', 'value', 'error'],
    q.recentFailures.map((x) => el('tr', {}, el('td', {}, clock(x.at)), el('td', {}, x.machine), el('td', {}, x.parameter), el('td', { class: 'num' }, String(x.value)), el('td', {}, x.error))),
    'No failed setpoint request.'));
}

export function renderDoctor(s) {
  const dr = s.doctor;
  const panel = document.getElementById('panel-doctor');
  panel.classList.toggle('stale', dr.stale || s.database.reachable === false);
  const note = document.getElementById('doctor-note');
  note.classList.toggle('error', dr.error !== null);
  if (!s.database.configured) note.textContent = 'No database: the doctor needs one (--db-url).';
  else if (dr.error) note.textContent = `Last run failed: ${dr.error}${dr.report ? ` — showing the report of ${clock(dr.at)}` : ''}`;
  else if (dr.report) note.textContent = `report of ${clock(dr.at)} (${ago(dr.at, s.atMs)}) · runs every ${seconds(dr.intervalMs)}`;
  else note.textContent = 'running…';
  const r = dr.report;
  if (!r) {
    fill('doctor-tiles');
    for (const id of ['tables-legend', 'tables', 'statements', 'unused', 'redundant']) fill(id);
    return;
  }
  const findings = tile('findings', num('doctor-failures', r.failures.length, f.count(r.failures.length === 1 ? 'failure' : 'failures')),
    r.ok ? 'healthy' : r.failures[0].message);
  findings.classList.add(r.ok ? 'good' : 'bad');
  fill('doctor-tiles',
    findings,
    tile('buffer cache hit ratio', num('doctor-cache-hit-ratio', r.cache.hitRatioPercent, f.percent), r.cache.database),
    tile('unused indexes', num('doctor-unused-count', r.unusedIndexes.length, f.count('indexes')), 'never scanned'),
    tile('duplicate or redundant', num('doctor-redundant-count', r.redundantIndexes.length, f.count('indexes'))),
    tile('statistics since', el('span', {}, r.server.statsReset ? clock(r.server.statsReset) : 'server start'), `PostgreSQL ${r.server.version.split(' ')[0]}`));
  renderTables(r);
  renderStatements(r);
  renderUnused(r);
  renderRedundant(r);
}

function table(headers, rows, emptyText) {
  if (rows.length === 0) return el('p', { class: 'empty good' }, emptyText);
  return el('table', { class: 'data' },
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows));
}

function renderTables(r) {
  const tables = r.tables.filter((t) => t.kind !== 'partition')
    .sort((a, b) => (a.indexSharePercent ?? 101) - (b.indexSharePercent ?? 101) || b.seqScans - a.seqScans);
  const rows = tables.map((t) => {
    const id = `table-${t.schema}.${t.table}`;
    const share = t.indexSharePercent;
    // Red only where the doctor judges (tables over minRows rows); grey where a table is too small to judge.
    const under = share !== null && share < r.thresholds.minIndexSharePercent;
    const bar = el('span', { class: `bar${t.belowThreshold ? ' low' : under ? ' small' : ''}` }, el('span', { style: `width:${share ?? 0}%` }));
    return el('tr', { class: t.belowThreshold ? 'flag' : null },
      el('td', { class: 'name' }, t.schema === 'public' ? t.table : `${t.schema}.${t.table}`),
      el('td', {}, el('span', { class: 'share' }, bar, num(`${id}-share`, share, f.percent))),
      el('td', {}, num(`${id}-rows`, t.liveRows, f.count('rows'))),
      el('td', {}, num(`${id}-seq`, t.seqScans, f.count('seq'))),
      el('td', {}, num(`${id}-idx`, t.indexScans, f.count('idx'))));
  });
  const { minIndexSharePercent: min, minRows } = r.thresholds;
  fill('tables-legend',
    el('span', { class: 'key', style: 'background:var(--ok)' }), `≥ ${min} %`,
    el('span', { class: 'key', style: 'background:var(--error)' }), `under ${min} % with over ${minRows.toLocaleString('en-US')} rows (fails)`,
    el('span', { class: 'key', style: 'background:#a8b3c2' }), 'under, but too small to judge');
  fill('tables', table(['table', 'index share', 'live rows', 'seq scans', 'index scans'], rows, 'No tables.'));
}

function renderStatements(r) {
  const st = r.statements;
  if (st.status !== 'ok') return fill('statements', el('p', { class: 'empty' }, st.note ?? st.status));
  const rows = st.statements.map((x, i) => el('tr', {},
    el('td', {}, num(`statement-${i}-mean`, x.meanMs, f.ms)),
    el('td', {}, num(`statement-${i}-calls`, x.calls, f.count('calls'))),
    el('td', {}, num(`statement-${i}-total`, x.totalMs, f.ms)),
    el('td', { class: 'query', title: x.query }, x.query.replace(/\s+/g, ' '))));
  fill('statements', table(['mean', 'calls', 'total', 'statement'], rows, 'No statements recorded yet.'));
}

function renderUnused(r) {
  const rows = r.unusedIndexes.map((x) => el('tr', {},
    el('td', { class: 'name', title: x.definition }, x.index),
    el('td', { class: 'name' }, x.table),
    el('td', {}, num(`unused-${x.schema}.${x.index}-size`, x.sizeBytes, f.bytes))));
  fill('unused', table(['index', 'table', 'size'], rows, 'Every index was scanned.'));
}

function renderRedundant(r) {
  const rows = r.redundantIndexes.flatMap((x) => [
    el('tr', {},
      el('td', { class: 'name', title: x.definition }, x.index),
      el('td', {}, x.kind),
      el('td', { class: 'name', title: x.coveredByDefinition }, x.coveredBy),
      el('td', {}, num(`redundant-${x.schema}.${x.index}-size`, x.sizeBytes, f.bytes))),
    el('tr', {}, el('td', { colspan: 4, class: 'fix' }, `${x.reason} — fix: ${x.fix}`)),
  ]);
  fill('redundant', table(['index', 'kind', 'covered by', 'size'], rows, 'No duplicate or redundant index.'));
}

/** Machines: their status, their controller (alive or not, last seen) and their latest run's live progress. */
export function renderMachines(s) {
  const d = s.database;
  const note = document.getElementById('machines-note');
  note.hidden = !d.machinesError;
  note.textContent = d.machinesError ? `Machines could not be read: ${d.machinesError}` : '';
  const machines = d.machines ?? [];
  const rows = machines.map((m) => {
    const id = `machine-${m.id}`;
    const k = m.controller;
    const r = m.run;
    const open = r && (r.status === 'running' || r.status === 'paused');
    const step = r && r.currentStep
      ? `${r.currentStepType ?? ''} ${r.currentStep}${r.loopIteration ? ` · loop ${r.loopIteration}/${r.loopCount ?? '?'}` : ''}`
      : '';
    const bar = r ? el('span', { class: 'bar' }, el('span', { style: `width:${Math.min(100, r.progressPercent)}%` })) : null;
    return el('tr', { class: m.status === 'error' || (k && k.status === 'dead') ? 'flag' : null },
      el('td', { class: 'name' }, m.name),
      el('td', { title: m.statusReason ?? '' }, m.statusReason ? `${m.status}: ${m.statusReason}` : m.status),
      el('td', { title: k ? `${k.host ?? 'unknown host'} · ${k.version ?? ''}` : '' },
        k ? `${k.status} · ${k.host ?? 'unknown host'}` : 'none registered'),
      el('td', {}, k ? num(`${id}-silent`, k.silentMs, f.ms) : '—'),
      el('td', {}, r ? `${r.status}${open ? '' : ' (last run)'}` : 'never ran'),
      el('td', {}, r ? el('span', { class: 'share' }, bar, num(`${id}-progress`, r.progressPercent, f.percent)) : '—'),
      el('td', {}, r ? [num(`${id}-steps`, r.completedSteps, f.count('steps')), ` of ${r.totalSteps}`] : '—'),
      el('td', {}, step),
      el('td', {}, r ? num(`${id}-elapsed`, r.elapsedMs, f.ms) : '—'),
      el('td', {}, r ? num(`${id}-remaining`, r.estimatedRemainingMs, f.ms) : '—'));
  });
  fill('machines', table(['machine', 'status', 'controller', 'silent for', 'run', 'progress', 'steps', 'current step', 'elapsed', 'remaining'],
    rows, d.configured ? 'No machines.' : 'No database: machines need one (--db-url).'));
}
