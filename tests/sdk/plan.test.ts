// flattenPlan: the execution order a controller drives advance() with, counted as the database
// counts it (private.count_executed_steps).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { flattenPlan, type Plan, type PlanStep } from '../../src/index.ts';
import { SEED, adminSql } from './support.ts';

let n = 0;
const step = (step_type: PlanStep['step_type'], extra: Partial<PlanStep> = {}): PlanStep =>
  ({ id: `s${++n}`, name: `step ${n}`, step_type, sequence_number: 1, ...extra });
const loop = (iterations: number, children: PlanStep[]): PlanStep =>
  step('loop', { config: { iteration_count: iterations }, children });

/** The database's count: a step is 1, a loop 1 + iterations × its children. */
const sqlCount = (steps: PlanStep[]): number =>
  steps.reduce((sum, s) => sum + 1 + (s.step_type === 'loop' ? Number(s.config?.iteration_count ?? 0) * sqlCount(s.children ?? []) : 0), 0);

const planArb: fc.Arbitrary<PlanStep[]> = fc.letrec<{ steps: PlanStep[]; step: PlanStep }>((tie) => ({
  step: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('valve', 'purge', 'parameter').map((t) => step(t as PlanStep['step_type'])),
    fc.tuple(fc.integer({ min: 1, max: 4 }), tie('steps')).map(([k, children]) => loop(k, children)),
  ),
  steps: fc.array(tie('step'), { maxLength: 4 }),
})).steps;

describe('flattenPlan', () => {
  it('unrolls a loop as one step followed by its children once per iteration', () => {
    const a = step('valve');
    const b = step('purge');
    const l = loop(2, [a, b]);
    const c = step('parameter');
    const flat = flattenPlan({ steps: [l, c] });
    expect(flat.map((s) => [s.step_index, s.step_id, s.loop_iteration])).toEqual([
      [0, l.id, null], [1, a.id, 1], [2, b.id, 1], [3, a.id, 2], [4, b.id, 2], [5, c.id, null],
    ]);
  });

  it('gives nested steps the iteration of their innermost loop', () => {
    const inner = step('valve');
    const innerLoop = loop(2, [inner]);
    const outer = loop(2, [innerLoop]);
    const flat = flattenPlan({ steps: [outer] });
    expect(flat.map((s) => [s.step_id, s.loop_iteration])).toEqual([
      [outer.id, null], [innerLoop.id, 1], [inner.id, 1], [inner.id, 2], [innerLoop.id, 2], [inner.id, 1], [inner.id, 2],
    ]);
  });

  it('counts exactly as the database does, for any nesting (property)', () => {
    fc.assert(fc.property(planArb, (steps) => {
      const flat = flattenPlan({ steps });
      expect(flat.length).toBe(sqlCount(steps));
      flat.forEach((s, i) => expect(s.step_index).toBe(i));
    }));
  });

  it('refuses a value that is not a plan, echoing it', () => {
    expect(() => flattenPlan(42 as never)).toThrowError(/flattenPlan must be called with a plan that has a steps array, but got: 42/);
  });
});

describe('flattenPlan over the seed recipe', () => {
  let sql: postgres.Sql;
  beforeAll(() => {
    sql = adminSql();
  });
  afterAll(async () => {
    await sql.end();
  });

  it('gives as many steps as start_process reports in total_steps', async () => {
    // start_process on the seed machine inside a transaction that is rolled back: the plan is
    // real, and the shared seed machine is never left running.
    let plan: Plan | undefined;
    await sql.begin(async (tx) => {
      const [row] = await tx<{ plan: Plan }[]>`select public.start_process(${SEED.reactor}::uuid, ${SEED.recipe}::uuid) as plan`;
      plan = row.plan;
      throw new Error('rollback');
    }).catch((e: Error) => {
      if (e.message !== 'rollback') throw e;
    });
    expect(plan!.total_steps).toBe(SEED.recipeSteps);
    const flat = flattenPlan(plan!);
    expect(flat).toHaveLength(plan!.total_steps);
    expect(flat.filter((s) => s.loop_iteration === 10)).toHaveLength(4);
    expect(flat.at(-1)!.step.step_type).toBe('parameter');
  });
});
