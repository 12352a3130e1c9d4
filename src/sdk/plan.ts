// The execution order of a plan, with loops unrolled, so a controller can drive advance():
// one entry per advance() call that opens a step, step_index counting from 0.
//
// It counts exactly as the database does (private.count_executed_steps): a loop step is executed
// once (it opens, then its iterations run), then its children once per iteration. So the length
// of the result equals plan.total_steps, and step_index matches what advance_step accepts.
import { invalidArgument } from './errors.ts';
import type { Plan, PlanStep } from './types.ts';

export interface PlannedStep {
  /** Position in the executed sequence, from 0: the step_index to pass to advance(). */
  step_index: number;
  step_id: string;
  step: PlanStep;
  /** Iteration (from 1) of the innermost enclosing loop; null outside loops. */
  loop_iteration: number | null;
}

function iterationsOf(step: PlanStep): number {
  const count = (step.config as { iteration_count?: unknown } | undefined)?.iteration_count;
  return typeof count === 'number' && Number.isInteger(count) && count > 0 ? count : 0;
}

export function flattenPlan(plan: Pick<Plan, 'steps'>): PlannedStep[] {
  if (plan == null || !Array.isArray(plan.steps)) {
    throw invalidArgument('flattenPlan', 'flattenPlan must be called with a plan that has a steps array', plan);
  }
  const out: PlannedStep[] = [];
  // Iterative walk with an explicit stack: a recipe may unroll to a million steps (the database's
  // limit), deeper and longer than recursion should go.
  const stack: { steps: PlanStep[]; next: number; iteration: number | null; loop?: PlanStep; remaining: number }[] = [
    { steps: plan.steps, next: 0, iteration: null, remaining: 0 },
  ];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    if (frame.next >= frame.steps.length) {
      // End of this pass over the children: run the next iteration of the enclosing loop, if any.
      if (frame.loop && frame.remaining > 0) {
        frame.remaining--;
        frame.iteration = (frame.iteration ?? 0) + 1;
        frame.next = 0;
        continue;
      }
      stack.pop();
      continue;
    }
    const step = frame.steps[frame.next++];
    out.push({ step_index: out.length, step_id: step.id, step, loop_iteration: frame.iteration });
    if (step.step_type === 'loop') {
      const iterations = iterationsOf(step);
      const children = step.children ?? [];
      if (iterations > 0 && children.length > 0) {
        stack.push({ steps: children, next: 0, iteration: 1, loop: step, remaining: iterations - 1 });
      }
    }
  }
  return out;
}
