/**
 * The companion's side of the simulated BLE medium: scans the medium's advertisements, connects to
 * a peripheral's socket and runs each exchange as a BLE central does against esp-idf: write the
 * request to the endpoint's characteristic (long write when the MTU demands), then read the answer
 * (Read, then Read Blob while responses come back full).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { type Clock, SystemClock, type TimerHandle } from '../../shared/clock.js';
import { isTetherError, TetherError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { concatChunks, isFinalReadChunk, negotiateMtu, planWrite } from './ble-att-chunking.js';
import { mapEndpointsByUserDescription, normalizeUuid } from './ble-gatt-layout.js';
import {
  defaultSimBleMediumDir,
  isSimBleAddress,
  readAdvertisements,
  type SimBleAdvertisement,
  simBlePaths,
} from './sim-ble-medium.js';
import { AttOpcode, encodeFrame, FrameDecoder, pdu, type SimDiscoverResponse, u16 } from './sim-ble-wire.js';
import type {
  DiscoveredDevice,
  DiscoverOptions,
  ProvisioningLink,
  ProvisioningTransport,
} from './transport.js';

export interface SimBleTransportOptions {
  /** Defaults to `${os.tmpdir()}/tether-ble-medium`: the folder the peripherals advertise in. */
  mediumDir?: string;
  /** Only report and connect to peripherals offering this service (default: any). */
  serviceUuid?: string;
  /** The ATT_MTU this central offers (default 256, as noble's HCI bindings). */
  mtu?: number;
  /** Ignore peripherals heard weaker than this, in dBm. */
  minRssi?: number;
  /**
   * The longest message one characteristic carries (default 512, ATT's limit; esp-idf's Bluedroid
   * transport allows 481 with security 2). Must match the peripheral's.
   */
  maxValueLength?: number;
  /** One ATT request's deadline (default 10 s; the spec's 30 s is longer than a person waits). */
  requestTimeoutMs?: number;
  /** How often a scan rereads the medium (default 100 ms). */
  scanIntervalMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface SimBleDiscoverOptions extends DiscoverOptions {
  /** Overrides the transport's minRssi for this scan. */
  minRssi?: number;
}

/** A discovered simulated peripheral, with what its advertisement said. */
export interface SimBleDiscoveredDevice extends DiscoveredDevice {
  transport: 'ble';
  rssi: number;
  serviceUuid: string;
}

export class SimBleTransport implements ProvisioningTransport {
  readonly kind = 'ble' as const;
  readonly #options: SimBleTransportOptions;
  readonly #mediumDir: string;
  readonly #clock: Clock;

  constructor(options: SimBleTransportOptions = {}) {
    this.#options = options;
    this.#mediumDir = options.mediumDir ?? defaultSimBleMediumDir();
    this.#clock = options.clock ?? new SystemClock();
  }

