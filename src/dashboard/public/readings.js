// The readings page: pick a machine (and a run), tick parameters grouped by component. The last
// hour is live: filled once by the chart query, then extended every second from the latest
// readings. A run, or any window zoomed into by dragging across the chart, comes from the chart
// query (get_readings) with a bucket that fits the window, so zooming in re-queries finer.
// State for tests is mirrored on <body data-*>: requests, points, latest-ts, window.
import uPlot from '/vendor/uPlot.esm.js';

const HOUR = 3_600_000;
const MAX_POINTS = 500;
const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];
const $ = (id) => document.getElementById(id);

const state = {
  machines: [], machineId: null, runId: null, params: new Map(), selected: [],
  /** { from, to } in ms; null while live */
  window: null, zoomStack: [], plot: null,
  /** per selected parameter: { t: [], mean: [], min: [], max: [] } */
  series: new Map(), latestTs: null, requests: 0, timer: null, generation: 0,
};

async function api(path) {
  state.requests++;
  document.body.dataset.requests = String(state.requests);
  const res = await fetch(`/api/readings/${path}`);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

function showError(error) {
  const banner = $('error');
  banner.textContent = error ? `cannot read the readings: ${error.message}` : '';
  banner.hidden = !error;
}

async function loadMachines() {
  state.machines = await api('machines');
  const select = $('machine');
  select.replaceChildren(...state.machines.map((m) => new Option(m.name, m.id)));
  const wanted = new URLSearchParams(location.search).get('machine_id');
  state.machineId = state.machines.some((m) => m.id === wanted) ? wanted : state.machines[0]?.id ?? null;
  select.value = state.machineId ?? '';
}

function fillRuns() {
  const machine = state.machines.find((m) => m.id === state.machineId);
  const select = $('run');
  select.replaceChildren(new Option('the last hour, live', ''), ...(machine?.runs ?? []).map((r) =>
    new Option(`run ${new Date(r.started_at).toLocaleString()} (${r.status})`, r.id)));
  state.runId = null;
}

async function loadParameters() {
  const groups = await api(`parameters?machine_id=${state.machineId}`);
  state.params = new Map();
  const box = $('params');
  box.replaceChildren();
  groups.forEach((g, gi) => {
    const fieldset = document.createElement('fieldset');
    const legend = document.createElement('legend');
    legend.textContent = g.component;
    fieldset.append(legend);
    g.parameters.forEach((p, pi) => {
      state.params.set(p.id, { ...p, component: g.component });
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = p.id;
      box.dataset.testid = `param-${g.component}-${p.name}`;
      // a first look: the first parameter of the first three components
      box.checked = gi < 3 && pi === 0;
      box.addEventListener('change', () => { selectFromBoxes(); void redraw(); });
      const latest = document.createElement('span');
      latest.className = 'latest';
      latest.id = `latest-${p.id}`;
      label.append(box, `${p.name}${p.unit ? ` (${p.unit})` : ''}`, latest);
      fieldset.append(label);
    });
    box.append(fieldset);
  });
  selectFromBoxes();
}

function selectFromBoxes() {
  state.selected = [...document.querySelectorAll('#params input:checked')].map((b) => b.value).slice(0, COLORS.length);
}

/** The window the chart shows now: a zoom, a run, or the last hour. */
function currentWindow() {
  if (state.window) return state.window;
  const run = state.machines.find((m) => m.id === state.machineId)?.runs.find((r) => r.id === state.runId);
  if (run) return { from: Date.parse(run.started_at), to: run.ended_at ? Date.parse(run.ended_at) + 1000 : Date.now() + 1000 };
  return { from: Date.now() - HOUR, to: Date.now() };
}

const live = () => !state.window && !state.runId;

async function redraw() {
  const generation = ++state.generation;
  const { from, to } = currentWindow();
  state.series = new Map(state.selected.map((id) => [id, { t: [], mean: [], min: [], max: [] }]));
  // ticks before `to` are in the answer (in a bucket that starts earlier): live adds only later ones
  state.coveredUntil = to;
  if (state.selected.length > 0) {
    const q = new URLSearchParams({ machine_id: state.machineId, parameter_ids: state.selected.join(','),
      from: new Date(from).toISOString(), to: new Date(to).toISOString(), max_points: String(MAX_POINTS) });
    if (state.runId && !state.window) q.set('process_id', state.runId);
    const rows = await api(`range?${q}`);
    if (generation !== state.generation) return;
    for (const r of rows) {
      const s = state.series.get(r.parameter_id);
      s.t.push(Date.parse(r.ts));
      s.mean.push(r.mean_value);
      s.min.push(r.min_value);
      s.max.push(r.max_value);
    }
  }
  const bucket = (to - from) / MAX_POINTS / 1000;
  $('bucket').textContent = `at most ${MAX_POINTS} points a parameter: raw readings, or buckets of at least ${bucket < 10 ? bucket.toFixed(1) : Math.round(bucket)} s (min, mean, max)`;
  $('mode').textContent = live() ? 'live · last hour' : state.window ? 'zoomed' : 'run';
  $('mode').className = `pill ${live() ? 'pill-ok' : 'pill-wait'}`;
  $('window').textContent = `${new Date(from).toLocaleString()} – ${new Date(to).toLocaleString()}`;
  document.body.dataset.window = `${new Date(from).toISOString()}|${new Date(to).toISOString()}`;
  draw();
}

function draw() {
  // one time axis for all: the union of the series' times
  const times = [...new Set([...state.series.values()].flatMap((s) => s.t))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = [];
  const series = [{}];
  state.selected.forEach((id, i) => {
    const s = state.series.get(id);
    const p = state.params.get(id);
    const color = COLORS[i % COLORS.length];
    for (const [key, label, width, dash] of [['mean', '', 2, undefined], ['min', ' min', 1, [4, 3]], ['max', ' max', 1, [4, 3]]]) {
      const column = new Array(times.length).fill(null);
      s.t.forEach((t, k) => { column[index.get(t)] = s[key][k]; });
      columns.push(column);
      series.push({ label: `${p?.component ?? ''} ${p?.name ?? id}${label}`, stroke: color, width, dash, points: { show: false } });
    }
  });
  const points = [...state.series.values()].reduce((n, s) => n + s.t.length, 0);
  document.body.dataset.points = String(points);
  const container = $('readings-chart');
  state.plot?.destroy();
  state.plot = new uPlot({
    width: Math.max(280, container.clientWidth), height: 320,
    scales: { x: { time: true } },
    cursor: { drag: { x: true, y: false, setScale: false } },
    legend: { show: true, live: false },
    series,
    hooks: {
      setSelect: [(u) => {
        if (u.select.width < 5) return;
        const from = u.posToVal(u.select.left, 'x') * 1000;
        const to = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
        u.setSelect({ left: 0, width: 0 }, false);
        state.zoomStack.push(state.window);
        state.window = { from, to };
        void redraw().catch(showError);
      }],
    },
  }, [times.map((t) => t / 1000), ...columns], container);
  container.ondblclick = () => {
    if (state.zoomStack.length === 0) return;
    state.window = state.zoomStack.pop();
    void redraw().catch(showError);
  };
}

/** Every second: the machine's last tick; live, it extends the chart and drops what left the hour. */
async function poll() {
  try {
    const rows = await api(`latest?machine_id=${state.machineId}`);
    showError(null);
    for (const r of rows) {
      const cell = $(`latest-${r.parameter_id}`);
      if (cell) cell.textContent = r.value === null ? '–' : String(Math.round(r.value * 1000) / 1000);
    }
    const ts = rows[0]?.ts ? Date.parse(rows[0].ts) : null;
    if (ts !== null && ts !== state.latestTs) {
      state.latestTs = ts;
      document.body.dataset.latestTs = new Date(ts).toISOString();
      if (live()) {
        const byId = new Map(rows.map((r) => [r.parameter_id, r.value]));
        const cutoff = Date.now() - HOUR;
        if (ts < state.coveredUntil) return;
        state.coveredUntil = ts + 1;
        for (const [id, s] of state.series) {
          const v = byId.get(id);
          if (v === undefined || v === null) continue;
          s.t.push(ts); s.mean.push(v); s.min.push(v); s.max.push(v);
          while (s.t.length && s.t[0] < cutoff) { s.t.shift(); s.mean.shift(); s.min.shift(); s.max.shift(); }
        }
        draw();
      }
    }
  } catch (error) {
    showError(error);
  }
}

async function selectMachine() {
  fillRuns();
  state.window = null;
  state.zoomStack = [];
  state.latestTs = null;
  await loadParameters();
  await redraw();
  await poll();
}

async function main() {
  try {
    await loadMachines();
    if (!state.machineId) throw new Error('no machine');
    $('machine').addEventListener('change', (e) => { state.machineId = e.target.value; void selectMachine().catch(showError); });
    $('run').addEventListener('change', (e) => {
      state.runId = e.target.value || null;
      state.window = null;
      state.zoomStack = [];
      void redraw().catch(showError);
    });
    await selectMachine();
    state.timer = setInterval(() => void poll(), 1000);
    document.body.dataset.ready = 'true';
  } catch (error) {
    showError(error);
  }
}

void main();
