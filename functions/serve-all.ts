// All six functions in one isolate, routed by the first path segment (/parameters,
// /set-parameter, /setpoint-requests, /record-data, /readings, /metrics; a /functions/v1 prefix is accepted too), for local work
// and self-hosting without the Supabase CLI:
//   deno serve --allow-net --allow-env --allow-read functions/serve-all.ts
// One isolate means one cache and one metrics registry for all of them, so a write through
// set-parameter is visible to the next parameters GET and /metrics counts every function.
// Not a Supabase function itself: the CLI deploys only the folders named in supabase/config.toml.
import { errorResponse, HttpError } from './_shared/http.ts';
import metrics from './metrics/index.ts';
import parameters from './parameters/index.ts';
import readings from './readings/index.ts';
import recordData from './record-data/index.ts';
import setParameter from './set-parameter/index.ts';
import setpointRequests from './setpoint-requests/index.ts';

const ROUTES: Record<string, { fetch: (req: Request) => Promise<Response> }> = {
  'parameters': parameters,
  'set-parameter': setParameter,
  'setpoint-requests': setpointRequests,
  'record-data': recordData,
  'readings': readings,
  'metrics': metrics,
};

async function fetch(req: Request): Promise<Response> {
  const name = new URL(req.url).pathname.replace(/^\/functions\/v1(?=\/)/, '').split('/')[1] ?? '';
  const route = ROUTES[name];
  if (route) return await route.fetch(req);
  return errorResponse(
    new HttpError(404, 'not_found', `no function ${JSON.stringify(name)}; try ${Object.keys(ROUTES).join(', ')}`),
  );
}

export default { fetch } satisfies Deno.ServeDefaultExport;
