// Edge Function `metrics`: Prometheus text for this isolate. Logic in handler.ts.
import { createMetricsHandler } from './handler.ts';
import { assertStartable } from '../_shared/isolate.ts';

assertStartable(); // no JWT key, or ALD_TRUST_PLATFORM_JWT set: refuse to start

export default { fetch: createMetricsHandler() } satisfies Deno.ServeDefaultExport;
