// Edge Function `set-parameter`: POST one setpoint as the calling user. Logic in handler.ts.
import { createSetParameterHandler } from './handler.ts';

export default { fetch: createSetParameterHandler() } satisfies Deno.ServeDefaultExport;
