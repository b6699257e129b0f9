/**
 * SoftAP transport, companion side: one HTTP POST per endpoint to http://host:port/<endpoint>,
 * raw protobuf in the body, keeping the session cookie the device sets — exactly as esp_prov's
 * transport_http.py (Content-type application/x-www-form-urlencoded, Accept text/plain, one
 * keep-alive connection). The device is at 192.168.4.1:80 on a real SoftAP.
 */
import { Agent, request as httpRequest } from 'node:http';
import { TetherError } from '../../shared/errors.js';
import type {
  DiscoveredDevice,
  DiscoverOptions,
  ProvisioningLink,
  ProvisioningTransport,
} from './transport.js';

export const SOFTAP_DEFAULT_ADDRESS = '192.168.4.1:80';

export interface SoftApHttpLinkOptions {
  /** Per request. Default 30 s (a blocking Wi-Fi scan on the device takes a few seconds). */
  timeoutMs?: number;
  /** Largest answer accepted. Default 64 KiB. */
  maxResponseBytes?: number;
}

/** Parse "host:port" (IPv6 as "[::1]:port"); the port defaults to 80. */
export function parseHostPort(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(address.trim());
  const port = Number(match?.[3] ?? 80);
  const host = match?.[1] ?? match?.[2];
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TetherError('VALIDATION_FAILED', `"${address}" is not a host:port address.`, {
      details: { address },
    });
  }
  return { host, port };
}

export class SoftApHttpLink implements ProvisioningLink {
  readonly kind = 'softap' as const;
  readonly #host: string;
  readonly #port: number;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1 });
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;
  #cookie: string | undefined;
  #closed = false;

  constructor(address: string, options: SoftApHttpLinkOptions = {}) {
    const { host, port } = parseHostPort(address);
    this.#host = host;
    this.#port = port;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxResponseBytes = options.maxResponseBytes ?? 64 * 1024;
  }

  exchange(endpoint: string, body: Uint8Array): Promise<Uint8Array> {
    if (this.#closed)
      return Promise.reject(new TetherError('DEVICE_UNREACHABLE', 'The link to the device is closed.'));
    const headers: Record<string, string | number> = {
      'Content-type': 'application/x-www-form-urlencoded',
      Accept: 'text/plain',
      'Content-Length': body.length,
    };
    if (this.#cookie) headers.Cookie = this.#cookie;
    const where = `${this.#host}:${this.#port}`;
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: this.#host,
          port: this.#port,
          method: 'POST',
          path: `/${endpoint}`,
          headers,
          agent: this.#agent,
          timeout: this.#timeoutMs,
        },
        (res) => {
          // transport_http.py: any Set-Cookie replaces the cookie sent from then on.
          const setCookie = res.headers['set-cookie']?.[0];
          if (setCookie) this.#cookie = setCookie.split(';')[0]!.trim();
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.#maxResponseBytes) {
              req.destroy();
              reject(new TetherError('PROTOCOL_ERROR', `The device's answer on ${endpoint} is too large.`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', (error) => reject(unreachable(where, endpoint, error)));
          res.on('end', () => {
            if (res.statusCode !== 200) {
              reject(
                new TetherError(
                  'PROTOCOL_ERROR',
                  `The device refused the request on ${endpoint} (HTTP ${res.statusCode}).`,
                  { details: { endpoint, httpStatus: res.statusCode } },
                ),
              );
              return;
            }
            resolve(new Uint8Array(Buffer.concat(chunks)));
          });
        },
      );
      req.on('timeout', () => {
        req.destroy();
        reject(
          new TetherError('TIMEOUT', `The device at ${where} did not answer on ${endpoint} in time.`, {
            details: { endpoint, timeoutMs: this.#timeoutMs },
          }),
        );
      });
      req.on('error', (error) => reject(unreachable(where, endpoint, error)));
      req.end(body);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#agent.destroy();
  }
}

function unreachable(where: string, endpoint: string, cause: unknown): TetherError {
  return new TetherError(
    'DEVICE_UNREACHABLE',
    `Lost the connection to the device at ${where} (${endpoint}). Check that this computer is still on the device's Wi-Fi hotspot.`,
    { cause, details: { endpoint } },
  );
}

export interface SoftApHttpTransportOptions extends SoftApHttpLinkOptions {
  /**
   * Finds device hotspots. Default: scan with node-wifi (loaded lazily; needs NetworkManager on
   * Linux). Joining the hotspot is the flow's job; the address is the device's HTTP server.
   */
  scan?: (options: DiscoverOptions) => Promise<DiscoveredDevice[]>;
  deviceAddress?: string;
}

export class SoftApHttpTransport implements ProvisioningTransport {
  readonly kind = 'softap' as const;
  readonly #options: SoftApHttpTransportOptions;

  constructor(options: SoftApHttpTransportOptions = {}) {
    this.#options = options;
  }

  discover(options: DiscoverOptions): Promise<DiscoveredDevice[]> {
    return (this.#options.scan ?? ((o) => scanHotspots(o, this.#options.deviceAddress)))(options);
  }

  async connect(address: string): Promise<ProvisioningLink> {
    return new SoftApHttpLink(address, this.#options);
  }
}

interface NodeWifiNetwork {
  ssid: string;
  quality?: number;
  signal_level?: number;
}

async function scanHotspots(
  options: DiscoverOptions,
  address = SOFTAP_DEFAULT_ADDRESS,
): Promise<DiscoveredDevice[]> {
  const moduleName = 'node-wifi';
  let wifi: { init(o: { iface: null }): void; scan(): Promise<NodeWifiNetwork[]> };
  try {
    const loaded = (await import(moduleName)) as { default?: typeof wifi } & typeof wifi;
    wifi = loaded.default ?? loaded;
    wifi.init({ iface: null });
  } catch (error) {
    throw new TetherError(
      'NO_WIFI_TOOLS',
      'Wi-Fi scanning is not available (node-wifi could not be loaded).',
      {
        cause: error,
      },
    );
  }
  let networks: NodeWifiNetwork[];
  try {
    networks = await wifi.scan();
  } catch (error) {
    throw new TetherError(
      'NO_WIFI_TOOLS',
      'Could not scan for device hotspots: on Linux this needs NetworkManager (nmcli). Join the hotspot by hand and connect to 192.168.4.1:80.',
      { cause: error },
    );
  }
  return networks
    .filter((n) => n.ssid && (!options.namePrefix || n.ssid.startsWith(options.namePrefix)))
    .map((n) => {
      const found: DiscoveredDevice = { name: n.ssid, transport: 'softap', address };
      if (typeof n.signal_level === 'number') found.rssi = n.signal_level;
      return found;
    });
}
