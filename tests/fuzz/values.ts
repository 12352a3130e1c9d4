// The fuzzed argument values and what PostgreSQL makes of them, per transport.
//
// A generated argument is an abstract value `V`. It is sent two ways:
//  - direct: postgres.js with one *text* parameter per argument (`$n::<type>` with every serializer
//    replaced by String), so the exact text reaches PostgreSQL's input function at Bind;
//  - json: a PostgREST body (`JSON.stringify`, or raw text for number literals JSON.stringify cannot
//    produce), which PostgREST hands to json_to_record().
// `convert` predicts, for each transport, the value the function receives or the SQLSTATE raised
// before it runs. It models the input functions of PostgreSQL 15 for the inputs the arbitraries
// generate, and says 'ambiguous' for the rest (those inputs are filtered out, never guessed).
import { Constants } from '../../src/sdk/database.types.ts';

export type V =
  | { k: 'omit' } // argument left out (the function's default applies)
  | { k: 'null' }
  | { k: 'num'; n: number } // a JS number: NaN, ±Infinity and -0 included
  | { k: 'raw'; text: string } // a JSON number literal JSON.stringify cannot produce: 1e400, -0, 2^70
  | { k: 'str'; s: string }
  | { k: 'bool'; b: boolean }
  | { k: 'arr'; items: V[] } // a JSON array / an array literal {..} (items are never omit)
  | { k: 'lit'; arr: V } // the array literal text of `arr`, sent as a string
  | { k: 'obj'; o: Record<string, unknown> };

export const omit: V = { k: 'omit' };
export const nul: V = { k: 'null' };
export const num = (n: number): V => ({ k: 'num', n });
export const raw = (text: string): V => ({ k: 'raw', text });
export const str = (s: string): V => ({ k: 'str', s });
export const bool = (b: boolean): V => ({ k: 'bool', b });
export const arr = (items: V[]): V => ({ k: 'arr', items });
export const lit = (items: V[]): V => ({ k: 'lit', arr: arr(items) });
export const obj = (o: Record<string, unknown>): V => ({ k: 'obj', o });
export const uuids = (ids: readonly string[]): V => arr(ids.map(str));

export type PgScalar = 'uuid' | 'float8' | 'int4' | 'int8' | 'bool' | 'text' | 'jsonb' | 'change_source' |
  'step_execution_status' | 'execution_status' | 'command_type' | 'command_status' | 'timestamptz';
export type PgType = PgScalar | 'uuid[]' | 'float8[]' | 'timestamptz[]' | 'bool[]' | 'text[]';

/** The labels of the enums the RPCs take, from the generated Database type's Constants. */
export const ENUMS: Record<string, readonly string[]> = {
  change_source: Constants.public.Enums.change_source,
  step_execution_status: Constants.public.Enums.step_execution_status,
  execution_status: Constants.public.Enums.execution_status,
  command_type: Constants.public.Enums.command_type,
  command_status: Constants.public.Enums.command_status,
};

/** A PostgreSQL array as received: its number of dimensions and its elements in storage order. */
export interface PgArray { dims: number; items: PgVal[] }
/** Timestamps as epoch milliseconds (±Infinity for 'infinity'). int8 as bigint. jsonb as parsed JSON. */
export type PgVal = null | string | number | bigint | boolean | PgArray | { jsonb: unknown };

export type Converted = { ok: true; v: PgVal } | { ok: false; code: string } | { ambiguous: true };
const ok = (v: PgVal): Converted => ({ ok: true, v });
const bad = (code: string): Converted => ({ ok: false, code });
const AMBIGUOUS: Converted = { ambiguous: true };

// ---- text forms -----------------------------------------------------------------------------------

/** How postgres.js would print a number if it were sent as text (String(-0) would lose the sign). */
export function numberText(n: number): string {
  if (Object.is(n, -0)) return '-0';
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return String(n);
}

/** The text of a scalar inside a direct-path array literal or as a direct parameter. */
function scalarText(v: V): string {
  switch (v.k) {
    case 'num': return numberText(v.n);
    case 'raw': return v.text;
    case 'str': return v.s;
    case 'bool': return v.b ? 'true' : 'false';
    case 'obj': return JSON.stringify(v.o);
    case 'lit': return arrayLiteral(v.arr);
    default: throw new Error(`no scalar text for ${v.k}`);
  }
}

