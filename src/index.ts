// ald-db: the SDK an ALD machine controller uses to talk to its Supabase database.
// Every controller step is one round trip; a cached parameter read is none (DESIGN §2).
export { createAldDb, AldDb } from './client.ts';
export type { AldDbOptions, DirectOptions, SupabaseOptions, CacheOptions, AldDbEvents, AldDbStats } from './client.ts';
export { AldDbError, ERROR_CODES } from './errors.ts';
export type { AldDbErrorCode } from './errors.ts';
export { flattenPlan } from './plan.ts';
export type { PlannedStep } from './plan.ts';
export { Recorder } from './recorder.ts';
export type { RecorderOptions, RecorderEvents } from './recorder.ts';
export type { Reading, Readings } from './recorder-ticks.ts';
export type { SetParameterOptions, BulkReadOptions } from './parameters-api.ts';
export type { StartOptions, AdvanceOptions, CompleteOptions } from './process-api.ts';
export type { InvalidateEvent } from './parameter-cache.ts';
export type { ParameterChange } from './listener.ts';
export type { PoolOptions } from './transport/postgres.ts';
export { usePreparedStatements, sessionUrlFor } from './transport/postgres.ts';
export type { RetryPolicy } from './rpc-client.ts';
export { DURATION_BUCKETS } from './metrics.ts';
export type * from './types.ts';
