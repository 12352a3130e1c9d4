// ald-db: the SDK an ALD machine controller uses to talk to its Supabase database.
// Every controller step is one round trip; a cached parameter read is none (docs/design.md §2).
export { createAldDb, AldDb } from './sdk/client.ts';
export type { AldDbOptions, DirectOptions, SupabaseOptions, TransportOptions, CacheOptions, AldDbEvents, AldDbStats } from './sdk/client.ts';
export type { Transport, RpcName, RpcArgs, CallOptions, PoolStats } from './sdk/transport/types.ts';
export { AldDbError, ERROR_CODES } from './sdk/errors.ts';
export type { AldDbErrorCode } from './sdk/errors.ts';
export { flattenPlan } from './sdk/plan.ts';
export { machineChannel, runChannel, type Change, type MachineHandlers, type Watch } from './sdk/watch.ts';
export type { RegisterOptions } from './sdk/controllers-api.ts';
export type { RunCommandOptions } from './sdk/process-api.ts';
export type { PlannedStep } from './sdk/plan.ts';
export { Recorder } from './sdk/recorder.ts';
export type { RecorderOptions, RecorderEvents, RecorderTarget } from './sdk/recorder.ts';
export { ReadingsApi } from './sdk/readings-api.ts';
export type { LatestReading, ReadingPoint, RangeOptions } from './sdk/readings-api.ts';
export type { Reading, Readings } from './sdk/recorder-ticks.ts';
export { Journal, JournaledRun, JOURNAL_KINDS } from './sdk/journal.ts';
export type {
  AppliedInfo, JournalOptions, JournalEvents, JournalKind, JournalState, JournalAdvanceOptions, LocalStepReply, RefusedInfo, RunState,
} from './sdk/journal.ts';
export { RunControl } from './sdk/journal-control.ts';
export type { RunControlOptions, RunControlEvents, RunControlState } from './sdk/journal-control.ts';
export { JournaledRecorder } from './sdk/journal-recorder.ts';
export type { RecoveryReport, RefusedEntry } from './sdk/journal-store.ts';
export type { SetParameterOptions, BulkReadOptions } from './sdk/parameters-api.ts';
export type { StartOptions, AdvanceOptions, CompleteOptions } from './sdk/process-api.ts';
export type { InvalidateEvent } from './sdk/parameter-cache.ts';
export { SetpointsApi, SetpointSubscription, SETPOINT_CHANNEL } from './sdk/setpoints.ts';
export type {
  AckOptions, ClaimOptions, SubscribeOptions, SetpointHandler, SetpointOutcome, SetpointNotification, SubscriptionEvents, SubscriptionStats,
} from './sdk/setpoints.ts';
export type { ParameterChange } from './sdk/listener.ts';
export type { PoolOptions } from './sdk/transport/postgres.ts';
export { usePreparedStatements, sessionUrlFor } from './sdk/transport/postgres.ts';
export type { RetryPolicy } from './sdk/rpc-client.ts';
export { DURATION_BUCKETS } from './sdk/metrics.ts';
export type * from './sdk/types.ts';
// The public schema as `supabase gen types typescript` writes it: `createClient<Database>(url, key)`.
export type { Database, Json, Tables, TablesInsert, TablesUpdate, Enums } from './sdk/database.types.ts';
export { Constants } from './sdk/database.types.ts';
