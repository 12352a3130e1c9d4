// `--chart FILE.svg`: the benchmark drawn with Vega-Lite, rendered headless to SVG.
// Top row: p50 latency old vs new per step type, one panel per machine. Middle row: round trips
// per step type. Bottom: ingestion throughput per method (log scale).
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { STEP_TYPES, type BenchResult, type StepType } from './results.ts';
import { INGESTION_METHODS } from './ingestion.ts';

const STEP_LABELS: Record<StepType, string> = {
  recordingTick: 'recording tick',
  valveStep: 'valve step',
  purgeStep: 'purge step',
  parameterStep: 'parameter step',
  cachedParameterRead: 'cached read',
};

const METHOD_LABELS = { perRow: 'per-row INSERT', batch50: '50-row batches', arrayInsert: 'array insert', copy: 'COPY' };

export function chartSpec(r: BenchResult): TopLevelSpec {
  const steps = Object.entries(r.machines).flatMap(([key, m]) =>
    STEP_TYPES.flatMap((step) =>
      (['old', 'new'] as const).map((variant) => ({
        machine: `${m.machine.name} (${m.machine.components} components, ${m.machine.parameters} parameters)`,
        machineKey: key,
        step: STEP_LABELS[step],
        variant: variant === 'old' ? 'old controller' : r.newImplementation === 'sdk' ? 'SDK' : 'RPC (no SDK)',
        p50: m.steps[step][variant].p50,
        roundTrips: m.steps[step][variant].roundTrips,
      })),
    ),
  );
  const ingestion = [r.ingestion, ...(r.ingestionWithRtt ? [r.ingestionWithRtt] : [])].flatMap((i) =>
    INGESTION_METHODS.map((m) => ({ method: METHOD_LABELS[m], rtt: i.via === 'direct' ? 'direct, no RTT' : `${i.rttMs} ms RTT`, rowsPerSecond: i[m] })),
  );
  const rttLabels = [...new Set(ingestion.map((d) => d.rtt))];
  const order = STEP_TYPES.map((s) => STEP_LABELS[s]);
  const newLabel = r.newImplementation === 'sdk' ? 'SDK' : 'RPC (no SDK)';
  const color = { field: 'variant', type: 'nominal', title: null, scale: { domain: ['old controller', newLabel], range: ['#c0504d', '#2f7ebc'] } } as const;
  const bars = (field: 'p50' | 'roundTrips', title: string, format: string) => ({
    data: { values: steps },
    facet: { column: { field: 'machine', type: 'nominal', title: null, header: { labelFontSize: 12 } } },
    spec: {
      width: 330,
      height: 210,
      encoding: {
        x: {
          field: 'step', type: 'nominal', sort: order, title: null,
          axis: { labelAngle: 0, labelFontSize: 10, labelExpr: "split(datum.label, ' ')" },
        },
        xOffset: { field: 'variant', sort: ['old controller', newLabel] },
        y: { field, type: 'quantitative', title },
        color,
      },
      layer: [
        { mark: { type: 'bar' } },
        { mark: { type: 'text', dy: -5, fontSize: 9 }, encoding: { text: { field, type: 'quantitative', format } } },
      ],
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `ald-db: old controller vs ${r.newImplementation === 'sdk' ? 'SDK' : 'direct RPC'} at ${r.rttMs} ms injected RTT`,
      subtitle: `${r.iterations} iterations per step type; round trips counted at the TCP proxy; ${r.command ?? `npm run bench -- --rtt ${r.rttMs}`}`,
    },
    config: { font: 'Helvetica, Arial, sans-serif', view: { stroke: null } },
    resolve: { scale: { color: 'independent' } },
    vconcat: [
      bars('p50', 'p50 latency (ms)', '.1f'),
      bars('roundTrips', 'round trips per action', 'd'),
      {
        data: { values: ingestion },
        width: 420,
        height: 160,
        title: 'Ingestion (rows/s, log scale)',
        encoding: {
          y: { field: 'method', type: 'nominal', sort: Object.values(METHOD_LABELS), title: null },
          yOffset: { field: 'rtt', sort: rttLabels },
          x: { field: 'rowsPerSecond', type: 'quantitative', scale: { type: 'log', domainMin: 10 }, title: 'rows per second',
             axis: { values: decades(ingestion.map((d) => d.rowsPerSecond)), format: '~s' } },
          x2: { datum: 10 },
          color: { field: 'rtt', type: 'nominal', title: null, scale: { domain: rttLabels, range: ['#a0a0a0', '#4c9f70'] } },
        },
        layer: [
          { mark: 'bar' },
          { mark: { type: 'text', align: 'left', dx: 3, fontSize: 9 }, encoding: { x2: null, text: { field: 'rowsPerSecond', type: 'quantitative', format: ',d' } } },
        ],
      },
    ],
  } as TopLevelSpec;
}

/** 10, 100, … up to the first power of ten above the largest value: readable log-axis ticks. */
function decades(values: number[]): number[] {
  const out = [10];
  while (out[out.length - 1] < Math.max(...values)) out.push(out[out.length - 1] * 10);
  return out;
}

export async function renderChart(r: BenchResult): Promise<string> {
  const { spec } = compile(chartSpec(r));
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
