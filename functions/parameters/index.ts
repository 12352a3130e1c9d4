// Edge Function `parameters`: GET parameter rows from the isolate cache. Logic in handler.ts.
import { createParametersHandler } from './handler.ts';
import { assertStartable } from '../_shared/isolate.ts';

assertStartable(); // no JWT key, or ALD_TRUST_PLATFORM_JWT set: refuse to start

export default { fetch: createParametersHandler() } satisfies Deno.ServeDefaultExport;
