// Edge Function `metrics`: Prometheus text for this isolate. Logic in handler.ts.
import { createMetricsHandler } from './handler.ts';

export default { fetch: createMetricsHandler() } satisfies Deno.ServeDefaultExport;
