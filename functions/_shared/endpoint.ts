// The request pipeline every function shares, so that each handler holds only its own logic:
// OPTIONS preflight first (no auth: browsers send preflights without credentials), 405 with Allow,
// errors turned into JSON answers, CORS on every response, one log line and the metrics.
import type { Caller } from './auth.ts';
import { config } from './config.ts';
import { DbError } from './db.ts';
import { corsHeaders, errorResponse, HttpError, httpErrorFromDatabase, methodNotAllowed } from './http.ts';
import { logRequest } from './log.ts';
import { observeRequest } from './metrics.ts';

/** What a handler may record about the request it serves; the pipeline logs it. */
export interface RequestContext {
  dbCalls: number;
  /** Cache outcome for the log line ("-" when no cache is involved). */
  cache: string;
  /** Set once authenticated: an anonymous caller's 42501 becomes 401. */
  caller?: Caller;
}

export type Handler = (req: Request, ctx: RequestContext) => Promise<Response>;
export type FetchHandler = (req: Request) => Promise<Response>;

export interface EndpointOptions {
  /** Function name, as in logs and metrics. */
  name: string;
  /** Methods served besides OPTIONS. */
  methods: readonly string[];
}

function toHttpError(error: unknown, ctx: RequestContext): { http: HttpError; internal?: string } {
  if (error instanceof HttpError) return { http: error };
  if (error instanceof DbError) {
    const http = httpErrorFromDatabase(error, ctx.caller === undefined);
    return { http, internal: http.status >= 500 ? `${error.sqlstate}: ${error.message}` : undefined };
  }
  return {
    http: new HttpError(500, 'internal_error', 'internal error'),
    internal: String((error as Error)?.message ?? error),
  };
}

/** Wraps a handler into a `fetch` function with the shared behaviour described above. */
export function endpoint(options: EndpointOptions, handle: Handler): FetchHandler {
  return async (req) => {
    const started = performance.now();
    const ctx: RequestContext = { dbCalls: 0, cache: '-' };
    let response: Response;
    let code: string | undefined;
    let internal: string | undefined;
    try {
      if (req.method === 'OPTIONS') response = new Response(null, { status: 204 });
      else if (!options.methods.includes(req.method)) throw methodNotAllowed(req.method, options.methods);
      else response = await handle(req, ctx);
    } catch (error) {
      const converted = toHttpError(error, ctx);
      code = converted.http.code;
      internal = converted.internal;
      response = errorResponse(converted.http);
    }
    let cors: Record<string, string> = {};
    try {
      cors = corsHeaders({ origin: config().corsOrigin, methods: options.methods });
    } catch (error) {
      // A bad setting must not hide the answer; it is logged and the response goes out without CORS.
      internal ??= `configuration: ${(error as Error).message}`;
    }
    for (const [name, value] of Object.entries(cors)) response.headers.set(name, value);

    const seconds = (performance.now() - started) / 1000;
    observeRequest(options.name, req.method, response.status, seconds);
    logRequest({
      function: options.name,
      method: req.method,
      status: response.status,
      cache: ctx.cache,
      duration_ms: Math.round(seconds * 10_000) / 10,
      db_calls: ctx.dbCalls,
      ...(code ? { code } : {}),
      ...(internal ? { error: internal } : {}),
    });
    return response;
  };
}
