// One error class for everything the SDK raises, whichever transport produced the failure.
// Callers branch on `code`, never on message text: a SQLSTATE the server raised, or one of the
// ALD_* codes below for failures that never reached (or never came back from) the database.

/** Every code the SDK raises, with its meaning. The README lists this table. */
export const ERROR_CODES = {
  // SQLSTATEs raised by the RPC functions (supabase/migrations/20261126001000..001600)
  '22004': 'a required argument is null (parameter_id, value, machine_id, process_id, recipe_id)',
  '22023': 'invalid value: not finite, fraction for an integer or not 0/1 for a binary parameter, a multi-dimensional array, unequal array lengths, foreign parameter, a setpoint request of another machine, step_index out of range, bad status',
  '22003': 'setpoint outside [min_value, max_value]',
  '22P02': 'malformed input the server could not parse (e.g. a string that is not a uuid)',
  '22007': 'a malformed timestamp (PostgreSQL, before the RPC runs)',
  '22008': 'a timestamp out of range (PostgreSQL, before the RPC runs)',
  '22009': 'a timestamp whose trailing number is read as a UTC offset out of range, e.g. \'-2500\' (PostgreSQL, before the RPC runs)',
  '22021': 'a NUL byte in a text argument (PostgreSQL)',
  '22P05': 'a NUL byte (\\u0000) in JSON text (PostgreSQL)',
  P0002: 'not found: parameter, machine, process, recipe, command or step',
  '42501': 'the caller may not operate the machine (needs the operator role)',
  '55000': 'wrong state: parameter not writable or inactive, component deactivated, process not running, machine unavailable, command not runnable, a setpoint request acked before it was claimed, applied_value written by anything but an ack or a PLC report',
  '40001': 'expected_version given and the parameter is at another version (read again, then retry)',
  '23505': 'already exists: the machine is already running a process, a step_index was already executed, a request_id was used for another parameter, or a setpoint request was already acked with another outcome',
  '23514': 'a row breaks a check constraint (direct table writes); an invalid command names its rule as the constraint, with a hint saying what a valid command looks like',
  '23503': 'a row breaks a foreign key (direct table writes)',
  // Run control and controllers (supabase/migrations/20261204300100_run_control_schema.sql)
  RC001: 'no open run to control: pause or stop on a machine without a running or paused run',
  RC002: 'resume of a run that is not paused',
  RC003: 'pause of a run that is already paused',
  RC004: 'the machine has a live controller: register with takeover to replace it',
  RC005: 'the controller is not alive (declared dead or replaced): stop driving the machine, register again',
  RC006: 'illegal command transition: completed, failed and cancelled commands are final',
  // Raised by the SDK itself
  ALD_CONNECTION: 'the connection to the database (or to the API) failed or was lost; idempotent calls were retried first',
  ALD_TIMEOUT: 'no reply within the configured timeout (timeoutMs, or flush({ timeoutMs }))',
  ALD_CLOSED: 'the client (or the recorder) was used after close()',
  ALD_INVALID_ARGUMENT: 'client-side validation failed; the message states the rule and echoes the input; nothing was sent',
  ALD_BUFFER_FULL: 'the recorder buffer reached maxBufferedRows; the refused tick is counted in dropped',
  ALD_JOURNAL_FULL: 'the journal holds maxPendingBytes not yet drained (a long outage); the refused tick is counted in droppedRows; steps are still journaled',
  'ALD_HTTP_<status>': 'the API answered an HTTP error without a SQLSTATE (e.g. ALD_HTTP_401 for a rejected JWT, ALD_HTTP_404 for an unknown function)',
  ALD_HANDLER: 'a setpoints.subscribe handler threw or returned outcomes that do not match its requests; nothing was acked (the requests are delivered again after their claim timeout)',
  ALD_UNEXPECTED: 'an error the SDK does not recognise (a bug, or a reply of an unexpected shape); see cause',
} as const;

export type AldDbErrorCode = keyof typeof ERROR_CODES | `ALD_HTTP_${number}` | (string & {});

export interface AldDbErrorFields {
  code: AldDbErrorCode;
  message: string;
  details?: string | null;
  hint?: string | null;
  operation?: string | null;
  /** HTTP status, when the supabase transport received one. */
  status?: number | null;
  cause?: unknown;
}

export class AldDbError extends Error {
  override readonly name = 'AldDbError';
  readonly code: AldDbErrorCode;
  readonly details: string | null;
  readonly hint: string | null;
  /** The RPC (or SDK operation) that failed, e.g. `set_parameter_value`. */
  readonly operation: string | null;
  readonly status: number | null;

  constructor(fields: AldDbErrorFields) {
    super(fields.message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.code = fields.code;
    this.details = fields.details ?? null;
    this.hint = fields.hint ?? null;
    this.operation = fields.operation ?? null;
    this.status = fields.status ?? null;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name, code: this.code, message: this.message, details: this.details,
      hint: this.hint, operation: this.operation, status: this.status,
    };
  }
}

export function invalidArgument(operation: string, rule: string, input: unknown): AldDbError {
  return new AldDbError({ code: 'ALD_INVALID_ARGUMENT', message: `${rule}, but got: ${echo(input)}`, operation });
}

