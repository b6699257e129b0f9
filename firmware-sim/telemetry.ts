/** Plausible datastream values for a simulated device: a slow random walk inside each range. */

export interface DatastreamSpec {
  name: string;
  type: 'int' | 'double' | 'string' | 'enum' | 'location';
  min?: number;
  max?: number;
  values?: string[];
}

export class TelemetryGenerator {
  readonly #state = new Map<string, number>();

  constructor(
    private readonly datastreams: readonly DatastreamSpec[],
    private readonly random: () => number,
  ) {}

  /** One value per datastream, as the text a device publishes on `ds/<name>`. */
  next(): Array<{ name: string; payload: string }> {
    return this.datastreams.map((ds) => ({ name: ds.name, payload: this.#value(ds) }));
  }

  #value(ds: DatastreamSpec): string {
    switch (ds.type) {
      case 'int':
      case 'double': {
        const min = ds.min ?? 0;
        const max = ds.max ?? 100;
        const previous = this.#state.get(ds.name) ?? min + (max - min) * this.random();
        const step = (max - min) * 0.05 * (this.random() * 2 - 1);
        const value = Math.min(max, Math.max(min, previous + step));
        this.#state.set(ds.name, value);
        return ds.type === 'int' ? String(Math.round(value)) : value.toFixed(2);
      }
      case 'enum': {
        const values = ds.values ?? [];
        return values[Math.floor(this.random() * values.length)] ?? '';
      }
      case 'location':
        // Blynk: the items of a multi-value payload are separated by NUL (longitude first).
        return `${(24 + this.random()).toFixed(5)}\0${(50 + this.random()).toFixed(5)}`;
      case 'string':
        return `status ${Math.floor(this.random() * 1000)}`;
    }
  }
}

/** mulberry32: a small seeded PRNG, so a fleet run can be repeated exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
