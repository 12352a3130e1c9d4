// POST /record-data: one tick {process_id, ts?, readings: [...]} or a backlog
// {process_id, ticks: [{ts, readings: [...]}]} → one record_process_data call, as the caller.
// Idempotent on (machine, tick time): a retried backlog inserts nothing twice.
import { config } from '../_shared/config.ts';
import { endpoint, type FetchHandler, type RequestContext } from '../_shared/endpoint.ts';
import { jsonResponse } from '../_shared/http.ts';
import { type Deps, deps as isolateDeps } from '../_shared/isolate.ts';
import { parseWith, readJsonBody } from '../_shared/validation.ts';
import { RECORD_STATEMENT, schemaFor, toRecordArgs } from './body.ts';

export interface RecordLimits {
  maxBytes: number;
  maxRows: number;
}

export function createRecordDataHandler(overrides: Partial<Deps> = {}, limits?: Partial<RecordLimits>): FetchHandler {
  let resolved: Deps | undefined;
  const d = () => (resolved ??= isolateDeps(overrides));

  return endpoint({ name: 'record-data', methods: ['POST'] }, async (req: Request, ctx: RequestContext) => {
    const caller = await d().authenticate(req);
    ctx.caller = caller;
    const maxBytes = limits?.maxBytes ?? config().recordMaxBytes;
    const maxRows = limits?.maxRows ?? config().recordMaxRows;
    const raw = await readJsonBody(req, maxBytes);
    const body = parseWith(schemaFor(raw), raw, 'body');
    const { rows, ...args } = toRecordArgs(body, maxRows);
    const [[result]] = await d().db().call(ctx, caller, 'record_process_data', [RECORD_STATEMENT], { ...args });
    return jsonResponse({ inserted: Number(result.inserted), received: rows });
  });
}
