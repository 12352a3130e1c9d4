// Hostile argument values for each PostgreSQL type, as fast-check arbitraries of `V` (values.ts).
// Every slot also receives values of the wrong kind: strings where numbers belong, numbers where
// uuids belong, arrays and objects where scalars belong, SQL fragments, NUL and unicode anywhere.
import fc from 'fast-check';
import { arr, bool, lit, nul, num, obj, omit, raw, str, type V } from './values.ts';

/** A value resolved against the database at run time (the current version, a running process ...). */
export interface Ref { k: 'ref'; ref: string }
export type Arg = V | Ref;
export const ref = (name: string): Ref => ({ k: 'ref', ref: name });

export const SQL_FRAGMENTS = [
  "'; drop table machines; --", '1 or 1=1', "' or '1'='1", "1; select pg_sleep(10)", '"', "'", "''", '\\', '\\\\',
  "\\'", '$$', '$1', '%s', '%n', 'null', 'NULL', 'undefined', '{}', '[]', '()', ';', '--', '/*', '*/',
  'select 1', 'a\u0000b', '\u0000', '{NULL}', '{"a":1}', ')); drop table machines; --', '\u202e\u0000x',
];

/** Text nobody should have to handle: SQL, control characters (NUL too), any unicode, long runs. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SQL_FRAGMENTS) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('x', 'é', '😀', '\u0301', "'", '\\'), fc.integer({ min: 190, max: 1100 })).map(([c, n]) => c.repeat(n)) },
);

export const strV = hostileText.map(str);

/** Any JS number: NaN, ±Infinity, -0, the extremes, and ordinary in-range values. */
export const anyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 1, -1, 0.5, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER, 2 ** 31, -(2 ** 31) - 1, 2 ** 63, 1e21),
  fc.integer({ min: -10, max: 500 }),
  fc.double({ min: -10, max: 1000, noNaN: true }),
);

/** Number literals only a hand-made JSON body (or text) can carry. */
export const rawNumber = fc.constantFrom('1e400', '-1e400', '1e-400', '-0', '123456789012345678901234567890', '0.0000001e-320', '5e-324', '-2.5E+3');

/** Numbers written as strings, the way a form field or a CSV would send them. */
export const numericText = fc.constantFrom('12.5', ' 7 ', '\t-3\n', 'NaN', 'nan', 'Infinity', '-Infinity', 'inf', '-inf', '+inf',
  '1e5', '.5', '5.', '-.5e-3', '', ' ', '1,5', '1_000', '١٢٣', '1e', '--1', '1 2', '0', '-0', '2147483648', '9223372036854775808', 'true');

/** Values of a kind that does not fit the slot at all. */
export const wrongKind: fc.Arbitrary<V> = fc.oneof(
  anyNumber.map(num),
  rawNumber.map(raw),
  strV,
  fc.boolean().map(bool),
  fc.array(anyNumber.map(num), { maxLength: 3 }).map(arr),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { maxKeys: 3 }).map(obj),
);

/** A uuid slot: ids that exist (from `pool`), ids that do not, case and brace variants, and junk. */
export function uuidV(pool: readonly string[]): fc.Arbitrary<V> {
  const known = fc.constantFrom(...pool);
  return fc.oneof(
    { weight: 8, arbitrary: known.map(str) },
    { weight: 2, arbitrary: fc.uuid().map(str) },
    { weight: 1, arbitrary: known.map((id) => str(id.toUpperCase())) },
    { weight: 1, arbitrary: known.map((id) => str(`{${id.replace(/-/g, '')}}`)) },
    { weight: 1, arbitrary: known.map((id) => str(` ${id}`)) },
    { weight: 1, arbitrary: fc.constant(nul) },
    { weight: 2, arbitrary: wrongKind },
  );
}

/** A float8 slot: every kind of number, numbers as strings, and junk. */
export const floatV: fc.Arbitrary<V> = fc.oneof(
  { weight: 6, arbitrary: anyNumber.map(num) },
  { weight: 2, arbitrary: rawNumber.map(raw) },
  { weight: 2, arbitrary: numericText.map(str) },
  { weight: 1, arbitrary: fc.constant(nul) },
  { weight: 1, arbitrary: wrongKind },
);

/** An integer slot (int4/int8): whole numbers in and out of range, fractions, strings. */
export function intV(small: fc.Arbitrary<number>): fc.Arbitrary<V> {
  return fc.oneof(
    { weight: 5, arbitrary: small.map(num) },
    { weight: 2, arbitrary: fc.constantFrom(0, -1, 1.5, 2 ** 31, -(2 ** 31), 2 ** 53, 1e21, NaN, -0).map(num) },
    { weight: 1, arbitrary: fc.constantFrom('9223372036854775808', '1.0', '1e3', '-0').map(raw) },
    { weight: 1, arbitrary: numericText.map(str) },
    { weight: 1, arbitrary: fc.constant(nul) },
    { weight: 1, arbitrary: wrongKind },
  );
}

