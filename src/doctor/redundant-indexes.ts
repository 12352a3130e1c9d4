// Which indexes another index of the same table makes unnecessary. Pure: it compares the catalog
// facts that checks.ts reads, so the rules are unit-tested without a database.
//
// Two indexes are compared only when they are on the same table, use the same access method and
// have the same predicate (a partial index is smaller and cheaper than a full one, so a full index
// does not make it redundant). Key columns match when the column or expression, the operator
// class, the collation and the DESC/NULLS FIRST flags all match.
//
// Index A is reported when its key equals B's key or is a prefix of it:
//   - a prefix only for btree, the one method whose leading columns serve a lookup on their own;
//   - a non-unique A is redundant whatever B is: B serves every lookup A serves;
//   - a unique A is reported only when B enforces the same uniqueness, that is B is unique on the
//     very same key (an exact duplicate, same NULLS NOT DISTINCT). When uniqueness differs — A
//     unique on (id) and B unique on (id, machine_id), or B not unique at all — A enforces a rule
//     that B cannot, so A stays, however well B serves the lookups. Such a B (unique on a key that
//     merely contains a unique A's key) is not reported either: it is usually the target of a
//     composite foreign key, which needs a unique index on exactly its columns.
//   - of two indexes that duplicate each other, one is reported: the one less worth keeping
//     (a primary key beats a constraint, a constraint beats an index that foreign keys use, that
//     beats a plain index; then the one whose INCLUDE columns the other also has goes; then the
//     newer one goes).
// INCLUDE columns do not rescue an index: `(id) include (a, b)` next to the primary key on (id)
// is the old controller's mistake, two indexes maintained on every write where one would do; the
// reason says to fold the INCLUDE columns into the index that stays if index-only scans need them.
import type { IndexInfo, RedundantIndexFinding } from './types.ts';

interface Edge {
  index: IndexInfo;
  by: IndexInfo;
  kind: 'duplicate' | 'redundant';
}

function keyColumnsEqual(a: IndexInfo, b: IndexInfo, i: number): boolean {
  return a.keys[i] === b.keys[i] && a.opclasses[i] === b.opclasses[i]
    && a.collations[i] === b.collations[i] && a.options[i] === b.options[i];
}

/** True when a's key columns are b's first columns (or all of them). */
function isKeyPrefix(a: IndexInfo, b: IndexInfo): boolean {
  if (a.keys.length > b.keys.length) return false;
  for (let i = 0; i < a.keys.length; i++) if (!keyColumnsEqual(a, b, i)) return false;
  return true;
}

