// Edge Function `record-data`: POST a tick or a backlog of PLC readings. Logic in handler.ts.
import { createRecordDataHandler } from './handler.ts';
import { assertStartable } from '../_shared/isolate.ts';

assertStartable(); // no JWT key, or ALD_TRUST_PLATFORM_JWT set: refuse to start

export default { fetch: createRecordDataHandler() } satisfies Deno.ServeDefaultExport;
