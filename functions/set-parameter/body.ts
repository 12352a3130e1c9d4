// Pure parts of set-parameter: the request body and the statements of the write.
import { z } from 'npm:zod@4.6.7';
import { ARGS } from '../_shared/db.ts';
import { PARAMETER_COLUMNS } from '../_shared/parameter-row.ts';
import { fromArgs, rpcCall } from '../_shared/rpc-call.ts';

/** Largest accepted body: a setpoint with a reason fits in far less. */
export const MAX_BODY_BYTES = 16 * 1024;

export const SetParameterBody = z.object({
  parameter_id: z.guid({ error: 'must be a uuid' }),
  value: z.number({ error: 'must be a finite number' }),
  /** Optimistic concurrency: refuse (409) unless the parameter is still at this version. */
  expected_version: z.number().int().positive().optional(),
  /** Recorded in the parameter_changes audit. */
  reason: z.string().max(1000).optional(),
  /** Idempotency key: a retry with the same request_id returns the row without writing again. */
  request_id: z.guid({ error: 'must be a uuid' }).optional(),
}).strict();

export type SetParameterBody = z.infer<typeof SetParameterBody>;

export function writeArgs(body: SetParameterBody): Record<string, unknown> {
  return {
    parameter_id: body.parameter_id,
    value: body.value,
    expected_version: body.expected_version ?? null,
    reason: body.reason ?? null,
    request_id: body.request_id ?? null,
  };
}

const PROBE = `select p.version, e.epoch from public.component_parameters p
  join public.machine_parameter_epochs e on e.machine_id = p.machine_id
  where p.id = (${ARGS} ->> 'parameter_id')::uuid`;

/** The setpoint request the write made (or, for a retried request_id, made the first time); none when the value was already desired. */
const REQUEST = `select r.* from public.setpoint_requests r
  where r.parameter_id = (${ARGS} ->> 'parameter_id')::uuid
    and (r.request_id = (${ARGS} ->> 'request_id')::uuid
         or r.version = (select p.version from public.component_parameters p where p.id = (${ARGS} ->> 'parameter_id')::uuid))
  order by r.created_at desc, r.version desc limit 1`;

/**
 * [probe before, the write, epoch after, the request]. The probes cost no round trip (same message) and let
 * the cache keep its other entries current after this write (IsolateCache.noteWrite).
 */
export const WRITE_STATEMENTS: readonly string[] = [
  PROBE,
  `select ${PARAMETER_COLUMNS} from ${
    rpcCall('set_parameter_value', {
      ...fromArgs('parameter_id', 'value', 'expected_version', 'reason', 'request_id'),
      source: `'api'`,
    })
  } p`,
  PROBE,
  REQUEST,
];
