// The new access pattern with direct RPC calls through postgres.js: the fallback implementation
// of NewController, used only when the SDK (src/index.ts) cannot be loaded. Its cache is a plain
// map without invalidation, enough to show that a cached read costs no round trip; the SDK's
// cache (versions, LISTEN/NOTIFY) is what the real numbers come from.
import postgres, { type Sql } from 'postgres';
import type { CacheCounters, NewController, PlannedStep, Reading, StartedProcess } from './new-controller.ts';

export class RpcController implements NewController {
  readonly implementation = 'direct-rpc' as const;
  private readonly sql: Sql;
  private readonly cache = new Map<string, unknown>();
  private readonly counters: CacheCounters = { hits: 0, misses: 0 };

  constructor(databaseUrl: string) {
    this.sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  }

  async warmUp(): Promise<void> {
    await this.sql`select 1`;
  }

  async start(machineId: string, recipeId: string): Promise<StartedProcess> {
    const [{ plan }] = await this.sql`select public.start_process(${machineId}::uuid, ${recipeId}::uuid) as plan`;
    for (const p of plan.parameters) this.cache.set(p.id, p);
    return { processId: plan.process_id, parameters: plan.parameters, steps: flatten(plan.steps) };
  }

  async recordTick(processId: string, readings: Reading[], ts: Date): Promise<void> {
    await this.sql`select public.record_process_data(${processId}::uuid,
      ${readings.map((r) => r.parameterId)}::uuid[], ${readings.map((r) => r.value)}::float8[],
      ${[ts.toISOString()]}::timestamptz[])`;
  }

  async advance(processId: string, stepId: string, stepIndex: number, loopIteration?: number): Promise<void> {
    const [{ reply }] = await this.sql`select public.advance_step(${processId}::uuid, ${stepId}::uuid, ${stepIndex}::int,
      ${loopIteration ?? null}::int) as reply`;
    if (reply.parameter) this.cache.set(reply.parameter.id, reply.parameter);
  }

  async set(parameterId: string, value: number): Promise<void> {
    const [row] = await this.sql`select * from public.set_parameter_value(${parameterId}::uuid, ${value}::float8)`;
    this.cache.set(row.id, row);
  }

  async get(parameterId: string): Promise<unknown> {
    const hit = this.cache.get(parameterId);
    if (hit) {
      this.counters.hits++;
      return hit;
    }
    this.counters.misses++;
    const [row] = await this.sql`select * from public.get_parameters(${[parameterId]}::uuid[])`;
    if (row) this.cache.set(parameterId, row);
    return row;
  }

  async getMany(parameterIds: string[]): Promise<unknown> {
    return Promise.all(parameterIds.map((id) => this.get(id)));
  }

  async complete(processId: string): Promise<void> {
    await this.sql`select public.complete_process(${processId}::uuid)`;
  }

  cacheCounters(): CacheCounters {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    await this.sql.end();
  }
}

interface PlanStep {
  id: string;
  step_type: PlannedStep['stepType'];
  config: Record<string, any> | null;
  children?: PlanStep[];
}

/** The nested plan of start_process in execution order: a loop step, then its children per iteration. */
function flatten(steps: PlanStep[]): PlannedStep[] {
  const out: PlannedStep[] = [];
  const walk = (list: PlanStep[], iteration: number | null) => {
    for (const s of list) {
      out.push({ stepId: s.id, stepIndex: out.length, stepType: s.step_type, loopIteration: iteration, config: s.config });
      if (s.step_type === 'loop') {
        for (let i = 1; i <= (s.config?.iteration_count ?? 0); i++) walk(s.children ?? [], i);
      }
    }
  };
  walk(steps, null);
  return out;
}