/** PostgreSQL array literal, quoted as postgres.js quotes array elements. */
export function arrayLiteral(v: V): string {
  if (v.k !== 'arr') throw new Error('arrayLiteral needs an arr');
  return `{${v.items.map((x) => x.k === 'null' ? 'NULL' : x.k === 'arr' ? arrayLiteral(x)
    : `"${scalarText(x).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/** The text parameter of the direct path (null = SQL NULL). */
export function directText(v: V): string | null {
  if (v.k === 'null') return null;
  if (v.k === 'arr') return arrayLiteral(v);
  return scalarText(v);
}

/** JSON text as the json path sends it; equal to JSON.stringify wherever that can express the value. */
export function jsonText(v: V): string {
  switch (v.k) {
    case 'null': return 'null';
    case 'num': return JSON.stringify(v.n); // NaN and ±Infinity become null, -0 becomes 0
    case 'raw': return v.text;
    case 'str': return JSON.stringify(v.s);
    case 'bool': return String(v.b);
    case 'arr': return `[${v.items.map(jsonText).join(',')}]`;
    case 'lit': return JSON.stringify(arrayLiteral(v.arr));
    case 'obj': return JSON.stringify(v.o);
    case 'omit': throw new Error('omit has no JSON text');
  }
}

/** The JS value supabase-js would serialise to jsonText(v), or undefined if a raw literal needs a hand-made body. */
export function jsonValue(v: V): { value: unknown } | undefined {
  switch (v.k) {
    case 'raw': return undefined;
    case 'null': return { value: null };
    case 'num': return { value: v.n };
    case 'str': return { value: v.s };
    case 'bool': return { value: v.b };
    case 'lit': return { value: arrayLiteral(v.arr) };
    case 'obj': return { value: v.o };
    case 'arr': {
      const items: unknown[] = [];
      for (const x of v.items) {
        const j = jsonValue(x);
        if (!j) return undefined;
        items.push(j.value);
      }
      return { value: items };
    }
    case 'omit': return undefined;
  }
}

/** True when a string or key inside a JSON value contains NUL. */
function deepNul(x: unknown): boolean {
  if (typeof x === 'string') return x.includes('\0');
  if (Array.isArray(x)) return x.some(deepNul);
  if (x && typeof x === 'object') return Object.entries(x).some(([k, v]) => k.includes('\0') || deepNul(v));
  return false;
}

/**
 * True when NUL reaches PostgreSQL: direct, as a NUL byte in the text parameter (an object is sent as
 * JSON text, where NUL is the escape \u0000, not a byte); json, as \u0000 anywhere in the body.
 */
export function hasNul(v: V, transport: 'direct' | 'json'): boolean {
  switch (v.k) {
    case 'str': return v.s.includes('\0');
    case 'arr': return v.items.some((x) => hasNul(x, transport));
    case 'lit': return hasNul(v.arr, transport);
    case 'obj': return transport === 'json' && deepNul(v.o);
    default: return false;
  }
}

// ---- input functions ------------------------------------------------------------------------------

const WS = '[ \\t\\n\\v\\f\\r]'; // isspace() in the C locale
const trim = (s: string) => s.replace(new RegExp(`^${WS}+|${WS}+$`, 'g'), '');

/** uuid_in: 32 hex digits, a hyphen allowed after each group of four, optionally in braces. */
export function uuidIn(text: string): Converted {
  const m = /^(?:\{([0-9a-f]{4}(?:-?[0-9a-f]{4}){7})\}|([0-9a-f]{4}(?:-?[0-9a-f]{4}){7}))$/i.exec(text);
  if (!m) return bad('22P02');
  const hex = (m[1] ?? m[2]).replace(/-/g, '').toLowerCase();
  return ok(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`);
}

/** float8in: strtod plus PostgreSQL's own NaN/Infinity spellings; ERANGE to zero or infinity is 22003. */
export function float8In(text: string): Converted {
  const t = trim(text);
  if (t === '') return bad('22P02');
  if (/^[+-]?(inf|infinity)$/i.test(t)) return ok(t.startsWith('-') ? -Infinity : Infinity);
  if (/^[+-]?nan$/i.test(t)) return ok(NaN);
  const body = t.replace(/^[+-]/, '');
  if (/^0x/i.test(body) || /^(nan|inf)/i.test(body)) return AMBIGUOUS; // hex floats, nan(...): glibc's business
  const m = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.exec(t);
  if (!m) return bad('22P02');
  const n = Number(t);
  if (!Number.isFinite(n)) return bad('22003');
  if (n === 0 && /[1-9]/.test(m[1])) return bad('22003'); // underflow to zero
  return ok(n);
}

function intIn(text: string, bits: 32 | 64): Converted {
  if (!new RegExp(`^${WS}*[+-]?\\d+${WS}*$`).test(text)) return bad('22P02');
  const n = BigInt(trim(text));
  const max = bits === 32 ? 2n ** 31n : 2n ** 63n;
  if (n >= max || n < -max) return bad('22003');
  return ok(bits === 32 ? Number(n) : n);
}

/** boolin (parse_bool_with_len): unique prefixes of true/false/yes/no, on/off, 1/0. */
export function boolIn(text: string): Converted {
  const t = trim(text).toLowerCase();
  const n = t.length;
  if (n === 0) return bad('22P02');
  const prefixOf = (word: string, min = 1) => n >= min && n <= word.length && word.startsWith(t);
  if (prefixOf('true') || prefixOf('yes') || t === 'on' || t === '1') return ok(true);
  if (prefixOf('false') || prefixOf('no') || prefixOf('off', 2) || t === '0') return ok(false);
  return bad('22P02');
}

/** jsonb_in of a text: JSON syntax (22P02), no \u0000 in any string (22P05). */
export function jsonbIn(text: string): Converted {
  let nul = false;
  let value: unknown;
  try {
    value = JSON.parse(text, (k, v) => {
      if (k.includes('\0') || (typeof v === 'string' && v.includes('\0'))) nul = true;
      return v;
    });
  } catch {
    return bad('22P02');
  }
  if (/\\u[dD][89abAB]/.test(text) || /\\u[dD][c-fC-F]/.test(text)) return AMBIGUOUS; // surrogate escapes
  return nul ? bad('22P05') : ok({ jsonb: value });
}

/** The timestamps the arbitraries produce: ISO strings of JS dates, and a fixed list of others. */
export const TIMESTAMP_TEXTS: Readonly<Record<string, Converted>> = {
  'infinity': ok(Infinity),
  '-infinity': ok(-Infinity),
  'Infinity': ok(Infinity),
  'epoch': ok(0),
  'garbage': bad('22007'),
  "'; drop table machines; --": bad('22007'),
  '1 or 1=1': bad('22007'),
  '': bad('22007'),
  'NaN': bad('22007'),
  'inf': bad('22007'),
  '2026-13-45T00:00:00Z': bad('22008'),
  '294277-01-01': bad('22008'),
};

export function timestamptzIn(text: string): Converted {
  if (text in TIMESTAMP_TEXTS) return TIMESTAMP_TEXTS[text];
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isFinite(ms)) return ok(ms);
  }
  return AMBIGUOUS;
}

export function scalarIn(type: PgScalar, text: string): Converted {
  switch (type) {
    case 'uuid': return uuidIn(text);
    case 'float8': return float8In(text);
    case 'int4': return intIn(text, 32);
    case 'int8': return intIn(text, 64);
    case 'bool': return boolIn(text);
    case 'text': return ok(text);
    case 'jsonb': return jsonbIn(text);
    case 'timestamptz': return timestamptzIn(text);
    default: return ENUMS[type].includes(text) ? ok(text) : bad('22P02');
  }
}

// ---- arrays ---------------------------------------------------------------------------------------

/** Shape of a nested arr: its dimensions, or 'ragged' when sub-arrays differ (or mix with scalars). */
function shape(v: V): number[] | 'ragged' | 'empty-sub' {
  if (v.k !== 'arr') return [];
  if (v.items.length === 0) return [0];
  const subs = v.items.map(shape);
  const first = subs[0];
  if (first === 'ragged' || first === 'empty-sub') return first;
  for (const s of subs) {
    if (s === 'ragged' || s === 'empty-sub') return s;
    if (s.length !== first.length || s.some((d, i) => d !== first[i])) return 'ragged';
  }
  if (first.length > 0 && first[0] === 0) return 'empty-sub';
  return [v.items.length, ...first];
}

function leaves(v: V): V[] {
  return v.k === 'arr' ? v.items.flatMap(leaves) : [v];
}

/** An array built from a (nested) arr: structure first, then each element's input function, in order. */
function arrayFrom(v: V, elem: PgScalar, text: (x: V) => string | undefined): Converted {
  const s = shape(v);
  if (s === 'empty-sub') return AMBIGUOUS; // {{}}: not generated
  if (s === 'ragged') return bad('22P02');
  const items: PgVal[] = [];
  for (const x of leaves(v)) {
    if (x.k === 'null') { items.push(null); continue; }
    const t = text(x);
    if (t === undefined) { items.push(null); continue; }
    const c = scalarIn(elem, t);
    if (!('ok' in c) || !c.ok) return c;
    items.push(c.v);
  }
  return ok({ dims: s[0] === 0 ? 0 : s.length, items });
}

/** array_in of a string that is not one of our literals: only "does not start like an array" is modelled. */
function arrayInJunk(text: string): Converted {
  return /^[ \t\n\v\f\r]*[{[]/.test(text) ? AMBIGUOUS : bad('22P02');
}

// ---- per transport --------------------------------------------------------------------------------

const elemOf = (type: PgType) => type.slice(0, -2) as PgScalar;

/** Direct path: the text parameter through the encoding check (NUL → 22021) and the input function. */
export function convertDirect(type: PgType, v: V): Converted {
  if (v.k === 'omit') throw new Error('omit is not sent');
  if (v.k === 'null') return ok(null);
  if (hasNul(v, 'direct')) return bad('22021');
  if (type.endsWith('[]')) {
    const elem = elemOf(type);
    if (v.k === 'arr') return arrayFrom(v, elem, scalarText);
    if (v.k === 'lit') return arrayFrom(v.arr, elem, scalarText);
    return arrayInJunk(directText(v) as string);
  }
  return scalarIn(type as PgScalar, directText(v) as string);
}

/** The text json_to_record gives a scalar column: a string's content, or the JSON text of anything else. */
function jsonScalarText(v: V): string | undefined {
  if (v.k === 'str') return v.s;
  if (v.k === 'lit') return arrayLiteral(v.arr);
  if (v.k === 'num' && !Number.isFinite(v.n)) return undefined; // JSON null
  return jsonText(v);
}

/** What jsonb a JSON value becomes (a string stays a jsonb string: it is not parsed). */
function jsonbOf(v: V): unknown {
  return JSON.parse(jsonText(v));
}

/** JSON path: json_to_record() for one column (the body-wide \u0000 check is done by the caller). */
export function convertJson(type: PgType, v: V): Converted {
  if (v.k === 'omit') throw new Error('omit is not sent');
  if (v.k === 'null' || (v.k === 'num' && !Number.isFinite(v.n))) return ok(null);
  if (type === 'jsonb') return ok({ jsonb: jsonbOf(v) });
  if (type.endsWith('[]')) {
    const elem = elemOf(type);
    if (v.k === 'arr' && shape(v) === 'ragged' && leaves(v).some((x) => {
      const t = x.k === 'null' ? undefined : jsonScalarText(x);
      const c = t === undefined ? ok(null) : scalarIn(elem, t);
      return !('ok' in c) || !c.ok;
    })) return AMBIGUOUS; // json_to_record converts the elements in order and finds the raggedness when it meets it
    if (v.k === 'arr') return arrayFrom(v, elem, jsonScalarText);
    if (v.k === 'lit') return arrayFrom(v.arr, elem, scalarText);
    if (v.k === 'str') return arrayInJunk(v.s);
    return bad('22P02'); // "expected JSON array"
  }
  return scalarIn(type as PgScalar, jsonScalarText(v) as string);
}

/** Flattened elements of a converted array (null for a NULL array). */
export function elements(v: PgVal): PgVal[] | null {
  if (v === null) return null;
  return (v as PgArray).items;
}
