// db.controllers: a controller announces itself (one per machine; takeover is explicit) and, only
// while it makes no other call, keeps itself alive with a heartbeat. Every claim, start, step and
// completion is already a heartbeat (private.note_controller_seen), so a controller running a
// recipe never calls heartbeat(): 0 extra round trips. (Recorded ticks are not yet: see the README,
// Controllers and liveness.)
import { randomUUID } from 'node:crypto';
import { invalidArgument } from './errors.ts';
import type { RpcClient } from './rpc-client.ts';
import type { Controller } from './types.ts';
import { optionalInteger, optionalString, optionalUuid, requireObject, requireUuid } from './validate.ts';

export interface RegisterOptions {
  machineId: string;
  host?: string;
  version?: string;
  /** Replace a live controller of the machine (otherwise RC004). */
  takeover?: boolean;
  /** Silence after which the job declares this controller dead (default 30000 ms). */
  timeoutMs?: number;
  /** Its id; default a new uuid per register() call, reused by its retries (a retry returns the same row). */
  controllerId?: string;
}

export class ControllersApi {
  constructor(private readonly rpc: RpcClient) {}

  /** Registers this controller as the machine's one live controller (RC004 if another is alive and takeover is not set). */
  register(options: RegisterOptions): Promise<Controller> {
    const o = requireObject('register', options);
    if (o.takeover !== undefined && typeof o.takeover !== 'boolean') throw invalidArgument('register', 'takeover must be a boolean', o.takeover);
    const args = {
      machine_id: requireUuid('register', 'a machineId', o.machineId),
      host: optionalString('register', 'host', o.host),
      version: optionalString('register', 'version', o.version),
      takeover: o.takeover,
      timeout_ms: optionalInteger('register', 'timeoutMs', o.timeoutMs),
      controller_id: optionalUuid('register', 'a controllerId', o.controllerId) ?? randomUUID(),
    };
    return this.rpc.idempotent<Controller>('register_controller', args);
  }

  /** Keeps an idle controller alive (RC005 once it was declared dead or replaced: stop driving the machine). */
  heartbeat(controllerId: string): Promise<Controller> {
    return this.rpc.idempotent<Controller>('controller_heartbeat', { controller_id: requireUuid('heartbeat', 'a controllerId', controllerId) });
  }
}
