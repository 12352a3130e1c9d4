// The readings page's JSON endpoints (GET, under /api/readings/), answered through the
// dashboard's own database connection with the RPCs of issue 12:
//   machines                 machines by name, each with its 20 latest runs
//   parameters?machine_id=   the machine's parameters grouped by component (get_machine_parameters)
//   latest?machine_id=       the last tick (get_latest_readings), polled every second by the page
//   range?machine_id=&parameter_ids=a,b&from=&to=&max_points=[&process_id=]   get_readings
// A bad query answers 400 with the rule; the database's own refusals (22023, P0002) 400 and 404.
import type { Sql } from '../doctor/index.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class BadRequest extends Error {
  constructor(message: string, readonly status = 400) {
    super(message);
  }
}

function uuid(params: URLSearchParams, name: string, required = true): string | null {
  const value = params.get(name);
  if (value === null || value === '') {
    if (required) throw new BadRequest(`${name} is required (a uuid)`);
    return null;
  }
  if (!UUID.test(value)) throw new BadRequest(`${name} must be a uuid, but got: ${value}`);
  return value;
}

function instant(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (value === null || Number.isNaN(Date.parse(value))) throw new BadRequest(`${name} must be an ISO 8601 time, but got: ${value}`);
  return new Date(value).toISOString();
}

/** Runs one endpoint; throws BadRequest for the caller's mistakes. */
export async function readingsApi(sql: Sql, endpoint: string, params: URLSearchParams): Promise<unknown> {
  try {
    switch (endpoint) {
      case 'machines':
        return await sql`
          select m.id, m.name, m.status,
                 coalesce((select json_agg(json_build_object('id', e.id, 'started_at', e.started_at, 'ended_at', e.ended_at, 'status', e.status)
                                            order by e.started_at desc)
                           from (select * from public.process_executions e where e.machine_id = m.id
                                 order by e.started_at desc limit 20) e), '[]') as runs
          from public.machines m order by m.name`;
      case 'parameters': {
        const machine = uuid(params, 'machine_id');
        return await sql`
          select c.name as component, json_agg(json_build_object('id', p.id, 'name', p.name, 'unit', p.unit,
                                                                'display_name', p.display_name) order by p.name) as parameters
          from public.get_machine_parameters(${machine}::uuid) p
          join public.machine_components c on c.id = p.component_id
          group by c.name order by c.name`;
      }
      case 'latest': {
        const machine = uuid(params, 'machine_id');
        return await sql`select * from public.get_latest_readings(${machine}::uuid)`;
      }
      case 'range': {
        const machine = uuid(params, 'machine_id');
        const ids = (params.get('parameter_ids') ?? '').split(',').filter((s) => s !== '');
        const bad = ids.find((id) => !UUID.test(id));
        if (ids.length === 0 || bad !== undefined) throw new BadRequest(`parameter_ids must be uuids separated by commas, but got: ${bad ?? '(none)'}`);
        const maxPoints = Number(params.get('max_points') ?? '500');
        if (!Number.isInteger(maxPoints) || maxPoints < 1 || maxPoints > 10_000) throw new BadRequest(`max_points must be a whole number from 1 to 10000, but got: ${params.get('max_points')}`);
        return await sql`
          select * from public.get_readings(${machine}::uuid, ${ids}::uuid[], ${instant(params, 'from')}::timestamptz,
                                            ${instant(params, 'to')}::timestamptz, ${maxPoints}::int, ${uuid(params, 'process_id', false)}::uuid)`;
      }
      default:
        throw new BadRequest(`no endpoint /api/readings/${endpoint}; try machines, parameters, latest, range`, 404);
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '22023' || code === '22004') throw new BadRequest((error as Error).message);
    if (code === 'P0002') throw new BadRequest((error as Error).message, 404);
    throw error;
  }
}
