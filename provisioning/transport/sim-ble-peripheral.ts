/**
 * The device side of the simulated BLE medium: a GATT server with esp-idf's provisioning layout,
 * reached over a Unix domain socket, serving an EndpointHandler. The firmware-sim creates one per
 * simulated device; it works across processes because the medium is a folder.
 *
 * Behaves as esp-idf protocomm_ble does: a write to an endpoint's characteristic runs the handler
 * and keeps its answer for the next read of that characteristic; long values go through Prepare
 * Write / Read Blob; advertising stops while a central is connected; a disconnect ends the session.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { TetherError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import {
  ATT_DEFAULT_MTU,
  ATT_MAX_VALUE_LENGTH,
  AttError,
  AttRequestError,
  negotiateMtu,
  PrepareWriteQueue,
  readChunk,
  writeValueLimit,
} from './ble-att-chunking.js';
import { ESP_PROV_EXAMPLE_SERVICE_UUID, endpointCharacteristics, normalizeUuid } from './ble-gatt-layout.js';
import {
  defaultSimBleMediumDir,
  ensureMedium,
  probeSocket,
  randomStaticAddress,
  removeAdvertisement,
  type SimBleAdvertisement,
  simBlePaths,
  writeAdvertisement,
} from './sim-ble-medium.js';
import {
  AttOpcode,
  encodeFrame,
  FrameDecoder,
  pdu,
  type SimDiscoverResponse,
  type SimGattCharacteristic,
  u16,
} from './sim-ble-wire.js';
import type { EndpointHandler } from './transport.js';

export interface SimBlePeripheralOptions {
  handler: EndpointHandler;
  /** The advertised local name (esp-idf: the service name, e.g. "PROV_1A2B3C"). */
  name: string;
  serviceUuid?: string;
  /** Defaults to `${os.tmpdir()}/tether-ble-medium`; tests pass their own folder. */
  mediumDir?: string;
  /** Defaults to a fresh random static address. */
  address?: string;
  /** What centrals "hear", in dBm (default -50). */
  rssi?: number;
  /** The largest ATT_MTU this peripheral accepts (default 256, NimBLE's preferred MTU in esp-idf). */
  mtu?: number;
  /** esp-idf provisioning serves one central at a time (default 1). */
  maxConnections?: number;
  /** The longest value a characteristic holds (default 512, ATT's limit; esp-idf Bluedroid: 481 with security 2). */
  maxValueLength?: number;
  /** Only the type is imported, so the peripheral runs in a bare child process too. */
  logger?: Logger;
}

interface Connection {
  socket: Socket;
  sessionId: string | undefined;
  mtu: number;
  decoder: FrameDecoder;
  queue: PrepareWriteQueue;
  responses: Map<number, Uint8Array>;
  work: Promise<void>;
  closed: Promise<void>;
}

const FIRST_HANDLE = 0x0010;

export class SimBlePeripheral {
  readonly #options: SimBlePeripheralOptions;
  readonly #address: string;
  readonly #mediumDir: string;
  readonly #serviceUuid: string;
  readonly #mtu: number;
  readonly #maxValueLength: number;
  readonly #maxConnections: number;
  readonly #characteristics: SimGattCharacteristic[];
  readonly #connections = new Set<Connection>();
  #rssi: number;
  #server: Server | undefined;
  #advertisement: SimBleAdvertisement | undefined;
  #sessionCounter = 0;
  #running = false;
  #adWrite: Promise<void> = Promise.resolve();

