// Edge Function `record-data`: POST a tick or a backlog of PLC readings. Logic in handler.ts.
import { createRecordDataHandler } from './handler.ts';

export default { fetch: createRecordDataHandler() } satisfies Deno.ServeDefaultExport;