  /** Scan for `timeoutMs`; every connectable peripheral heard, strongest first. */
  async discover(options: SimBleDiscoverOptions): Promise<SimBleDiscoveredDevice[]> {
    const heard = new Map<string, SimBleAdvertisement>();
    const deadline = this.#clock.now() + Math.max(0, options.timeoutMs);
    const interval = this.#options.scanIntervalMs ?? 100;
    for (;;) {
      for (const ad of await readAdvertisements(this.#mediumDir)) {
        if (this.#matches(ad, options)) heard.set(ad.address, ad);
      }
      const left = deadline - this.#clock.now();
      if (left <= 0) break;
      await this.#clock.sleep(Math.min(interval, left));
    }
    return [...heard.values()]
      .map((ad) => ({
        name: ad.name,
        transport: 'ble' as const,
        address: ad.address,
        rssi: ad.rssi,
        serviceUuid: ad.serviceUuid,
      }))
      .sort((a, b) => b.rssi - a.rssi || a.name.localeCompare(b.name));
  }

  #matches(ad: SimBleAdvertisement, options: SimBleDiscoverOptions): boolean {
    if (!ad.connectable) return false;
    if (
      this.#options.serviceUuid &&
      normalizeUuid(this.#options.serviceUuid) !== normalizeUuid(ad.serviceUuid)
    ) {
      return false;
    }
    if (options.namePrefix && !ad.name.startsWith(options.namePrefix)) return false;
    const minRssi = options.minRssi ?? this.#options.minRssi;
    return minRssi === undefined || ad.rssi >= minRssi;
  }

  /** Connect by address (aa:bb:…) or by exact advertised name. */
  async connect(addressOrName: string): Promise<SimBleLink> {
    const ads = await readAdvertisements(this.#mediumDir);
    const ad = isSimBleAddress(addressOrName)
      ? ads.find((a) => a.address === addressOrName.toLowerCase())
      : ads.find((a) => a.name === addressOrName);
    if (!ad) {
      throw new TetherError(
        'DEVICE_UNREACHABLE',
        `No device "${addressOrName}" is advertising on the simulated BLE medium. Is it powered and in provisioning mode?`,
        { details: { address: addressOrName } },
      );
    }
    const socket = await this.#open(simBlePaths(this.#mediumDir, ad.address).socket, ad);
    const link = new SimBleLink(socket, ad, this.#clock, this.#options);
    try {
      await link.setUp(this.#options.mtu ?? 256, this.#options.serviceUuid);
    } catch (error) {
      await link.close();
      // A peripheral that already serves a central drops new connections at once (esp-idf: one).
      if (isTetherError(error) && error.code === 'DEVICE_UNREACHABLE') {
        throw new TetherError(
          'DEVICE_UNREACHABLE',
          ad.connectable
            ? `"${ad.name}" dropped the connection while it was being set up; try again.`
            : `"${ad.name}" is connected to another phone or computer; disconnect that one first.`,
          { cause: error, details: { address: ad.address } },
        );
      }
      throw error;
    }
    return link;
  }

  #open(path: string, ad: SimBleAdvertisement): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = netConnect(path);
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (error) => {
        socket.destroy();
        reject(
          new TetherError(
            'DEVICE_UNREACHABLE',
            `Could not connect to "${ad.name}"; it stopped advertising.`,
            {
              cause: error,
              details: { address: ad.address },
            },
          ),
        );
      });
    });
  }
}

interface Pending {
  resolve: (response: Buffer) => void;
  reject: (error: Error) => void;
  timer: TimerHandle;
}

/** One GATT connection to a simulated peripheral. */
export class SimBleLink implements ProvisioningLink {
  readonly kind = 'ble' as const;
  readonly #socket: Socket;
  readonly #ad: SimBleAdvertisement;
  readonly #clock: Clock;
  readonly #options: SimBleTransportOptions;
  readonly #decoder = new FrameDecoder();
  readonly #handles = new Map<string, number>();
  readonly #closed: Promise<void>;
  #mtu = 23;
  #pending: Pending | undefined;
  #lost: TetherError | undefined;
  #closedByUs = false;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(socket: Socket, ad: SimBleAdvertisement, clock: Clock, options: SimBleTransportOptions) {
    this.#socket = socket;
    this.#ad = ad;
    this.#clock = clock;
    this.#options = options;
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (bytes: Buffer) => this.#onData(bytes));
    socket.on('error', () => undefined); // 'close' follows and says what matters
    socket.on('close', () => {
      if (!this.#closedByUs) {
        this.#lost ??= new TetherError('DEVICE_UNREACHABLE', `"${ad.name}" disconnected.`, {
          details: { address: ad.address },
        });
      }
      this.#failPending(this.#lost ?? this.#closedError());
    });
  }

  get address(): string {
    return this.#ad.address;
  }

  get name(): string {
    return this.#ad.name;
  }

  /** The negotiated ATT_MTU. */
  get mtu(): number {
    return this.#mtu;
  }

  get endpoints(): string[] {
    return [...this.#handles.keys()];
  }

  get connected(): boolean {
    return !this.#socket.destroyed && this.#lost === undefined && !this.#closedByUs;
  }

  /** MTU exchange, then discovery: find each endpoint by its user description. */
  async setUp(centralMtu: number, expectedService: string | undefined): Promise<void> {
    const mtuResponse = await this.#request(pdu(AttOpcode.exchangeMtuRequest, u16(centralMtu)));
    this.#expect(mtuResponse, AttOpcode.exchangeMtuResponse, 'exchange MTU');
    this.#mtu = negotiateMtu(centralMtu, mtuResponse.readUInt16LE(1));
    const discovered = await this.#request(pdu(AttOpcode.simDiscoverRequest));
    this.#expect(discovered, AttOpcode.simDiscoverResponse, 'discover services');
    const body = JSON.parse(discovered.subarray(1).toString('utf8')) as SimDiscoverResponse;
    if (expectedService && normalizeUuid(body.serviceUuid) !== normalizeUuid(expectedService)) {
      throw new TetherError('PROTOCOL_ERROR', `"${this.#ad.name}" does not offer the provisioning service.`);
    }
    const byName = mapEndpointsByUserDescription(body.characteristics);
    for (const [name, uuid] of byName) {
      const c = body.characteristics.find((x) => normalizeUuid(x.uuid) === uuid)!;
      this.#handles.set(name, c.handle);
    }
  }

  exchange(endpoint: string, request: Uint8Array): Promise<Uint8Array> {
    // ATT allows one outstanding request per bearer: exchanges queue behind each other.
    const run = this.#queue.then(
      () => this.#exchange(endpoint, request),
      () => this.#exchange(endpoint, request),
    );
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #exchange(endpoint: string, request: Uint8Array): Promise<Uint8Array> {
    const handle = this.#handles.get(endpoint);
    if (handle === undefined) {
      if (!this.connected) throw this.#lost ?? this.#closedError();
      throw new TetherError('PROTOCOL_ERROR', `"${this.#ad.name}" has no "${endpoint}" endpoint.`, {
        details: { endpoint, endpoints: this.endpoints },
      });
    }
    const plan = planWrite(request, this.#mtu, this.#options.maxValueLength);
    if (plan.kind === 'single') {
      const r = await this.#request(pdu(AttOpcode.writeRequest, u16(handle), plan.value));
      this.#expect(r, AttOpcode.writeResponse, `write ${endpoint}`);
    } else {
      for (const { offset, part } of plan.parts) {
        const r = await this.#request(pdu(AttOpcode.prepareWriteRequest, u16(handle), u16(offset), part));
        this.#expect(r, AttOpcode.prepareWriteResponse, `write ${endpoint}`);
        // Core 3.4.6.2: the response echoes the part; a mismatch means the value was corrupted.
        if (!Buffer.from(part).equals(r.subarray(5)) || r.readUInt16LE(3) !== offset) {
          await this.#request(pdu(AttOpcode.executeWriteRequest, [0]));
          throw new TetherError('PROTOCOL_ERROR', `The ${endpoint} long write was corrupted.`);
        }
      }
      const r = await this.#request(pdu(AttOpcode.executeWriteRequest, [1]));
      this.#expect(r, AttOpcode.executeWriteResponse, `write ${endpoint}`);
    }
    const chunks: Buffer[] = [];
    let first = true;
    let total = 0;
    for (;;) {
      const r = first
        ? await this.#request(pdu(AttOpcode.readRequest, u16(handle)))
        : await this.#request(pdu(AttOpcode.readBlobRequest, u16(handle), u16(total)));
      this.#expect(r, first ? AttOpcode.readResponse : AttOpcode.readBlobResponse, `read ${endpoint}`);
      const chunk = r.subarray(1);
      chunks.push(chunk);
      total += chunk.length;
      first = false;
      if (isFinalReadChunk(chunk, this.#mtu)) break;
    }
    return concatChunks(chunks);
  }

  async close(): Promise<void> {
    this.#closedByUs = true;
    this.#socket.destroy();
    await this.#closed;
  }

  #closedError(): TetherError {
    return new TetherError('DEVICE_UNREACHABLE', `The BLE link to "${this.#ad.name}" is closed.`, {
      details: { address: this.#ad.address },
    });
  }

  #request(request: Buffer): Promise<Buffer> {
    if (!this.connected) return Promise.reject(this.#lost ?? this.#closedError());
    return new Promise<Buffer>((resolve, reject) => {
      const timeoutMs = this.#options.requestTimeoutMs ?? 10_000;
      const timer = this.#clock.setTimeout(() => {
        // Core Vol 3 Part F 3.3.3: after a transaction times out the bearer is closed.
        this.#lost = new TetherError('TIMEOUT', `"${this.#ad.name}" did not answer within ${timeoutMs} ms.`, {
          details: { address: this.#ad.address, timeoutMs },
        });
        this.#failPending(this.#lost);
        this.#socket.destroy();
      }, timeoutMs);
      this.#pending = { resolve, reject, timer };
      this.#socket.write(encodeFrame(request));
    });
  }

  #onData(bytes: Buffer): void {
    let pdus: Buffer[];
    try {
      pdus = this.#decoder.push(bytes);
    } catch (error) {
      this.#lost = new TetherError('PROTOCOL_ERROR', 'The simulated BLE link carried a corrupt frame.', {
        cause: error,
      });
      this.#socket.destroy();
      return;
    }
    for (const p of pdus) {
      const pending = this.#pending;
      this.#pending = undefined;
      if (!pending) continue; // nothing asked: ignore, as a central ignores stray PDUs
      this.#clock.clearTimeout(pending.timer);
      pending.resolve(p);
    }
  }

  #failPending(error: TetherError): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (!pending) return;
    this.#clock.clearTimeout(pending.timer);
    pending.reject(error);
  }

  #expect(response: Buffer, opcode: number, step: string): void {
    if (response[0] === opcode) return;
    if (response[0] === AttOpcode.errorResponse && response.length >= 5) {
      const attError = response[4]!;
      throw new TetherError(
        'PROTOCOL_ERROR',
        `"${this.#ad.name}" refused to ${step} (ATT error 0x${attError.toString(16).padStart(2, '0')}).`,
        { details: { step, attError } },
      );
    }
    throw new TetherError('PROTOCOL_ERROR', `Unexpected answer to ${step} from "${this.#ad.name}".`, {
      details: { step, opcode: response[0] },
    });
  }
}