export function closedError(operation: string, what = 'the ald-db client'): AldDbError {
  return new AldDbError({ code: 'ALD_CLOSED', message: `${what} is closed`, operation, hint: 'create a new client' });
}

/** A short printable form of any input, for "…, but got: X" messages. */
export function echo(input: unknown): string {
  if (typeof input === 'string') return JSON.stringify(input);
  if (typeof input === 'number' || typeof input === 'boolean' || input == null || typeof input === 'bigint') return String(input);
  try {
    const text = JSON.stringify(input);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    return Object.prototype.toString.call(input);
  }
}

const SQLSTATE = /^[0-9A-Z]{5}$/;
// Socket errors and postgres.js's own connection codes: the request may or may not have reached
// the server, and the connection is gone.
const NETWORK_CODES = /^(E[A-Z]+|CONNECT_TIMEOUT|CONNECTION_(CLOSED|DESTROYED)|UND_ERR_[A-Z_]+)$/;

/**
 * A SQLSTATE that means "the connection is gone", not "the request was wrong": class 08
 * (connection exception) and 57P01..57P03 (server shutting down, backend terminated).
 */
function isConnectionSqlstate(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03';
}

/** Maps an error thrown by postgres.js (PostgresError or a socket error) to an AldDbError. */
export function fromPostgresError(error: unknown, operation: string): AldDbError {
  if (error instanceof AldDbError) return error;
  const e = error as { code?: unknown; message?: unknown; detail?: unknown; hint?: unknown; name?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  if (e?.name === 'PostgresError' && SQLSTATE.test(code)) {
    if (isConnectionSqlstate(code)) {
      return new AldDbError({ code: 'ALD_CONNECTION', message: `connection lost: ${message}`, details: `SQLSTATE ${code}`, operation, cause: error });
    }
    return new AldDbError({
      code, message, operation, cause: error,
      details: typeof e.detail === 'string' ? e.detail : null,
      hint: typeof e.hint === 'string' ? e.hint : null,
    });
  }
  if (NETWORK_CODES.test(code)) {
    return new AldDbError({ code: 'ALD_CONNECTION', message: `connection failed: ${message}`, details: code, operation, cause: error });
  }
  if (code === 'CONNECTION_ENDED') return closedError(operation);
  return new AldDbError({ code: 'ALD_UNEXPECTED', message, operation, cause: error });
}

/** The `error` of a supabase-js (postgrest-js) result, plus the HTTP status it came with. */
export interface PostgrestErrorLike {
  code?: string;
  message?: string;
  details?: string | null;
  hint?: string | null;
}

/** PostgREST's own codes for "cannot reach the database" (503): a connection problem, not a bad request. */
const PGRST_CONNECTION = new Set(['PGRST000', 'PGRST001', 'PGRST002']);

/** Maps a postgrest-js error result to an AldDbError. */
export function fromPostgrestError(error: PostgrestErrorLike, status: number, operation: string): AldDbError {
  const code = error.code ?? '';
  const message = error.message ?? 'request failed';
  const base = { message, details: error.details ?? null, hint: error.hint ?? null, operation, status: status || null };
  // status 0: fetch itself failed (DNS, refused, reset); postgrest-js turned the exception into a result.
  if (status === 0) return new AldDbError({ ...base, code: 'ALD_CONNECTION', message: `request failed: ${message}` });
  if (SQLSTATE.test(code)) {
    if (isConnectionSqlstate(code)) return new AldDbError({ ...base, code: 'ALD_CONNECTION' });
    return new AldDbError({ ...base, code });
  }
  if (PGRST_CONNECTION.has(code) || status === 502 || status === 504) {
    return new AldDbError({ ...base, code: 'ALD_CONNECTION', details: [code, error.details].filter(Boolean).join(': ') || null });
  }
  // An HTTP error without a SQLSTATE (PGRSTxxx codes, gateway errors): keep PostgREST's code in details.
  return new AldDbError({ ...base, code: `ALD_HTTP_${status}`, message: code ? `${code}: ${message}` : message });
}

/**
 * Errors worth retrying because the same request can succeed later: the connection, a timeout,
 * the server being busy or shutting down, serialization failures. Everything the server refused
 * on its merits (classes 22, 23, 42, P0, 55, 0A ...) fails the same way every time.
 */
export function isTransient(error: AldDbError): boolean {
  const c = String(error.code);
  // An error the SDK does not recognise is not proof that the request can never succeed; for
  // the recorder, retrying (with a bounded buffer) is safer than dropping data on a guess.
  if (c === 'ALD_CONNECTION' || c === 'ALD_TIMEOUT' || c === 'ALD_UNEXPECTED') return true;
  if (/^ALD_HTTP_(5\d\d|429|408)$/.test(c)) return true;
  if (c.startsWith('ALD_')) return false;
  // 40001 from set_parameter_value is a version conflict (the caller must re-read), so it is not
  // retried; 40P01 (deadlock) is.
  if (c === '40P01' || c.startsWith('53') || c === '55P03' || c === '57014' || c.startsWith('58')) return true;
  return false;
}
