// A setpoint request as the functions serve it: a public.setpoint_requests row as plain JSON
// (timestamps as ISO strings, bigint as number).
import type { Row } from './db.ts';

export interface SetpointRequestRow {
  id: string;
  machine_id: string;
  parameter_id: string;
  value: number;
  version: number;
  requested_by: string | null;
  requested_by_role: string;
  source: string;
  reason: string | null;
  request_id: string | null;
  status: 'pending' | 'claimed' | 'applied' | 'failed' | 'superseded';
  created_at: string;
  claimed_at: string | null;
  claimed_by: string | null;
  claim_expires_at: string | null;
  claim_count: number;
  superseded_by: string | null;
  acked_at: string | null;
  ack_ok: boolean | null;
  ack_value: number | null;
  error: string | null;
  applied_at: string | null;
}

const iso = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v));
const str = (v: unknown) => (v === null || v === undefined ? null : String(v));

export function toSetpointRequest(row: Row): SetpointRequestRow {
  return {
    id: String(row.id),
    machine_id: String(row.machine_id),
    parameter_id: String(row.parameter_id),
    value: Number(row.value),
    version: Number(row.version),
    requested_by: str(row.requested_by),
    requested_by_role: String(row.requested_by_role),
    source: String(row.source),
    reason: str(row.reason),
    request_id: str(row.request_id),
    status: String(row.status) as SetpointRequestRow['status'],
    created_at: iso(row.created_at) as string,
    claimed_at: iso(row.claimed_at),
    claimed_by: str(row.claimed_by),
    claim_expires_at: iso(row.claim_expires_at),
    claim_count: Number(row.claim_count),
    superseded_by: str(row.superseded_by),
    acked_at: iso(row.acked_at),
    ack_ok: row.ack_ok === null || row.ack_ok === undefined ? null : Boolean(row.ack_ok),
    ack_value: row.ack_value === null || row.ack_value === undefined ? null : Number(row.ack_value),
    error: str(row.error),
    applied_at: iso(row.applied_at),
  };
}
