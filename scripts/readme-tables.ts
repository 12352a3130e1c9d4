// Reading the README's reference tables, for the tests that compare them with the code they
// describe (tests/contracts.test.ts, tests/deno/metrics_test.ts). Pure, no imports: Node and Deno
// both load it.

/** The text under a heading (`## X`, `### X`, ...) up to the next heading of the same or a higher level. */
export function readmeSection(readme: string, heading: string): string {
  const lines = readme.split('\n');
  const start = lines.findIndex((line) => /^#+ /.test(line) && line.replace(/^#+ /, '').trim() === heading);
  if (start < 0) throw new Error(`README.md has no section "${heading}"`);
  const level = /^#+/.exec(lines[start])![0].length;
  const end = lines.findIndex((line, i) => i > start && /^#+ /.test(line) && /^#+/.exec(line)![0].length <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The body rows of the first Markdown table in `text`, as cells (header and separator left out). */
export function tableRows(text: string): string[][] {
  const lines = text.split('\n');
  const first = lines.findIndex((line) => line.trim().startsWith('|'));
  if (first < 0) throw new Error('no table found');
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.trim().startsWith('|')) break;
    rows.push(line.trim().replace(/^\||\|$/g, '').split('|').map((cell) => cell.trim()));
  }
  return rows;
}

/** Every `code span` of a piece of Markdown, in order. */
export function codeSpans(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}

/** What is on one side only: `[only in a, only in b]`, each sorted. */
export function setDifference(a: Iterable<string>, b: Iterable<string>): [string[], string[]] {
  const left = new Set(a);
  const right = new Set(b);
  return [[...left].filter((x) => !right.has(x)).sort(), [...right].filter((x) => !left.has(x)).sort()];
}

/** A metric name with its label names, as documented or as registered. */
export interface MetricShape {
  name: string;
  labels: string[];
}

/**
 * Differences between documented and registered metrics (names, then each one's label names),
 * one readable line each; empty when they agree.
 */
export function compareMetrics(documented: readonly MetricShape[], registered: readonly MetricShape[], where: string): string[] {
  const problems: string[] = [];
  const [undocumented, unregistered] = setDifference(registered.map((m) => m.name), documented.map((m) => m.name));
  for (const name of undocumented) problems.push(`${name} is registered but missing from ${where}`);
  for (const name of unregistered) problems.push(`${name} is in ${where} but not registered`);
  const labelsOf = new Map(registered.map((m) => [m.name, [...m.labels].sort()]));
  for (const m of documented) {
    const actual = labelsOf.get(m.name);
    if (!actual) continue;
    const doc = [...m.labels].sort();
    if (doc.join(',') !== actual.join(',')) {
      problems.push(`${m.name}: ${where} gives labels {${doc.join(',')}}, the registry {${actual.join(',')}}`);
    }
  }
  return problems;
}

/** The SDK metrics table of the README ("### Metrics"): name column, label column. */
export function sdkMetricsOfReadme(readme: string): MetricShape[] {
  const rows = tableRows(readmeSection(readme, 'Metrics'));
  return rows.flatMap((cells) => {
    const labels = codeSpans(cells[2] ?? '');
    return codeSpans(cells[0]).map((name) => ({ name, labels }));
  });
}

/** The Edge metrics the README lists (the "`metrics` exposes `name{label,...}`, ..." paragraph). */
export function edgeMetricsOfReadme(readme: string): MetricShape[] {
  const section = readmeSection(readme, 'Edge Functions');
  const start = section.indexOf('`metrics` exposes');
  if (start < 0) throw new Error('README.md, Edge Functions: no "`metrics` exposes ..." paragraph');
  const paragraph = section.slice(start).split('\n\n')[0];
  return codeSpans(paragraph).filter((span) => span.startsWith('ald_edge_')).map((span) => {
    const m = /^([a-z_]+)(?:\{([a-z_,]*)\})?$/.exec(span);
    if (!m) throw new Error(`README.md, Edge Functions: cannot read the metric ${span}`);
    return { name: m[1], labels: m[2] ? m[2].split(',') : [] };
  });
}

/** Every code of the README's two error tables: the RPCs' SQLSTATEs and the SDK's own codes. */
export function errorCodesOfReadme(readme: string): string[] {
  const sqlstates = tableRows(readmeSection(readme, 'Error codes')).flatMap((cells) => codeSpans(cells[0]));
  const sdk = tableRows(readmeSection(readme, 'SDK error codes')).flatMap((cells) => codeSpans(cells[0]));
  return [...sqlstates, ...sdk];
}

/** Differences between the README's error tables and ERROR_CODES' keys; empty when they agree. */
export function compareErrorCodes(readmeCodes: readonly string[], errorCodes: readonly string[]): string[] {
  const [onlyReadme, onlyCode] = setDifference(readmeCodes, errorCodes);
  return [
    ...onlyReadme.map((c) => `${c} is in the README's error tables but not in ERROR_CODES (src/sdk/errors.ts)`),
    ...onlyCode.map((c) => `${c} is in ERROR_CODES (src/sdk/errors.ts) but in neither README error table`),
  ];
}

/** A function as the README's RPC reference writes it: `name(arg type = default, ...)`. */
export interface DocumentedRpc {
  name: string;
  args: string[];
}

/** The functions of the README's RPC reference ("## RPC functions"), with their argument names in order. */
export function rpcsOfReadme(readme: string): DocumentedRpc[] {
  return tableRows(readmeSection(readme, 'RPC functions')).flatMap((cells) => {
    const m = /^(\w+)\((.*)\)$/.exec(codeSpans(cells[0])[0] ?? '');
    if (!m) return [];
    const args = m[2].trim() === '' ? [] : m[2].split(',').map((arg) => arg.trim().split(/\s/)[0]);
    return [{ name: m[1], args }];
  });
}

/**
 * Differences between the README's RPC reference and the catalog (names, argument names in
 * order); a documented function outside the catalog must be one of `otherFunctions` (public
 * functions the catalog leaves out, e.g. service_role only). Empty when they agree.
 */
export function compareReadmeRpcs(
  documented: readonly DocumentedRpc[],
  catalog: Readonly<Record<string, { args: Readonly<Record<string, string>> }>>,
  otherFunctions: readonly string[],
): string[] {
  const problems: string[] = [];
  const byName = new Map(documented.map((d) => [d.name, d]));
  for (const [name, def] of Object.entries(catalog)) {
    const doc = byName.get(name);
    const expected = Object.keys(def.args);
    if (!doc) problems.push(`${name}(${expected.join(', ')}) is in RPC_CATALOG but not in the README's RPC reference`);
    else if (doc.args.join(', ') !== expected.join(', ')) {
      problems.push(`${name}: the README gives arguments (${doc.args.join(', ')}), RPC_CATALOG (${expected.join(', ')})`);
    }
  }
  for (const doc of documented) {
    if (!(doc.name in catalog) && !otherFunctions.includes(doc.name)) {
      problems.push(`${doc.name} is in the README's RPC reference but is neither in RPC_CATALOG nor a public function`);
    }
  }
  return problems;
}
