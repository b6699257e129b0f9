/**
 * QoS 0 downlinks, encoded, wait here for the end of the event loop's turn and are then written
 * together, each to its own connection. One write a message either way, but on loopback (and on
 * any host where the devices' side runs on the same cores) a write that wakes a sleeping reader
 * costs the writer far more than one that finds it awake: written as each command is handled,
 * between the HTTP work, every downlink woke its reader, and its write syscall cost twice as much
 * CPU as the same writes made back to back (S2 profiles, bench/RESULTS.md).
 */
import type { Writable } from 'node:stream';
import type { Client } from 'aedes';

interface Letter {
  client: Client;
  packet: Buffer;
  written: (() => void) | undefined;
}

/**
 * A connection holding more than this, written by the gateway but not yet taken by the device
 * (beyond what the kernel's socket buffers hold), belongs to a device that does not read: its
 * downlinks would pile up in this process without bound. Hundreds of commands' worth.
 */
export const MAX_UNREAD_DOWNLINK_BYTES = 1 << 20;

export class DownlinkOutbox {
  #letters: Letter[] = [];
  #scheduled = false;
  readonly #flush = () => this.flush();

  /**
   * `onStalled`: a device that does not read (MAX_UNREAD_DOWNLINK_BYTES); its packet is dropped,
   * and the caller closes the connection.
   */
  constructor(private readonly onStalled: (client: Client, unreadBytes: number) => void) {}

  /**
   * Writes `packet` to the client's connection at the end of this turn, after every packet added
   * before it; `written` is called then (also when the connection has closed meanwhile and the
   * packet is dropped, as it would be in flight).
   */
  add(client: Client, packet: Buffer, written?: () => void): void {
    this.#letters.push({ client, packet, written });
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }

  /** Writes everything added so far, in the order it was added. */
  flush(): void {
    this.#scheduled = false;
    const letters = this.#letters;
    this.#letters = [];
    for (const { client, packet, written } of letters) {
      const conn = client.conn as unknown as Writable;
      if (!client.closed && !conn.destroyed && conn.writable) {
        if (conn.writableLength <= MAX_UNREAD_DOWNLINK_BYTES) conn.write(packet);
        else this.onStalled(client, conn.writableLength);
      }
      written?.();
    }
  }
}
