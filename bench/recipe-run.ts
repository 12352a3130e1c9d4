// A whole recipe run through the new controller, reading each step's parameters before the step
// as a controller does (valve: the valve's state; purge: the carrier-gas flow setpoint; parameter
// step: its parameter). The cache hit ratio of these reads over the run is the number reported.
import type { NewController, ParameterRow, PlannedStep } from './new-controller.ts';

export interface RecipeRunResult {
  steps: number;
  reads: number;
  hits: number;
  misses: number;
  cacheHitRatio: number;
  /** Round trips of the whole run (start + steps + complete + any cache misses), counted at the proxy. */
  roundTrips: number;
}

/** The parameters a controller consults before a step. */
export function stepParameterIds(step: PlannedStep, parameters: ParameterRow[], components: Map<string, string>): string[] {
  const find = (component: string, name: string) =>
    parameters.find((p) => components.get(p.component_id) === component && p.name === name)?.id;
  let id: string | undefined;
  if (step.stepType === 'parameter') id = step.config?.parameter_id;
  else if (step.stepType === 'valve') id = find(`valve_${step.config?.valve_number}`, 'state');
  else if (step.stepType === 'purge') id = find('carrier_gas_mfc', 'flow_rate_set');
  return id ? [id] : [];
}

export async function runRecipe(
  controller: NewController,
  machineId: string,
  recipeId: string,
  components: Map<string, string>,
  countRoundTrips: () => number,
): Promise<RecipeRunResult> {
  const before = controller.cacheCounters();
  const trips0 = countRoundTrips();
  const started = await controller.start(machineId, recipeId);
  let reads = 0;
  for (const step of started.steps) {
    const ids = stepParameterIds(step, started.parameters, components);
    for (const id of ids) {
      await controller.get(id);
      reads++;
    }
    await controller.advance(started.processId, step.stepId, step.stepIndex, step.loopIteration ?? undefined);
  }
  await controller.complete(started.processId);
  const after = controller.cacheCounters();
  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;
  return {
    steps: started.steps.length,
    reads,
    hits,
    misses,
    cacheHitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
    roundTrips: countRoundTrips() - trips0,
  };
}
