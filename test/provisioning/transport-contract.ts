/**
 * The contract every provisioning transport keeps, as one suite run against each implementation
 * (memory, SoftAP HTTP, and the BLE adapters): call `describeTransportContract(name, factory)`
 * from a test file. The factory serves a given EndpointHandler on its transport and opens links
 * to it; the suite supplies a recording echo device.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { EndpointHandler, ProvisioningLink } from '../../provisioning/transport/transport.js';
import { TetherError } from '../../shared/errors.js';

export interface TransportHarness {
  /** A new link (a new transport session) to the device served by this harness. */
  connect(): Promise<ProvisioningLink>;
  /** Close everything the harness opened (servers, sockets, links). */
  teardown(): Promise<void>;
}

export type TransportFactory = (device: EndpointHandler) => Promise<TransportHarness>;

/** A device that echoes requests reversed on "echo", fails on "fail", and records sessions. */
export class RecordingDevice implements EndpointHandler {
  readonly endpoints = ['echo', 'fail', 'slow'] as const;
  readonly sessions: string[] = [];
  readonly closed: string[] = [];

  async handle(endpoint: string, request: Uint8Array, sessionId: string): Promise<Uint8Array> {
    this.sessions.push(sessionId);
    if (endpoint === 'fail') throw new TetherError('VALIDATION_FAILED', 'refused on purpose');
    if (endpoint === 'slow') await new Promise((resolve) => setTimeout(resolve, 20));
    return Uint8Array.from(request).reverse();
  }

  closeSession(sessionId: string): void {
    this.closed.push(sessionId);
  }
}

const bytes = (...values: number[]) => Uint8Array.from(values);

export function describeTransportContract(name: string, factory: TransportFactory): void {
  describe(`transport contract: ${name}`, () => {
    let harness: TransportHarness | undefined;
    afterEach(async () => {
      await harness?.teardown();
      harness = undefined;
    });
    const open = async () => {
      const device = new RecordingDevice();
      harness = await factory(device);
      return { device, harness };
    };

    it('carries every byte value both ways, unchanged', async () => {
      const { harness } = await open();
      const link = await harness.connect();
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      expect(await link.exchange('echo', all)).toEqual(Uint8Array.from(all).reverse());
      expect(await link.exchange('echo', bytes(0))).toEqual(bytes(0));
    });

    it('carries a 4 KiB request (esp-idf httpd limit)', async () => {
      const { harness } = await open();
      const link = await harness.connect();
      const big = Uint8Array.from({ length: 4096 }, (_, i) => (i * 31) & 0xff);
      expect(await link.exchange('echo', big)).toEqual(Uint8Array.from(big).reverse());
    });

    it('keeps one device session for all exchanges of a link', async () => {
      const { device, harness } = await open();
      const link = await harness.connect();
      for (let i = 0; i < 5; i++) await link.exchange('echo', bytes(i + 1));
      expect(new Set(device.sessions).size).toBe(1);
    });

    it('gives a new link a new session', async () => {
      const { device, harness } = await open();
      const first = await harness.connect();
      await first.exchange('echo', bytes(1));
      await first.close();
      const second = await harness.connect();
      await second.exchange('echo', bytes(2));
      expect(device.sessions).toHaveLength(2);
      expect(device.sessions[0]).not.toBe(device.sessions[1]);
    });

    it('answers requests in order when they are sent back to back', async () => {
      const { harness } = await open();
      const link = await harness.connect();
      const answers = await Promise.all([
        link.exchange('slow', bytes(1, 2)),
        link.exchange('echo', bytes(3, 4)),
        link.exchange('slow', bytes(5, 6)),
      ]);
      expect(answers).toEqual([bytes(2, 1), bytes(4, 3), bytes(6, 5)]);
    });

    it('surfaces a device refusal as a TetherError, and the link still works', async () => {
      const { harness } = await open();
      const link = await harness.connect();
      const error = await link.exchange('fail', bytes(1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TetherError);
      expect((error as TetherError).code).toBe('PROTOCOL_ERROR');
      expect(await link.exchange('echo', bytes(7, 8))).toEqual(bytes(8, 7));
    });

    it('refuses an endpoint the device does not have with a TetherError', async () => {
      const { harness } = await open();
      const link = await harness.connect();
      await expect(link.exchange('no-such-endpoint', bytes(1))).rejects.toBeInstanceOf(TetherError);
    });

    it('refuses exchanges after close with DEVICE_UNREACHABLE', async () => {
      const { harness } = await open();
      const link = await harness.connect();
      await link.close();
      await expect(link.exchange('echo', bytes(1))).rejects.toMatchObject({ code: 'DEVICE_UNREACHABLE' });
      await link.close();
    });
  });
}
