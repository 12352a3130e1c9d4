// Edge Function `setpoint-requests`: GET the open setpoint requests of a machine. Logic in handler.ts.
import { createSetpointRequestsHandler } from './handler.ts';

export default { fetch: createSetpointRequestsHandler() } satisfies Deno.ServeDefaultExport;
