// Client-side argument checks. A call that cannot be right is refused before it costs a round
// trip, with a message that states the rule and echoes the input (AldDbError ALD_INVALID_ARGUMENT).
import { invalidArgument } from './errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

export function requireUuid(operation: string, what: string, value: unknown): string {
  if (!isUuid(value)) throw invalidArgument(operation, `${operation} must be called with ${what} (a uuid string)`, value);
  return value;
}

export function optionalUuid(operation: string, what: string, value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : requireUuid(operation, what, value);
}

export function requireUuidArray(operation: string, what: string, value: unknown): string[] {
  if (!Array.isArray(value)) throw invalidArgument(operation, `${operation} must be called with an array of ${what}`, value);
  const bad = value.find((id) => !isUuid(id));
  if (bad !== undefined) throw invalidArgument(operation, `${operation} must be called with an array of ${what} (uuid strings)`, bad);
  return value as string[];
}

export function requireObject(operation: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(operation, `${operation} must be called with an options object`, value);
  }
  return value as Record<string, unknown>;
}

export function optionalInteger(operation: string, what: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidArgument(operation, `${what} must be an integer`, value);
  return value;
}

export function optionalString(operation: string, what: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidArgument(operation, `${what} must be a string`, value);
  return value;
}

/**
 * An optional point in time (a Date or a string Date.parse reads, e.g. ISO 8601) as an ISO 8601
 * string; the server checks the window (e.g. advance_step's at: 22023 outside it).
 */
export function optionalTime(operation: string, what: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw invalidArgument(operation, `${what} must be a Date or an ISO 8601 string`, value);
  return typeof value === 'string' ? value : (value as Date).toISOString();
}
