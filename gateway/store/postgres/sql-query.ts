/**
 * The store contract's queries (Where, FindOptions) as SQL, with the meaning query.ts gives them
 * in memory: a field absent from a record is NULL; `in` and the ranges never match NULL, `ne` and
 * `notIn` do; NULLs sort last ascending and first descending; ties go to the id. Field names come
 * from code, and are checked against the table's columns all the same; values are parameters.
 */
import { type RawBuilder, sql } from 'kysely';
import { TetherError } from '../../../shared/errors.js';
import { checkOptions, fieldOf, fieldTests, isCondition, orderKeys } from '../query.js';
import type { Condition, FindOptions, Scalar, Where } from '../store.js';
import { COLUMNS } from './schema.js';

type Sql = RawBuilder<unknown>;

const TRUE = sql`TRUE`;
const FALSE = sql`FALSE`;

function column(table: string, field: string): Sql {
  // own-key: a table name of the store's own schema
  if (field !== 'id' && !Object.hasOwn(COLUMNS[table] ?? {}, field)) {
    throw new TetherError('INTERNAL', `The ${table} table has no queryable field ${field}.`);
  }
  return sql.ref(field);
}

const and = (parts: Sql[]): Sql => (parts.length === 0 ? TRUE : sql`(${sql.join(parts, sql` AND `)})`);
const or = (parts: Sql[]): Sql => (parts.length === 0 ? FALSE : sql`(${sql.join(parts, sql` OR `)})`);

function conditionSql(col: Sql, test: unknown): Sql[] {
  if (!isCondition(test)) return [test === null ? sql`${col} IS NULL` : sql`${col} = ${test}`];
  const c = test as Condition<Scalar>;
  const out: Sql[] = [];
  if (c.in !== undefined) {
    const values = c.in.filter((v) => v !== null);
    out.push(values.length === 0 ? FALSE : sql`${col} = ANY(${values})`);
  }
  if (c.notIn !== undefined) {
    const values = c.notIn.filter((v) => v !== null);
    if (values.length > 0) out.push(sql`(${col} IS NULL OR NOT (${col} = ANY(${values})))`);
  }
  if (Object.hasOwn(c, 'ne'))
    out.push(c.ne == null ? sql`${col} IS NOT NULL` : sql`${col} IS DISTINCT FROM ${c.ne}`);
  if (c.gt !== undefined) out.push(sql`${col} > ${c.gt}`);
  if (c.gte !== undefined) out.push(sql`${col} >= ${c.gte}`);
  if (c.lt !== undefined) out.push(sql`${col} < ${c.lt}`);
  if (c.lte !== undefined) out.push(sql`${col} <= ${c.lte}`);
  return out;
}

export function whereSql<T>(table: string, where: Where<T> | undefined): Sql {
  if (!where) return TRUE;
  const parts: Sql[] = [];
  for (const [field, test] of fieldTests(where)) parts.push(...conditionSql(column(table, field), test));
  const anyOf = (where as { anyOf?: ReadonlyArray<Where<T>> }).anyOf;
  if (anyOf) parts.push(or(anyOf.map((branch) => whereSql(table, branch))));
  return and(parts);
}

export function orderSql<T>(table: string, orderBy: FindOptions<T>['orderBy']): Sql {
  return sql.join(
    orderKeys(orderBy).map(({ field, direction }) =>
      direction === 'desc' ? sql`${column(table, field)} DESC` : sql`${column(table, field)} ASC`,
    ),
  );
}

/**
 * Rows after `after` in the query's order: at the first key where they differ, the row comes
 * later. With NULLs last ascending (first descending), "later than NULL" ascending is nothing,
 * and descending every non-NULL value.
 */
export function afterSql<T>(table: string, options: FindOptions<T> | undefined): Sql {
  const after = options?.after;
  if (!after) return TRUE;
  const keys = orderKeys(options?.orderBy);
  const branches: Sql[] = [];
  const equalSoFar: Sql[] = [];
  for (const { field, direction } of keys) {
    const col = column(table, field);
    const value = fieldOf(after, field);
    const later =
      direction === 'asc'
        ? value === null
          ? FALSE
          : sql`(${col} > ${value} OR ${col} IS NULL)`
        : value === null
          ? sql`${col} IS NOT NULL`
          : sql`${col} < ${value}`;
    branches.push(and([...equalSoFar, later]));
    equalSoFar.push(value === null ? sql`${col} IS NULL` : sql`${col} = ${value}`);
  }
  return or(branches);
}

/** ORDER BY, LIMIT and OFFSET of a page; the options checked as the embedded store checks them. */
export function pageSql<T>(table: string, options: FindOptions<T> | undefined): Sql {
  checkOptions(options);
  const limit = options?.limit === undefined ? sql`` : sql` LIMIT ${options.limit}`;
  const offset = options?.offset ? sql` OFFSET ${options.offset}` : sql``;
  return sql`ORDER BY ${orderSql(table, options?.orderBy)}${limit}${offset}`;
}
