// Edge Function `readings`: GET chart points of a machine's readings. Logic in handler.ts.
import { createReadingsHandler } from './handler.ts';

export default { fetch: createReadingsHandler() } satisfies Deno.ServeDefaultExport;