  constructor(options: SimBlePeripheralOptions) {
    this.#options = options;
    this.#address = (options.address ?? randomStaticAddress()).toLowerCase();
    this.#mediumDir = options.mediumDir ?? defaultSimBleMediumDir();
    this.#serviceUuid = normalizeUuid(options.serviceUuid ?? ESP_PROV_EXAMPLE_SERVICE_UUID);
    this.#mtu = Math.max(ATT_DEFAULT_MTU, options.mtu ?? 256);
    this.#maxValueLength = options.maxValueLength ?? ATT_MAX_VALUE_LENGTH;
    this.#maxConnections = options.maxConnections ?? 1;
    this.#rssi = options.rssi ?? -50;
    this.#characteristics = endpointCharacteristics(this.#serviceUuid, options.handler.endpoints).map(
      (c, i) => ({
        handle: FIRST_HANDLE + i * 3, // declaration, value, 0x2901: three attributes each
        uuid: c.uuid,
        userDescription: c.userDescription,
      }),
    );
  }

  get address(): string {
    return this.#address;
  }

  get name(): string {
    return this.#options.name;
  }

  /** The advertisement as last written (undefined before start and after stop). */
  get advertisement(): SimBleAdvertisement | undefined {
    return this.#advertisement;
  }

  /** Centrals connected now (after their first ATT request). */
  get connectedCentrals(): number {
    return [...this.#connections].filter((c) => c.sessionId !== undefined).length;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    await ensureMedium(this.#mediumDir);
    const { socket } = simBlePaths(this.#mediumDir, this.#address);
    if (await probeSocket(socket)) {
      throw new TetherError(
        'CONFLICT',
        `Another simulated peripheral already uses address ${this.#address}.`,
      );
    }
    await removeAdvertisement(this.#mediumDir, this.#address); // leftovers of a crashed run
    const server = createServer((s) => this.#accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.#running = true;
    await this.#advertise();
    this.#options.logger?.debug(
      { address: this.#address, name: this.name },
      'sim BLE peripheral advertising',
    );
  }

  /** Stop advertising, drop every central (their sessions end), close the socket, remove the files. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    await this.#adWrite.catch(() => undefined);
    await removeAdvertisement(this.#mediumDir, this.#address).catch(() => undefined);
    this.#advertisement = undefined;
    await this.disconnectAll();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await removeAdvertisement(this.#mediumDir, this.#address).catch(() => undefined);
  }

  /** The device drops its links (as a reset or a supervision timeout would). */
  async disconnectAll(): Promise<void> {
    const all = [...this.#connections];
    for (const c of all) c.socket.destroy();
    await Promise.all(all.map((c) => c.closed));
  }

  /** Move the device nearer or farther: the next scan hears the new RSSI. */
  async setRssi(rssi: number): Promise<void> {
    this.#rssi = rssi;
    if (this.#running) await this.#advertise();
  }

  #advertise(): Promise<void> {
    const connectable = this.connectedCentrals < this.#maxConnections;
    const ad: SimBleAdvertisement = {
      version: 1,
      address: this.#address,
      name: this.#options.name,
      serviceUuid: this.#serviceUuid,
      rssi: this.#rssi,
      mtu: this.#mtu,
      connectable,
      pid: process.pid,
      characteristics: this.#characteristics.map((c) => ({
        uuid: c.uuid,
        userDescription: c.userDescription,
      })),
      updatedAt: Date.now(),
    };
    // Serialize writes so an older state never lands after a newer one.
    this.#adWrite = this.#adWrite
      .catch(() => undefined)
      .then(async () => {
        if (!this.#running) return;
        await writeAdvertisement(this.#mediumDir, ad);
        this.#advertisement = ad;
      });
    return this.#adWrite;
  }

  #accept(socket: Socket): void {
    let resolveClosed!: () => void;
    const conn: Connection = {
      socket,
      sessionId: undefined,
      mtu: ATT_DEFAULT_MTU,
      decoder: new FrameDecoder(),
      queue: new PrepareWriteQueue(this.#maxValueLength),
      responses: new Map(),
      work: Promise.resolve(),
      closed: new Promise<void>((resolve) => {
        resolveClosed = resolve;
      }),
    };
    this.#connections.add(conn);
    socket.on('error', () => undefined); // a central vanishing is a normal disconnect
    socket.on('close', () => {
      this.#connections.delete(conn);
      if (conn.sessionId !== undefined) {
        this.#options.logger?.debug({ sessionId: conn.sessionId }, 'central disconnected');
        this.#options.handler.closeSession(conn.sessionId);
        if (this.#running) void this.#advertise().catch(() => undefined);
      }
      resolveClosed();
    });
    socket.on('data', (bytes: Buffer) => {
      let pdus: Buffer[];
      try {
        pdus = conn.decoder.push(bytes);
      } catch {
        socket.destroy();
        return;
      }
      for (const p of pdus) {
        conn.work = conn.work
          .then(() => this.#onPdu(conn, p))
          .catch(() => {
            socket.destroy();
          });
      }
    });
  }

  async #onPdu(conn: Connection, request: Buffer): Promise<void> {
    if (conn.socket.destroyed) return;
    if (conn.sessionId === undefined) {
      // The first ATT request makes this a GATT connection (a scanner's liveness probe sends none).
      // A central that just disconnected may not have been noticed yet: let pending closes land.
      if (this.connectedCentrals >= this.#maxConnections) await settleEvents();
      if (this.connectedCentrals >= this.#maxConnections || !this.#running) {
        conn.socket.destroy();
        return;
      }
      conn.sessionId = `ble:${this.#address}#${++this.#sessionCounter}`;
      this.#options.logger?.debug({ sessionId: conn.sessionId }, 'central connected');
      void this.#advertise().catch(() => undefined);
    }
    const opcode = request[0]!;
    let handle = 0;
    try {
      if (request.length > Math.max(conn.mtu, ATT_DEFAULT_MTU) && opcode !== AttOpcode.simDiscoverRequest) {
        throw new AttRequestError(AttError.invalidAttributeValueLength, 'PDU longer than the ATT_MTU.');
      }
      if (request.length >= 3) handle = request.readUInt16LE(1);
      const response = await this.#respond(conn, opcode, request);
      this.#send(conn, response);
    } catch (error) {
      const code = error instanceof AttRequestError ? error.attError : AttError.unlikelyError;
      if (!(error instanceof AttRequestError)) {
        this.#options.logger?.warn({ err: error, sessionId: conn.sessionId }, 'endpoint handler failed');
      }
      this.#send(conn, pdu(AttOpcode.errorResponse, [opcode], u16(handle), [code]));
    }
  }

  #send(conn: Connection, response: Uint8Array): void {
    if (!conn.socket.destroyed) conn.socket.write(encodeFrame(response));
  }

  #characteristic(handle: number): SimGattCharacteristic {
    const c = this.#characteristics.find((x) => x.handle === handle);
    if (!c) throw new AttRequestError(AttError.invalidHandle, `No characteristic at handle ${handle}.`);
    return c;
  }

  async #respond(conn: Connection, opcode: number, request: Buffer): Promise<Uint8Array> {
    switch (opcode) {
      case AttOpcode.exchangeMtuRequest: {
        if (request.length !== 3)
          throw new AttRequestError(AttError.invalidAttributeValueLength, 'Bad MTU request.');
        conn.mtu = negotiateMtu(request.readUInt16LE(1), this.#mtu);
        return pdu(AttOpcode.exchangeMtuResponse, u16(this.#mtu));
      }
      case AttOpcode.simDiscoverRequest: {
        const body: SimDiscoverResponse = {
          serviceUuid: this.#serviceUuid,
          characteristics: this.#characteristics,
        };
        return pdu(AttOpcode.simDiscoverResponse, Buffer.from(JSON.stringify(body)));
      }
      case AttOpcode.writeRequest: {
        const c = this.#characteristic(request.readUInt16LE(1));
        const value = request.subarray(3);
        if (value.length > writeValueLimit(conn.mtu)) {
          throw new AttRequestError(AttError.invalidAttributeValueLength, 'Write longer than ATT_MTU - 3.');
        }
        await this.#runEndpoint(conn, c, value);
        return pdu(AttOpcode.writeResponse);
      }
      case AttOpcode.prepareWriteRequest: {
        if (request.length < 5)
          throw new AttRequestError(AttError.invalidAttributeValueLength, 'Bad prepare write.');
        const c = this.#characteristic(request.readUInt16LE(1));
        conn.queue.add(c.handle, request.readUInt16LE(3), request.subarray(5));
        // The response echoes handle, offset and part so the central can verify them.
        return pdu(AttOpcode.prepareWriteResponse, request.subarray(1));
      }
      case AttOpcode.executeWriteRequest: {
        const flags = request[1] ?? 0;
        if (flags === 0) {
          conn.queue.clear();
          return pdu(AttOpcode.executeWriteResponse);
        }
        const queued = conn.queue.take();
        if (queued) await this.#runEndpoint(conn, this.#characteristic(queued.handle), queued.value);
        return pdu(AttOpcode.executeWriteResponse);
      }
      case AttOpcode.readRequest: {
        const c = this.#characteristic(request.readUInt16LE(1));
        return pdu(
          AttOpcode.readResponse,
          readChunk(conn.responses.get(c.handle) ?? new Uint8Array(0), 0, conn.mtu),
        );
      }
      case AttOpcode.readBlobRequest: {
        if (request.length < 5)
          throw new AttRequestError(AttError.invalidAttributeValueLength, 'Bad read blob.');
        const c = this.#characteristic(request.readUInt16LE(1));
        const value = conn.responses.get(c.handle) ?? new Uint8Array(0);
        return pdu(AttOpcode.readBlobResponse, readChunk(value, request.readUInt16LE(3), conn.mtu));
      }
      default:
        throw new AttRequestError(
          AttError.requestNotSupported,
          `Opcode 0x${opcode.toString(16)} not supported.`,
        );
    }
  }

  async #runEndpoint(conn: Connection, c: SimGattCharacteristic, value: Uint8Array): Promise<void> {
    const response = await this.#options.handler.handle(
      c.userDescription,
      Uint8Array.from(value),
      conn.sessionId!,
    );
    if (response.length > this.#maxValueLength) {
      throw new Error(
        `The ${c.userDescription} response is ${response.length} bytes, over ${this.#maxValueLength}.`,
      );
    }
    conn.responses.set(c.handle, response);
  }
}

async function settleEvents(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
