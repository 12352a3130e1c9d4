// POST /set-parameter {parameter_id, value, expected_version?, reason?, request_id?}
// Calls set_parameter_value as the caller (their operator role decides), then puts the returned
// row into this isolate's cache, so the next GET of the parameter serves it at once. Answers
// {parameter, request}: the row (set_value is the desired value, applied_value what the PLC
// confirmed) and the setpoint request the write made (status pending), or null when the value
// was already the desired one.
import type { WriteProbe } from '../_shared/cache.ts';
import type { Row } from '../_shared/db.ts';
import { endpoint, type FetchHandler, type RequestContext } from '../_shared/endpoint.ts';
import { jsonResponse } from '../_shared/http.ts';
import { type Deps, deps as isolateDeps } from '../_shared/isolate.ts';
import { toParameterRow } from '../_shared/parameter-row.ts';
import { toSetpointRequest } from '../_shared/setpoint-request.ts';
import { parseWith, readJsonBody } from '../_shared/validation.ts';
import { MAX_BODY_BYTES, SetParameterBody, WRITE_STATEMENTS, writeArgs } from './body.ts';

function probeOf(before: Row[], after: Row[]): WriteProbe | undefined {
  if (before.length !== 1 || after.length !== 1) return undefined;
  return {
    versionBefore: Number(before[0].version),
    epochBefore: Number(before[0].epoch),
    epochAfter: Number(after[0].epoch),
  };
}

export function createSetParameterHandler(overrides: Partial<Deps> = {}): FetchHandler {
  let resolved: Deps | undefined;
  const d = () => (resolved ??= isolateDeps(overrides));

  return endpoint({ name: 'set-parameter', methods: ['POST'] }, async (req: Request, ctx: RequestContext) => {
    const caller = await d().authenticate(req);
    ctx.caller = caller;
    const body = parseWith(SetParameterBody, await readJsonBody(req, MAX_BODY_BYTES), 'body');
    const [before, written, after, request] = await d().db().call(
      ctx,
      caller,
      'set_parameter_value',
      WRITE_STATEMENTS,
      writeArgs(body),
    );
    const row = toParameterRow(written[0]);
    d().cache.noteWrite(row, probeOf(before, after));
    return jsonResponse({ parameter: row, request: request[0] ? toSetpointRequest(request[0]) : null });
  });
}
