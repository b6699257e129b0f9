/** One raw MQTT connection on loopback for load generators (see mqtt-wire.ts for why raw). */
import { connect, type Socket } from 'node:net';
import { connectPacket, type InPacket, PacketReader, PacketType } from './mqtt-wire.js';

export interface Credentials {
  clientId: string;
  username?: string;
  password?: string;
}

export interface RawConnection {
  socket: Socket;
  /** Replaced by the user once connected: every packet after CONNACK. */
  onPacket: (p: InPacket) => void;
}

/** TCP connect, CONNECT, and resolve on CONNACK 0 (reject with the return code otherwise). */
export function connectRaw(
  port: number,
  creds: Credentials,
  timeoutMs = 30_000,
  /** A loopback source address (127.0.0.x): each has its own ephemeral ports, for > 28k connections. */
  localAddress?: string,
): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      port,
      host: '127.0.0.1',
      noDelay: true,
      ...(localAddress ? { localAddress } : {}),
    });
    const reader = new PacketReader();
    const conn: RawConnection = { socket, onPacket: () => {} };
    let connected = false;
    const timer = setTimeout(() => fail(new Error(`no CONNACK within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.on('error', (error) => {
      if (!connected) fail(error);
    });
    socket.on('close', () => {
      if (!connected) fail(new Error('closed before CONNACK'));
    });
    socket.on('data', (chunk: Buffer) =>
      reader.push(chunk, (p) => {
        if (!connected && p.type === PacketType.connack) {
          const code = p.body[1] ?? 255;
          if (code !== 0) return fail(new Error(`CONNACK return code ${code}`));
          connected = true;
          clearTimeout(timer);
          resolve(conn);
          return;
        }
        conn.onPacket(p);
      }),
    );
    socket.write(
      connectPacket({
        clientId: creds.clientId,
        ...(creds.username !== undefined ? { username: creds.username } : {}),
        ...(creds.password !== undefined ? { password: creds.password } : {}),
      }),
    );
  });
}

/** Run `task` over `items` with at most `limit` at once. */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, i: number) => Promise<void>,
) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await task(items[i]!, i);
    }
  });
  await Promise.all(lanes);
}
