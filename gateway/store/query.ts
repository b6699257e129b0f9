/**
 * The store contract's queries (Where, FindOptions) evaluated over rows in memory: what the
 * embedded store answers with, after its indexes have narrowed the candidates. PostgreSQL answers
 * the same queries in SQL (postgres/sql-query.ts); the contract suite holds both to one meaning.
 */
import { TetherError } from '../../shared/errors.js';
import type { Condition, FindOptions, OrderBy, Scalar, Where } from './store.js';

type AnyRow = { id: string };
type AnyWhere = Record<string, unknown> & { anyOf?: readonly AnyWhere[] };

/** A field's value as a query sees it: absent is null. Field names come from code, never from outside. */
export const fieldOf = (row: object, field: string): Scalar =>
  Object.hasOwn(row, field)
    ? // own-key: checked by Object.hasOwn just before
      ((row as Record<string, Scalar | undefined>)[field] ?? null)
    : null;

export const isCondition = (test: unknown): test is Condition<Scalar> =>
  typeof test === 'object' && test !== null && !Array.isArray(test);

/** The field conditions of a filter, anyOf aside. */
export function fieldTests(where: object): Array<[string, unknown]> {
  return Object.entries(where).filter(([field, test]) => field !== 'anyOf' && test !== undefined);
}

/** Orders two non-null values of one field: numbers numerically, text by UTF-16 code unit. */
function compareValues(a: Scalar, b: Scalar): number {
  if (a === b) return 0;
  return (a as string | number) < (b as string | number) ? -1 : 1;
}

function testField(value: Scalar, test: unknown): boolean {
  if (!isCondition(test)) return value === (test ?? null);
  const c = test;
  if (c.in !== undefined && (value === null || !c.in.includes(value))) return false;
  if (c.notIn !== undefined && value !== null && c.notIn.includes(value)) return false;
  if (Object.hasOwn(c, 'ne') && value === (c.ne ?? null)) return false;
  if (c.gt !== undefined && (value === null || compareValues(value, c.gt) <= 0)) return false;
  if (c.gte !== undefined && (value === null || compareValues(value, c.gte) < 0)) return false;
  if (c.lt !== undefined && (value === null || compareValues(value, c.lt) >= 0)) return false;
  if (c.lte !== undefined && (value === null || compareValues(value, c.lte) > 0)) return false;
  return true;
}

export function matches<T extends object>(row: T, where: Where<T> | undefined): boolean {
  if (!where) return true;
  const w = where as AnyWhere;
  for (const [field, test] of fieldTests(w)) if (!testField(fieldOf(row, field), test)) return false;
  if (w.anyOf && !w.anyOf.some((branch) => matches(row, branch as Where<T>))) return false;
  return true;
}

/** The keys a query orders by, the id last (in the last key's direction): a total order. */
export function orderKeys<T>(
  orderBy: FindOptions<T>['orderBy'],
): Array<{ field: string; direction: 'asc' | 'desc' }> {
  const keys = (orderBy === undefined ? [] : Array.isArray(orderBy) ? orderBy : [orderBy]) as Array<
    OrderBy<T>
  >;
  const out = keys
    .filter((k) => k.field !== 'id')
    .map((k) => ({ field: k.field as string, direction: k.direction ?? ('asc' as const) }));
  const idKey = keys.find((k) => k.field === 'id');
  out.push({ field: 'id', direction: idKey?.direction ?? out.at(-1)?.direction ?? 'asc' });
  return out;
}

/** Compares rows in the query's order (nulls last ascending, first descending, as PostgreSQL). */
export function comparator<T extends AnyRow>(orderBy: FindOptions<T>['orderBy']): (a: T, b: T) => number {
  const keys = orderKeys(orderBy);
  return (a, b) => {
    for (const { field, direction } of keys) {
      const sign = direction === 'desc' ? -1 : 1;
      const x = fieldOf(a, field);
      const y = fieldOf(b, field);
      if (x === y) continue;
      if (x === null) return sign;
      if (y === null) return -sign;
      const c = compareValues(x, y);
      if (c !== 0) return sign * c;
    }
    return 0;
  };
}

/** Refuses a malformed page request: a programming error, said plainly. */
export function checkOptions<T>(options: FindOptions<T> | undefined): void {
  for (const key of ['limit', 'offset'] as const) {
    const n = options?.[key];
    if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) {
      throw new TetherError(
        'INTERNAL',
        `A store query's ${key} must be a whole number ≥ 0, not ${String(n)}.`,
      );
    }
  }
  if (options?.after && typeof options.after.id !== 'string') {
    throw new TetherError('INTERNAL', 'A store query continues after a row: give its id.');
  }
}

const BOUNDED_INSERTION_MAX = 512;

/**
 * One page of `candidates` (rows that may match): filtered, after the keyset, ordered, offset and
 * limited. A small page of a large table keeps only the best `offset + limit` rows as it goes
 * (a bounded insertion), so it costs one comparison per row, not a sort of the whole table.
 */
export function selectPage<T extends AnyRow>(
  candidates: Iterable<T>,
  where: Where<T> | undefined,
  options: FindOptions<T> | undefined,
): T[] {
  checkOptions(options);
  const compare = comparator(options?.orderBy);
  const after = options?.after;
  const offset = options?.offset ?? 0;
  const wanted = options?.limit === undefined ? Number.POSITIVE_INFINITY : offset + options.limit;
  if (wanted === 0) return [];
  // Past a few hundred rows, shifting the kept list on each insertion costs more than a sort.
  const keep = wanted > BOUNDED_INSERTION_MAX ? Number.POSITIVE_INFINITY : wanted;
  const best: T[] = [];
  for (const row of candidates) {
    if (!matches(row, where)) continue;
    if (after && compare(row, after as unknown as T) <= 0) continue;
    if (best.length >= keep) {
      if (compare(row, best[best.length - 1]!) >= 0) continue;
      best.pop();
    }
    if (keep === Number.POSITIVE_INFINITY) {
      best.push(row);
      continue;
    }
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(best[mid]!, row) <= 0) lo = mid + 1;
      else hi = mid;
    }
    best.splice(lo, 0, row);
  }
  if (keep === Number.POSITIVE_INFINITY) best.sort(compare);
  return offset > 0 || best.length > wanted ? best.slice(offset, wanted) : best;
}
