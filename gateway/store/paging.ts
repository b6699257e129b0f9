/** Walking a large selection a page at a time, so no single query holds the event loop for long. */
import type { FindOptions, Repository, Where } from './store.js';

/**
 * Every record that matches, in pages of `size`, by id or in `orderBy`'s order (keyset: each page
 * starts after the last row of the one before). A row changed between pages (even so that it no
 * longer matches) makes the walk neither skip nor repeat another, as long as the fields it is
 * ordered by stay as they were (an id and a creation time never change).
 */
export async function* pages<T extends { id: string }>(
  repo: Pick<Repository<T>, 'find'>,
  where: Where<T>,
  size = 1000,
  orderBy?: FindOptions<T>['orderBy'],
): AsyncGenerator<T[]> {
  let after: T | undefined;
  for (;;) {
    const page = await repo.find(where, {
      limit: size,
      ...(orderBy ? { orderBy } : {}),
      ...(after ? { after } : {}),
    });
    if (page.length > 0) yield page;
    if (page.length < size) return;
    after = page[page.length - 1];
  }
}
