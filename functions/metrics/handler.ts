// GET /metrics: this isolate's Prometheus metrics (text exposition format). Counts only, but
// they describe traffic, so scraping needs a service_role token.
import { endpoint, type FetchHandler, type RequestContext } from '../_shared/endpoint.ts';
import { HttpError } from '../_shared/http.ts';
import { type Deps, deps as isolateDeps } from '../_shared/isolate.ts';
import { registry } from '../_shared/metrics.ts';

export function createMetricsHandler(overrides: Partial<Pick<Deps, 'authenticate'>> = {}): FetchHandler {
  let resolved: Deps | undefined;
  const d = () => (resolved ??= isolateDeps(overrides));

  return endpoint({ name: 'metrics', methods: ['GET'] }, async (req: Request, ctx: RequestContext) => {
    const caller = await d().authenticate(req);
    ctx.caller = caller;
    if (caller.role !== 'service_role') throw new HttpError(403, 'forbidden', 'metrics need a service_role token');
    return new Response(await registry.metrics(), { headers: { 'Content-Type': registry.contentType } });
  });
}
