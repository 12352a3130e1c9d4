// Numbers with their units, and the DOM helpers that put them on the page.
//
// Every number on the page goes through num(): the element carries the raw value in data-value
// (what the browser test compares with /api/snapshot and /metrics) and shows it rounded, with
// its unit in a separate <span class="unit">. A missing value shows as "—" with an empty data-value.

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Rounds for display: more decimals for small values, none for large ones. */
export function round(value) {
  const a = Math.abs(value);
  if (a === 0) return '0';
  if (a < 10) return value.toFixed(2);
  if (a < 100) return value.toFixed(1);
  return grouped.format(value);
}

/** A chart tick: three significant digits at most, no trailing zeros ("5", "0.25", "1,500"). */
export function axisNumber(value) {
  return new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 }).format(value);
}

export const formats = {
  /** Milliseconds. */
  ms: (v) => [round(v), 'ms'],
  /** 0–100. */
  percent: (v) => [v >= 99.95 && v < 100 ? '99.9' : v.toFixed(1), '%'],
  /** A whole number of things, e.g. count('rows'). */
  count: (unit) => (v) => [grouped.format(v), unit],
  /** Per second, e.g. rate('rows/s'). */
  rate: (unit) => (v) => [v < 10 ? v.toFixed(1) : grouped.format(v), unit],
  ratio: (unit) => (v) => [v.toFixed(2), unit],
  bytes: (v) => {
    const units = ['B', 'kB', 'MB', 'GB', 'TB'];
    let i = 0;
    let n = v;
    while (n >= 1000 && i < units.length - 1) {
      n /= 1000;
      i++;
    }
    return [i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0), units[i]];
  },
};

/** Creates an element: el('td', { class: 'x', 'data-testid': 'y' }, child, 'text', …). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/** A number with its unit; `format` is one of `formats`. */
export function num(testid, value, format) {
  const span = el('span', { class: 'num', 'data-testid': testid, 'data-value': value ?? '' });
  if (value === null || value === undefined || Number.isNaN(value)) {
    span.classList.add('missing');
    span.append('—');
    return span;
  }
  const [text, unit] = format(value);
  span.append(text, el('span', { class: 'unit' }, unit));
  return span;
}

/** Replaces the content of the element with id `id`. */
export function fill(id, ...children) {
  const target = document.getElementById(id);
  target.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return target;
}

/** A stat tile: label above, number below, an optional note under it. */
export function tile(label, number, note) {
  return el('div', { class: 'tile' }, el('div', { class: 'tile-label' }, label), el('div', { class: 'tile-value' }, number),
    note ? el('div', { class: 'tile-note' }, note) : null);
}

/** "14:03:07" in the viewer's time zone. */
export function clock(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleTimeString('en-GB', { hour12: false });
}

/** Seconds between two instants, e.g. "12 s ago" / "3 min ago". */
export function ago(iso, nowMs = Date.now()) {
  if (!iso) return '';
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  return s < 120 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}
