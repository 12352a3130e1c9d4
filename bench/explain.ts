// The plans a function really runs, and its server-side execution time.
//
// Plans come from auto_explain with log_nested_statements, so the statements inside plpgsql and
// SQL functions (and the RLS subqueries and triggers they set off) are reported with the plan
// they ran, cached or not, and ANALYZE/BUFFERS figures. auto_explain.log_level = notice sends
// them to the client instead of the server log. Timings come from EXPLAIN ANALYZE's Execution
// Time of the call (timing off, so per-node instrumentation does not inflate it): the server's
// work only, without planning of the call, network or commit.
import postgres from 'postgres';

export type Sql = postgres.Sql;

/** Who calls: the controller's direct session, or an authenticated user through RLS. */
export type Caller = { kind: 'controller' } | { kind: 'user'; userId: string; label: string };

export function callerLabel(caller: Caller): string {
  return caller.kind === 'controller' ? 'controller (direct session)' : `${caller.label} (authenticated)`;
}

/** One statement executed inside a function, as auto_explain reported it. */
export interface StatementPlan {
  durationMs: number;
  queryText: string;
  plan: string;
}

/** A function call to explain: its statements run in one transaction, rolled back at the end. */
export interface Case {
  title: string;
  caller: Caller;
  /** Statements run first in the transaction, as the login role (e.g. drop an index to compare). */
  setup?: string[];
  /** Run in order; a step may use the previous step's first column as $prev. */
  steps: { label: string; query: string; params: unknown[] }[];
}

export interface CaseResult {
  title: string;
  caller: Caller;
  steps: { label: string; statements: StatementPlan[] }[];
}

const SETUP = [
  `load 'auto_explain'`,
  `set auto_explain.log_min_duration = -1`,
  `set auto_explain.log_analyze = on`,
  `set auto_explain.log_buffers = on`,
  `set auto_explain.log_timing = on`,
  `set auto_explain.log_nested_statements = on`,
  `set auto_explain.log_format = text`,
  `set auto_explain.log_level = notice`,
  `set client_min_messages = notice`,
];

