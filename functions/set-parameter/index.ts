// Edge Function `set-parameter`: POST one setpoint as the calling user. Logic in handler.ts.
import { createSetParameterHandler } from './handler.ts';
import { assertStartable } from '../_shared/isolate.ts';

assertStartable(); // no JWT key, or ALD_TRUST_PLATFORM_JWT set: refuse to start

export default { fetch: createSetParameterHandler() } satisfies Deno.ServeDefaultExport;
