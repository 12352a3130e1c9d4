// The new access pattern through the SDK (src/index.ts): what a controller built on ald-db does.
//   recording tick   db.processRecorder(processId).record(readings, ts), then flush(): one record_process_data
//   step             db.process.advance({ processId, stepId, stepIndex }): one advance_step
//   setpoint         db.parameters.set(id, value): one set_parameter_value
//   cached read      db.parameters.get(id): no round trip while the cache is coherent
import { randomUUID } from 'node:crypto';
import { createAldDb, flattenPlan, type AldDb, type Recorder } from '../src/index.ts';
import type { CacheCounters, NewController, Reading, StartedProcess } from './new-controller.ts';

export class SdkController implements NewController {
  readonly implementation = 'sdk' as const;
  private readonly recorders = new Map<string, Recorder>();

  private constructor(private readonly db: AldDb) {}

  /**
   * The SDK with its defaults, except the periodic bulk refresh of hot cache rows (one round trip
   * a minute in the background, docs/design.md §6): switched off so that a refresh never lands inside a
   * measured step and the per-step counts stay exact. listenUrl puts the LISTEN session (and its
   * heartbeat, a `select 1` every 30 s) behind a proxy of its own, for the same reason.
   */
  static async create(databaseUrl: string, listenUrl?: string): Promise<SdkController> {
    const db = createAldDb({ databaseUrl, listenUrl, cache: { hotRefreshMs: 0 } });
    await db.ready();
    return new SdkController(db);
  }

  async warmUp(): Promise<void> {
    // One call opens the pool's connection (and runs postgres.js's start-up type query): a miss
    // on an id that does not exist, so nothing is cached.
    await this.db.parameters.get(randomUUID()).catch(() => {});
  }

  async start(machineId: string, recipeId: string): Promise<StartedProcess> {
    const plan = await this.db.process.start({ machineId, recipeId });
    return {
      processId: plan.process_id,
      parameters: plan.parameters,
      steps: flattenPlan(plan).map((s) => ({
        stepId: s.step_id,
        stepIndex: s.step_index,
        stepType: s.step.step_type,
        loopIteration: s.loop_iteration,
        config: (s.step.config ?? null) as Record<string, any> | null,
      })),
    };
  }

  async recordTick(processId: string, readings: Reading[], ts: Date): Promise<void> {
    let recorder = this.recorders.get(processId);
    if (!recorder) {
      recorder = this.db.processRecorder(processId);
      this.recorders.set(processId, recorder);
    }
    recorder.record(readings, ts);
    await recorder.flush();
  }

  async advance(processId: string, stepId: string, stepIndex: number, loopIteration?: number): Promise<void> {
    await this.db.process.advance({ processId, stepId, stepIndex, loopIteration: loopIteration ?? null });
  }

  async set(parameterId: string, value: number): Promise<void> {
    await this.db.parameters.set(parameterId, value);
  }

  get(parameterId: string): Promise<unknown> {
    return this.db.parameters.get(parameterId);
  }

  getMany(parameterIds: string[]): Promise<unknown> {
    return this.db.parameters.getMany(parameterIds);
  }

  async complete(processId: string): Promise<void> {
    await this.recorders.get(processId)?.close();
    this.recorders.delete(processId);
    await this.db.process.complete({ processId });
  }

  cacheCounters(): CacheCounters {
    const { hits, misses } = this.db.stats().cache;
    return { hits, misses };
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
