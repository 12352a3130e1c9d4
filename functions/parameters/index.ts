// Edge Function `parameters`: GET parameter rows from the isolate cache. Logic in handler.ts.
import { createParametersHandler } from './handler.ts';

export default { fetch: createParametersHandler() } satisfies Deno.ServeDefaultExport;
