// GET /setpoint-requests?machine_id=<uuid>[&include_closed=true][&limit=N]
// The machine's open setpoint requests (pending, or claimed: in flight to the PLC), newest first,
// for a UI that shows what is not yet in force; include_closed adds applied, failed and superseded
// ones. One get_setpoint_requests call as the caller: RLS shows only machines they may view (an
// invisible machine is 404). Not cached: a UI polls it, or follows setpoint_requests by Realtime.
import { endpoint, type FetchHandler, type RequestContext } from '../_shared/endpoint.ts';
import { HttpError, jsonResponse } from '../_shared/http.ts';
import { type Deps, deps as isolateDeps } from '../_shared/isolate.ts';
import { fromArgs, rpcCall } from '../_shared/rpc-call.ts';
import { toSetpointRequest } from '../_shared/setpoint-request.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const LIST_STATEMENT = `select r.* from ${rpcCall('get_setpoint_requests', fromArgs('machine_id', 'include_closed', 'max_rows'))} r`;

export function parseListQuery(params: URLSearchParams): { machine_id: string; include_closed: boolean; max_rows: number } {
  for (const key of params.keys()) {
    if (!['machine_id', 'include_closed', 'limit'].includes(key)) {
      throw new HttpError(400, 'invalid_request', `unknown query parameter ${JSON.stringify(key)}; use machine_id, include_closed, limit`);
    }
  }
  const machine = params.get('machine_id');
  if (!machine || !UUID.test(machine)) throw new HttpError(400, 'invalid_request', 'machine_id must be a uuid');
  const closed = params.get('include_closed');
  if (closed !== null && closed !== 'true' && closed !== 'false') throw new HttpError(400, 'invalid_request', 'include_closed must be true or false');
  const limitText = params.get('limit');
  const limit = limitText === null ? 100 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new HttpError(400, 'invalid_request', 'limit must be a whole number from 1 to 1000');
  return { machine_id: machine.toLowerCase(), include_closed: closed === 'true', max_rows: limit };
}

export function createSetpointRequestsHandler(overrides: Partial<Deps> = {}): FetchHandler {
  let resolved: Deps | undefined;
  const d = () => (resolved ??= isolateDeps(overrides));

  return endpoint({ name: 'setpoint-requests', methods: ['GET'] }, async (req: Request, ctx: RequestContext) => {
    const caller = await d().authenticate(req);
    ctx.caller = caller;
    const args = parseListQuery(new URL(req.url).searchParams);
    const [rows] = await d().db().call(ctx, caller, 'get_setpoint_requests', [LIST_STATEMENT], args);
    return jsonResponse({ machine_id: args.machine_id, requests: rows.map(toSetpointRequest) });
  });
}
