// Edge Function `readings`: GET chart points of a machine's readings. Logic in handler.ts.
import { createReadingsHandler } from './handler.ts';
import { assertStartable } from '../_shared/isolate.ts';

assertStartable(); // no JWT key, or ALD_TRUST_PLATFORM_JWT set: refuse to start

export default { fetch: createReadingsHandler() } satisfies Deno.ServeDefaultExport;