/** Claims first, then (after auto_explain is set, which needs the login role) the role. */
async function claimsOf(tx: postgres.ReservedSql, caller: Caller): Promise<void> {
  if (caller.kind === 'user') {
    await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: caller.userId, role: 'authenticated' })}, true)`;
  }
}

function parseNotice(message: string): StatementPlan | null {
  const m = /^duration: ([\d.]+) ms\s+plan:\nQuery Text: ([\s\S]*)$/.exec(message);
  if (!m) return null;
  // The plan starts at the first unindented line with a cost: the root node.
  const lines = m[2].split('\n');
  const planStart = lines.findIndex((l, i) => i > 0 && !/^\s/.test(l) && /\s\(cost=/.test(l));
  const cut = planStart > 0 ? planStart : 1;
  return {
    durationMs: Number(m[1]),
    queryText: lines.slice(0, cut).join('\n').trim(),
    plan: lines.slice(cut).join('\n').trimEnd(),
  };
}

/**
 * Runs each case `warmup` times unobserved (so that plpgsql has settled on its cached plans,
 * custom or generic, as it would in a long-lived connection), then once with auto_explain on.
 */
export async function explainCases(url: string, cases: Case[], warmup = 6): Promise<CaseResult[]> {
  const notices: string[] = [];
  const sql = postgres(url, { max: 1, onnotice: (n) => notices.push(String(n.message)) });
  const results: CaseResult[] = [];
  try {
    const tx = await sql.reserve();
    try {
      for (const s of SETUP) await tx.unsafe(s);
      for (const c of cases) {
        for (let round = 0; round <= warmup; round++) {
          const observe = round === warmup;
          const steps: CaseResult['steps'] = [];
          await tx.unsafe('begin');
          try {
            for (const statement of c.setup ?? []) await tx.unsafe(statement);
            await claimsOf(tx, c.caller);
            if (observe) await tx.unsafe(`set local auto_explain.log_min_duration = 0`);
            if (c.caller.kind === 'user') await tx.unsafe('set local role authenticated');
            let prev: unknown = null;
            for (const step of c.steps) {
              const params = step.params.map((p) => (p === '$prev' ? prev : p)) as postgres.ParameterOrJSON<never>[];
              notices.length = 0;
              const rows = await tx.unsafe(step.query, params);
              const first = rows[0] as Record<string, unknown> | undefined;
              prev = first ? Object.values(first)[0] : null;
              if (observe) {
                steps.push({ label: step.label, statements: notices.map(parseNotice).filter((p): p is StatementPlan => p !== null) });
              }
            }
          } finally {
            await tx.unsafe('rollback');
          }
          if (observe) results.push({ title: c.title, caller: c.caller, steps });
        }
      }
    } finally {
      tx.release();
    }
  } finally {
    await sql.end();
  }
  return results;
}

/** Table scans in a plan: which relation, how (seq scan or which index). */
export interface Scan { node: string; relation: string; index: string | null }

export function scansOf(plan: string): Scan[] {
  const scans: Scan[] = [];
  for (const line of plan.split('\n')) {
    let m = /((?:Parallel )?Seq Scan) on (?:public\.)?(\w+)/.exec(line);
    if (m) { scans.push({ node: m[1], relation: m[2], index: null }); continue; }
    m = /(Index Only Scan(?: Backward)?|Index Scan(?: Backward)?) using (\w+) on (?:public\.)?(\w+)/.exec(line);
    if (m) { scans.push({ node: m[1], relation: m[3], index: m[2] }); continue; }
    m = /(Bitmap Index Scan) on (\w+)/.exec(line);
    if (m) { scans.push({ node: m[1], relation: '', index: m[2] }); continue; }
    m = /Conflict Arbiter Indexes: (.+)$/.exec(line);
    if (m) for (const index of m[1].split(',').map((s) => s.trim())) scans.push({ node: 'Conflict Arbiter', relation: '', index });
  }
  return scans;
}

/** Consecutive runs of the same statement (a foreign-key check fires once per inserted row). */
export interface StatementGroup { first: StatementPlan; count: number; totalMs: number }

export function groupStatements(statements: StatementPlan[]): StatementGroup[] {
  const groups: StatementGroup[] = [];
  for (const st of statements) {
    const last = groups[groups.length - 1];
    if (last && last.first.queryText === st.queryText) {
      last.count++;
      last.totalMs += st.durationMs;
    } else {
      groups.push({ first: st, count: 1, totalMs: st.durationMs });
    }
  }
  return groups;
}

/** Median and 95th percentile of a list of numbers. */
export function summarize(values: number[]): { median: number; p95: number; min: number; max: number } {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))];
  const median = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  return { median, p95: at(0.95), min: v[0], max: v[v.length - 1] };
}

/**
 * Execution Time of `explain (analyze) <query>`, `runs` times after `warmup` unmeasured runs.
 * params(i) gives the parameters of run i (i < 0 for warm-up runs), so a write can use a new key
 * each time. rollback: run each call in a transaction that is rolled back (claims).
 */
export async function timeQuery(url: string, opts: {
  caller: Caller; query: string; params: (i: number) => unknown[]; runs: number; warmup?: number; rollback?: boolean;
  /** Session settings made first (as the login role). */
  setup?: string[];
}): Promise<number[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const times: number[] = [];
  try {
    const c = await sql.reserve();
    try {
      for (const statement of opts.setup ?? []) await c.unsafe(statement);
      if (opts.caller.kind === 'user') {
        await c.unsafe('set role authenticated');
        await c`select set_config('request.jwt.claims', ${JSON.stringify({ sub: opts.caller.userId, role: 'authenticated' })}, false)`;
      }
      const warmup = opts.warmup ?? 5;
      for (let i = -warmup; i < opts.runs; i++) {
        if (opts.rollback) await c.unsafe('begin');
        const rows = await c.unsafe(`explain (analyze, timing off, buffers off, format json) ${opts.query}`,
          opts.params(i) as postgres.ParameterOrJSON<never>[]);
        if (opts.rollback) await c.unsafe('rollback');
        const plan = (rows[0] as Record<string, unknown>)['QUERY PLAN'] as { 'Execution Time': number }[];
        if (i >= 0) times.push(plan[0]['Execution Time']);
      }
    } finally {
      c.release();
    }
  } finally {
    await sql.end();
  }
  return times;
}