export const BOOL_TEXTS = ['true', 'false', 'yes', 'no', 'on', 'off', '1', '0', 't', 'f', 'TRUE', ' y ', 'of', 'o', 'maybe', '2', '', "'; drop table machines; --"];

export const boolV: fc.Arbitrary<V> = fc.oneof(
  { weight: 4, arbitrary: fc.boolean().map(bool) },
  { weight: 2, arbitrary: fc.constantFrom(...BOOL_TEXTS).map(str) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 2, -0, NaN).map(num) },
  { weight: 1, arbitrary: fc.constant(nul) },
  { weight: 1, arbitrary: wrongKind },
);

export function enumV(labels: readonly string[]): fc.Arbitrary<V> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...labels).map(str) },
    { weight: 1, arbitrary: fc.constantFrom(...labels).map((l) => str(l.toUpperCase())) },
    { weight: 1, arbitrary: fc.constantFrom(...labels).map((l) => str(` ${l}`)) },
    { weight: 1, arbitrary: fc.constant(nul) },
    { weight: 2, arbitrary: wrongKind },
  );
}

/** A free-text slot (reason, claimed_by, error_message): unicode, SQL, NUL, very long, and non-strings. */
export const textV: fc.Arbitrary<V> = fc.oneof(
  { weight: 6, arbitrary: strV },
  { weight: 1, arbitrary: fc.constant(nul) },
  { weight: 1, arbitrary: wrongKind },
);

const jsonLeaf = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: 'binary-ascii', maxLength: 6 }),
  fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom(...SQL_FRAGMENTS));
const jsonObject = fc.dictionary(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.constantFrom(...SQL_FRAGMENTS)),
  fc.oneof(jsonLeaf, fc.array(jsonLeaf, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), jsonLeaf, { maxKeys: 2 })), { maxKeys: 5 });

/** A jsonb slot (details): objects with unicode keys and values, and JSON that is not an object. */
export const jsonbV: fc.Arbitrary<V> = fc.oneof(
  { weight: 6, arbitrary: jsonObject.map(obj) },
  { weight: 2, arbitrary: fc.constantFrom('{"a":1}', '[1,2]', 'null', '"s"', '1', '{bad', '', '{"a":"\\u0000"}', '{"é":"😀"}', "'; drop table machines; --").map(str) },
  { weight: 1, arbitrary: fc.constant(nul) },
  { weight: 1, arbitrary: wrongKind },
);

/** n deterministic pseudo-random uuids (cheap for 100 000). */
export function manyUuids(seed: number, n: number, pool: readonly string[] = []): string[] {
  const out = new Array<string>(n);
  let x = (seed >>> 0) || 1;
  const hex = () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x.toString(16).padStart(8, '0');
  };
  for (let i = 0; i < n; i++) {
    if (pool.length && i % 7 === 0) { out[i] = pool[i % pool.length]; continue; }
    const h = hex() + hex() + hex() + hex();
    out[i] = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
  return out;
}

/** arr of many ids, printed as a summary in counterexamples. */
function huge(ids: string[]): V {
  const v = arr(ids.map(str));
  Object.defineProperty(v, fc.toStringMethod, { value: () => `arr(<${ids.length} uuids: ${ids[0]}, ...>)` });
  return v;
}

/** An array of uuids: known and unknown ids, NULL elements, junk elements, 2-D, literals, huge. */
export function uuidArrayV(pool: readonly string[]): fc.Arbitrary<V> {
  const elem = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...pool).map(str) },
    { weight: 2, arbitrary: fc.uuid().map(str) },
    { weight: 1, arbitrary: fc.constant(nul) },
    { weight: 1, arbitrary: wrongKind.filter((v) => v.k !== 'arr' && v.k !== 'obj') },
  );
  const known = fc.array(fc.constantFrom(...pool).map(str), { minLength: 1, maxLength: 8 });
  return fc.oneof(
    { weight: 10, arbitrary: fc.array(elem, { maxLength: 12 }).map(arr) },
    { weight: 2, arbitrary: known.map(arr) },
    { weight: 1, arbitrary: known.map((items) => lit(items)) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...pool).map(str), { minLength: 2, maxLength: 2 }).map((row) => arr([arr(row), arr(row)])) },
    // the 10 000 limit from both sides (100 000 ids: a dedicated test in rpc-fuzz.test.ts, once per RPC)
    { weight: 1, arbitrary: fc.constantFrom(10_000, 10_001).chain((n) => fc.integer().map((s) => huge(manyUuids(s, n, pool)))) },
    { weight: 1, arbitrary: fc.constant(nul) },
    { weight: 1, arbitrary: wrongKind },
  );
}

export { arr, bool, lit, nul, num, obj, omit, raw, str };
