/** Walking a large selection a page at a time, so no single query holds the event loop for long. */
import type { Repository, Where } from './store.js';

/** Every record that matches, in pages of `size` in id order (keyset: each page starts after the last). */
export async function* pages<T extends { id: string }>(
  repo: Pick<Repository<T>, 'find'>,
  where: Where<T>,
  size = 1000,
): AsyncGenerator<T[]> {
  let after: T | undefined;
  for (;;) {
    const page = await repo.find(where, { limit: size, ...(after ? { after } : {}) });
    if (page.length > 0) yield page;
    if (page.length < size) return;
    after = page[page.length - 1];
  }
}
