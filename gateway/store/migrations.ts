/**
 * Steps from one stored shape to the next. The store runs them at start on a file older than
 * SCHEMA_VERSION (tables.ts), after it has kept that file's whole content as
 * `<name>.v<old version>.json`, and writes the result as a new snapshot.
 *
 * A step changes an image in place: add a table (`image.tables.set('things', new Map())`), fill
 * a new required field, rename one. It runs on trusted data of the version it names; the full
 * shape check runs after the last step.
 */
import type { StoreImage } from './store-image.js';

export interface Migration {
  /** The version this step reads; it leaves the image at `from + 1`. */
  from: number;
  /** What it does, for the log. */
  description: string;
  migrate(image: StoreImage): void;
}

/** The usual step for a new table: files written before it existed get it empty. */
export const addTables = (from: number, ...names: string[]): Migration => ({
  from,
  description: `add the tables ${names.join(', ')}`,
  migrate: (image) => {
    for (const name of names) if (!image.tables.has(name)) image.tables.set(name, new Map());
  },
});

export const MIGRATIONS: readonly Migration[] = [
  // Version 2: device event timelines.
  addTables(1, 'deviceEvents'),
];
