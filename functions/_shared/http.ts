// Responses: CORS headers, JSON bodies, and the one place where errors become HTTP statuses.
// Error bodies are always {code, message} (plus details/hint/issues when useful). They never carry
// a stack trace or SQL text: database messages pass through only when one of our RPCs raised them
// on purpose (their messages and details are part of the API; see the migrations' headers).

/** An error that is already an HTTP answer. `code` is a SQLSTATE or one of the names in the README. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.extra };
  }
}

/** The fields of a database error that decide its answer (see db.ts DbError). */
export interface DatabaseFailure {
  sqlstate: string;
  message: string;
  detail?: string;
  hint?: string;
  /** True when a RAISE in one of our RPCs produced it: its message is meant for the caller. */
  raisedByRpc: boolean;
  /** True when the database could not be reached at all. */
  unavailable: boolean;
}

/**
 * SQLSTATE → HTTP status. 400 is for requests this API cannot read (the functions validate the shape
 * before calling, so 22004 reaching the database means a missing value slipped through); 422 is for
 * well-formed requests whose values the database refuses (wrong kind of number, out of range).
 */
export const SQLSTATE_STATUS: Readonly<Record<string, number>> = {
  '22004': 400, // null where a value is required
  '22023': 422, // invalid value: fraction for an integer, not 0/1 for a binary, foreign parameter
  '22003': 422, // value outside [min_value, max_value]
  'P0002': 404, // no such parameter / machine / process (or not visible to the caller)
  '42501': 403, // caller may not do this (401 for an anonymous caller, see statusForSqlstate)
  '40001': 409, // expected_version is not the parameter's version
  '55000': 409, // object not in the required state: read-only, inactive, process ended
  '23505': 409, // unique violation
  '23503': 409, // foreign key violation
  '40P01': 409, // deadlock: safe to retry
  '57014': 504, // statement_timeout
  '53300': 503, // too many connections
};

/** Status for a SQLSTATE; an anonymous caller refused for permission is told to authenticate. */
export function statusForSqlstate(sqlstate: string, anonymous = false): number {
  if (sqlstate === '42501' && anonymous) return 401;
  return SQLSTATE_STATUS[sqlstate] ?? 500;
}

const GENERIC_MESSAGE: Record<number, string> = {
  400: 'invalid request',
  401: 'authentication required',
  403: 'not allowed',
  404: 'not found',
  409: 'conflict',
  422: 'invalid value',
  500: 'internal error',
  503: 'database unavailable',
  504: 'database timeout',
};

/** The HTTP answer to a database failure. Only RPC-raised messages reach the caller verbatim. */
export function httpErrorFromDatabase(failure: DatabaseFailure, anonymous = false): HttpError {
  if (failure.unavailable) return new HttpError(503, 'database_unavailable', GENERIC_MESSAGE[503]);
  const status = statusForSqlstate(failure.sqlstate, anonymous);
  if (status === 500) return new HttpError(500, 'internal_error', GENERIC_MESSAGE[500]);
  if (!failure.raisedByRpc) {
    // A constraint or privilege error: its text names internals, so only the class is told.
    const message = failure.sqlstate === '23505'
      ? 'already exists: a unique key (e.g. a request_id) is taken'
      : GENERIC_MESSAGE[status];
    return new HttpError(status, failure.sqlstate, message ?? 'error');
  }
  const extra: Record<string, unknown> = {};
  if (failure.detail) extra.details = failure.detail;
  if (failure.hint) extra.hint = failure.hint;
  return new HttpError(status, failure.sqlstate, failure.message, extra);
}

export interface CorsOptions {
  origin: string;
  /** Methods the function serves; OPTIONS is added. */
  methods: readonly string[];
}

/** Headers every response carries, so browsers may read bodies and our cache headers. */
export function corsHeaders({ origin, methods }: CorsOptions): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': [...methods, 'OPTIONS'].join(', '),
    'Access-Control-Allow-Headers': 'authorization, x-client-info, apikey, content-type, if-none-match',
    'Access-Control-Expose-Headers': 'etag, cache-status',
    'Access-Control-Max-Age': '86400',
    ...(origin === '*' ? {} : { Vary: 'Origin' }),
  };
}

export function jsonResponse(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set('Content-Type', 'application/json; charset=utf-8');
  return new Response(JSON.stringify(body), { status, headers: h });
}

export function errorResponse(error: HttpError): Response {
  return jsonResponse(error, error.status, error.headers);
}

/** 405 with the Allow header RFC 9110 requires. */
export function methodNotAllowed(method: string, allowed: readonly string[]): HttpError {
  const allow = [...allowed, 'OPTIONS'].join(', ');
  return new HttpError(405, 'method_not_allowed', `${method} is not allowed here; use ${allow}`, {}, { Allow: allow });
}