const sameList = (x: string[], y: string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
const isSubset = (x: string[], y: string[]) => x.every((v) => y.includes(v));

/** How much an index is worth keeping when it duplicates another: higher stays. */
function keepRank(i: IndexInfo): number {
  if (i.primary) return 3;
  if (i.constraint) return 2;
  if (i.referencedBy.length > 0) return 1;
  return 0;
}

/** Of two indexes with the same key and the same uniqueness, true when `a` is the one to drop. */
function dropsBefore(a: IndexInfo, b: IndexInfo): boolean {
  if (keepRank(a) !== keepRank(b)) return keepRank(a) < keepRank(b);
  const aInB = isSubset(a.include, b.include);
  const bInA = isSubset(b.include, a.include);
  if (aInB !== bInA) return aInB;
  return a.oid > b.oid;
}

/** The edge "a is made unnecessary by b", or null. */
function compare(a: IndexInfo, b: IndexInfo): Edge | null {
  if (a.oid === b.oid || a.schema !== b.schema || a.table !== b.table) return null;
  if (a.partitionOf) return null; // judged through the partitioned table's index
  if (a.method !== b.method || a.predicate !== b.predicate) return null;
  if (!isKeyPrefix(a, b)) return null;
  const sameKey = a.keys.length === b.keys.length;
  if (!sameKey && a.method !== 'btree') return null;

  if (a.unique) {
    // Uniqueness differs (b not unique, unique on more columns, or nulls treated differently):
    // a enforces what b cannot, so a is never redundant.
    if (!sameKey || !b.unique || a.nullsNotDistinct !== b.nullsNotDistinct) return null;
  }
  if (sameKey && a.unique === b.unique && (!a.unique || a.nullsNotDistinct === b.nullsNotDistinct)) {
    // Same key and the same uniqueness: they duplicate each other; report only one of the two.
    if (!dropsBefore(a, b)) return null;
    const identical = sameList(a.include, b.include);
    return { index: a, by: b, kind: identical ? 'duplicate' : 'redundant' };
  }
  return { index: a, by: b, kind: 'redundant' };
}


function reasonFor(e: Edge): string {
  const { index: a, by: b } = e;
  let text: string;
  if (e.kind === 'duplicate') text = `same definition as ${b.name}`;
  else if (a.keys.length === b.keys.length) {
    text = b.unique && !a.unique
      ? `same key as the ${b.primary ? 'primary key' : 'unique index'} ${b.name}, which serves the same lookups`
      : `same key as ${b.name}`;
  } else {
    text = `its key (${a.keys.join(', ')}) is a prefix of ${b.name} (${b.keys.join(', ')}), which serves the same lookups`;
  }
  const extra = a.include.filter((c) => !b.include.includes(c) && !b.keys.includes(c));
  if (extra.length > 0) {
    text += `; its INCLUDE columns (${extra.join(', ')}) only add index-only scans: add them to ${b.name} if those matter`;
  }
  return text;
}

function fixFor(a: IndexInfo): string {
  let fix: string;
  const q = a.quoted;
  if (a.constraint) fix = `alter table ${q.table} drop constraint ${q.constraint};`;
  // `drop index concurrently` is refused on the index of a partitioned table.
  else if (a.onPartitionedTable) fix = `drop index ${q.index};`;
  else fix = `drop index concurrently ${q.index};`;
  if (a.referencedBy.length > 0) fix = `-- first drop or re-point the foreign keys ${a.referencedBy.join(', ')}\n${fix}`;
  return fix;
}

/**
 * The indexes that another index of the same table makes unnecessary, each reported once with
 * the index that covers it (preferring one that is not itself reported).
 */
export function findRedundantIndexes(indexes: IndexInfo[]): RedundantIndexFinding[] {
  const edges: Edge[] = [];
  for (const a of indexes) for (const b of indexes) {
    const e = compare(a, b);
    if (e) edges.push(e);
  }
  const reported = new Set(edges.map((e) => e.index.oid));
  // The coverer to name: one that stays, then an exact duplicate, then the one with the fewest
  // key columns (the primary key on (id) rather than a unique (id, machine_id)).
  const score = (e: Edge) => [reported.has(e.by.oid) ? 1 : 0, e.kind === 'duplicate' ? 0 : 1, e.by.keys.length];
  const preferred = (x: Edge, y: Edge) => {
    const [sx, sy] = [score(x), score(y)];
    const i = sx.findIndex((v, k) => v !== sy[k]);
    return i >= 0 && sx[i] < sy[i];
  };
  const byIndex = new Map<number, Edge>();
  for (const e of edges) {
    const current = byIndex.get(e.index.oid);
    if (!current || preferred(e, current)) byIndex.set(e.index.oid, e);
  }
  return [...byIndex.values()]
    .sort((x, y) => x.index.schema.localeCompare(y.index.schema) || x.index.table.localeCompare(y.index.table)
      || x.index.name.localeCompare(y.index.name))
    .map((e) => ({
      schema: e.index.schema,
      table: e.index.table,
      index: e.index.name,
      definition: e.index.definition,
      sizeBytes: e.index.sizeBytes,
      kind: e.kind,
      coveredBy: e.by.name,
      coveredByDefinition: e.by.definition,
      reason: reasonFor(e),
      fix: fixFor(e.index),
    }));
}
