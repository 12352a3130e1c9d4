// One fuzz run: arrange, predict (the oracle), call, and compare the reply and the database
// fingerprint with the prediction. Shared by every property of rpc-fuzz.test.ts.
import fc from 'fast-check';
import { expect } from 'vitest';
import { anyNul, type Caller, changedTables, fingerprint, type Signature, statusFor, throughStandIn, type Who } from './harness.ts';
import type { Arg } from './arbitraries.ts';
import type { Conv, Ctx, Expect, Spec } from './rpc-specs.ts';
import { convertDirect, convertJson, type V } from './values.ts';

export type Transport = 'direct' | 'json';

/** Outcomes seen per property (`rpc/transport` → code or 'ok' → runs), printed after the suite. */
export const outcomes = new Map<string, Map<string, number>>();
function tally(key: string, outcome: string): void {
  const m = outcomes.get(key) ?? new Map<string, number>();
  m.set(outcome, (m.get(outcome) ?? 0) + 1);
  outcomes.set(key, m);
}

/**
 * What happens before the function body runs. direct: each text parameter is checked for NUL and
 * parsed at Bind, in order, before the EXECUTE privilege is checked (executor start). json: the
 * privilege first, then json_to_record() de-escapes the whole body (\u0000 → 22P05) and converts
 * the columns in order.
 */
export function preflight(sig: Signature, args: Record<string, V>, who: Who, transport: Transport):
  { code: string } | { conv: Conv } | 'ambiguous' {
  if (transport === 'json') {
    if (who === 'anon') return { code: '42501' };
    if (anyNul(sig, args)) return { code: '22P05' };
  }
  const conv: Conv = {};
  for (const a of sig.args) {
    const v = args[a.name];
    if (v.k === 'omit') continue;
    const c = transport === 'direct' ? convertDirect(a.type, v) : convertJson(a.type, v);
    if ('ambiguous' in c) return 'ambiguous';
    if (!c.ok) return { code: c.code };
    conv[a.name] = c.v;
  }
  if (transport === 'direct' && who === 'anon') return { code: '42501' };
  return { conv };
}

/** Deep copy of generated arguments: references are resolved in place, the generated value stays intact. */
const copy = (args: Record<string, Arg>): Record<string, Arg> => structuredClone(args);

function describeOutcome(out: { ok: boolean; code?: string; message?: string; data?: unknown; status?: number }): string {
  if (out.ok) return `success ${JSON.stringify(out.data)?.slice(0, 300)}`;
  return `${out.code} (${out.status ?? 'sql'}): ${out.message}`;
}

export async function runOnce(ctx: Ctx, spec: Spec, transport: Transport, who: Who,
  input: { args: Record<string, Arg>; setup: Record<string, unknown> }): Promise<void> {
  const args = copy(input.args);
  await spec.prepare?.(ctx, args, input.setup, who);
  for (const [k, v] of Object.entries(args)) if (v.k === 'ref') throw new Error(`unresolved reference ${k}: ${v.ref}`);
  const resolved = args as Record<string, V>;
  const received = transport === 'json'
    ? Object.fromEntries(Object.entries(resolved).map(([k, v]) => [k, throughStandIn(v)])) : resolved;
  const pre = preflight(spec.sig, received, who, transport);
  fc.pre(pre !== 'ambiguous'); // an input the model cannot classify is skipped, never guessed

  const before = await fingerprint(ctx.sql);
  const expectation: Expect = 'code' in pre ? pre : await spec.predict(ctx, pre.conv, who);
  const caller: Caller = ctx.caller;
  const out = transport === 'direct' ? await caller.callDirect(spec.sig, who, resolved) : await caller.callJson(spec.sig, who, resolved);
  const after = await fingerprint(ctx.sql);
  const changed = changedTables(before, after);
  const status = 'status' in out ? out.status : undefined;
  tally(`${spec.sig.name}/${transport}`, out.ok ? (changed.length ? 'ok+write' : 'ok') : out.code);

  if ('code' in expectation) {
    expect(out.ok ? describeOutcome(out) : out.code, `expected ${expectation.code}, got ${describeOutcome(out)}`).toBe(expectation.code);
    if (transport === 'json') expect(status, 'PostgREST status for the code').toBe(statusFor(expectation.code, who, out.ok ? '' : out.message));
    expect(changed, 'a refused call changes nothing').toEqual([]);
    return;
  }
  expect(out.ok, `expected success, got ${describeOutcome(out)}`).toBe(true);
  if (transport === 'json') expect(status).toBe(200);
  expect(changed.filter((t) => !expectation.mayChange.includes(t)), 'tables this call must not touch').toEqual([]);
  expect((expectation.mustChange ?? []).filter((t) => !changed.includes(t)), 'tables this call must change').toEqual([]);
  await expectation.check?.(out.ok ? out.data : undefined);
}
