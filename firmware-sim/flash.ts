/**
 * The simulated device's flash (NVS): a small key-value record that survives a restart. One JSON
 * file per device, replaced atomically (write to a temporary file, then rename), as a real
 * NVS commit either happens or does not.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FlashContents {
  wifi?: { ssid: string; passphrase: string };
  cloud?: { token: string; brokerUrl: string; templateId: string; provisioningSecurity?: 0 | 1 | 2 };
  /** Blynk.Edgent: config is marked valid only after the first cloud connection. */
  configValid?: boolean;
  /** Blynk.Edgent last_error (700–705), kept until the next successful configuration. */
  lastError?: number;
  /** The broker URL a `downlink/redirect` moved the device to. */
  redirectUrl?: string;
  /** Latest datastream values the device holds (what it re-publishes after a reboot). */
  values?: Record<string, string>;
  bootCount?: number;
}

export interface Flash {
  read(): Promise<FlashContents>;
  write(contents: FlashContents): Promise<void>;
  /** Factory reset: everything the user configured is gone. */
  erase(): Promise<void>;
}

export class MemoryFlash implements Flash {
  #contents: FlashContents;

  /** Optionally pre-loaded, as a device that was configured in an earlier life. */
  constructor(contents: FlashContents = {}) {
    this.#contents = structuredClone(contents);
  }

  async read(): Promise<FlashContents> {
    return structuredClone(this.#contents);
  }

  async write(contents: FlashContents): Promise<void> {
    this.#contents = structuredClone(contents);
  }

  async erase(): Promise<void> {
    this.#contents = {};
  }
}

export class FileFlash implements Flash {
  #queue: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  async read(): Promise<FlashContents> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as FlashContents;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      // A torn or foreign file reads as blank flash, as a corrupted NVS partition would.
      return {};
    }
  }

  write(contents: FlashContents): Promise<void> {
    // Serialise commits so two writes never interleave their temporary files.
    this.#queue = this.#queue.then(async () => {
      await mkdir(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(contents), { mode: 0o600 });
      await rename(tmp, this.file);
    });
    return this.#queue;
  }

  erase(): Promise<void> {
    this.#queue = this.#queue.then(() => rm(this.file, { force: true }));
    return this.#queue;
  }
}
