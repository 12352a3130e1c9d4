// Time charts on uPlot (served from node_modules by the dashboard server): one per panel, a line
// per series, one or two y axes each with its unit, sized to their container.
import uPlot from '/vendor/uPlot.esm.js';
import { axisNumber } from './format.js';

const AXIS = { stroke: '#64748b', font: '11px system-ui, sans-serif', grid: { stroke: '#eef1f5', width: 1 }, ticks: { stroke: '#e2e8f0', width: 1, size: 4 } };
const HEIGHT = 170;

/** Never below zero; a flat zero line still gets a visible range. */
const fromZero = (fixedMax) => (u, min, max) => [0, fixedMax ?? (max > 0 ? max * 1.15 : 1)];

/**
 * series: [{ label, color, unit, scale?: 'y' | 'y2', dash?: number[] }]
 * axes:   { y: { unit, max? }, y2?: { unit, max? } }
 */
export class TimeChart {
  constructor(container, { series, axes }) {
    this.container = container;
    const axis = (scale, { unit }, side) => ({
      ...AXIS, scale, side, gap: 4,
      // Wide enough for the longest tick label ("1,370 rows/s"), measured from the labels drawn.
      size: (u, values) => 14 + 6.2 * Math.max(3, ...(values ?? []).map((v) => String(v ?? '').length)),
      grid: side === 1 ? { show: false } : AXIS.grid,
      values: (u, values) => values.map((v) => (v === null ? '' : `${axisNumber(v)} ${unit}`)),
    });
    const opts = {
      width: Math.max(200, container.clientWidth),
      height: HEIGHT,
      padding: [8, 4, 0, 0],
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      legend: { live: false },
      scales: {
        x: { time: true },
        y: { range: fromZero(axes.y.max) },
        ...(axes.y2 ? { y2: { range: fromZero(axes.y2.max) } } : {}),
      },
      series: [
        {},
        ...series.map((s) => ({
          label: `${s.label} (${s.unit})`, stroke: s.color, width: 2, dash: s.dash, scale: s.scale ?? 'y',
          points: { show: false }, spanGaps: false,
        })),
      ],
      axes: [
        { ...AXIS, space: 60 },
        axis('y', axes.y, 3),
        ...(axes.y2 ? [axis('y2', axes.y2, 1)] : []),
      ],
    };
    this.plot = new uPlot(opts, [[], ...series.map(() => [])], container);
    this.observer = new ResizeObserver(() => {
      const width = Math.max(200, container.clientWidth);
      if (width !== this.plot.width) this.plot.setSize({ width, height: HEIGHT });
    });
    this.observer.observe(container);
  }

  /** times: ms since the epoch; columns: one array per series (null for a gap). */
  setData(times, columns) {
    this.plot.setData([times.map((t) => t / 1000), ...columns]);
  }
}
