import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProvisioningLink, ProvisioningTransport } from '../../provisioning/transport/transport.js';
import { isTetherError } from '../../shared/errors.js';
import { EchoHandler, expectedEcho } from './echo-handler.js';

export interface LinkContractSubject {
  transport: ProvisioningTransport;
  /** What connect() takes to reach the device serving `handler`. */
  address: string;
  /** An address of the same kind where no device answers. */
  unreachableAddress: string;
  teardown(): Promise<void>;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isTetherError(error) ? error.code : `not a TetherError: ${String(error)}`;
  }
  return 'resolved';
}

/**
 * The cases every ProvisioningTransport must pass, whatever carries the bytes. Until the shared
 * suite (test/provisioning/transport-contract.ts) lands, the BLE transports run these.
 */
export function describeLinkContract(
  name: string,
  setup: (handler: EchoHandler) => Promise<LinkContractSubject>,
): void {
  describe(`${name}: link contract`, () => {
    let handler: EchoHandler;
    let subject: LinkContractSubject;
    const links: ProvisioningLink[] = [];

    beforeEach(async () => {
      handler = new EchoHandler();
      subject = await setup(handler);
    });

    afterEach(async () => {
      handler.releaseAll();
      for (const link of links.splice(0)) await link.close();
      await subject.teardown();
    });

    const open = async () => {
      const link = await subject.transport.connect(subject.address);
      links.push(link);
      return link;
    };

    it('carries a request to the named endpoint and its answer back', async () => {
      const link = await open();
      expect(link.kind).toBe(subject.transport.kind);
      for (const endpoint of ['proto-ver', 'prov-session', 'custom-data']) {
        const request = bytes(`hello ${endpoint}`);
        expect(await link.exchange(endpoint, request)).toEqual(expectedEcho(endpoint, request));
      }
    });

    it('carries empty requests and empty answers', async () => {
      const link = await open();
      expect(await link.exchange('prov-config', new Uint8Array(0))).toEqual(
        expectedEcho('prov-config', new Uint8Array(0)),
      );
      expect(await link.exchange('big', bytes('0'))).toEqual(new Uint8Array(0));
    });

    it('keeps one transport session per link, and a new one for the next link', async () => {
      const first = await open();
      await first.exchange('proto-ver', bytes('a'));
      await first.exchange('prov-session', bytes('b'));
      await first.close();
      const second = await open();
      await second.exchange('proto-ver', bytes('c'));
      const [a, b, c] = handler.requests.map((r) => r.sessionId);
      expect(a).toBe(b);
      expect(c).not.toBe(a);
      expect(handler.closedSessions).toContain(a);
    });

    it('answers concurrent exchanges on one link each with its own answer', async () => {
      const link = await open();
      const requests = Array.from({ length: 8 }, (_, i) => bytes(`request ${i}`));
      const answers = await Promise.all(requests.map((r) => link.exchange('custom-data', r)));
      expect(answers).toEqual(requests.map((r) => expectedEcho('custom-data', r)));
    });

    it('refuses an endpoint the device does not have with PROTOCOL_ERROR', async () => {
      const link = await open();
      expect(await codeOf(link.exchange('no-such-endpoint', bytes('x')))).toBe('PROTOCOL_ERROR');
      // the link still works afterwards
      expect(await link.exchange('proto-ver', bytes('x'))).toEqual(expectedEcho('proto-ver', bytes('x')));
    });

    it('reports a failing device handler as PROTOCOL_ERROR and stays usable', async () => {
      const link = await open();
      expect(await codeOf(link.exchange('fail', bytes('x')))).toBe('PROTOCOL_ERROR');
      expect(await link.exchange('proto-ver', bytes('y'))).toEqual(expectedEcho('proto-ver', bytes('y')));
    });

    it('fails with DEVICE_UNREACHABLE after close, and tells the device the session ended', async () => {
      const link = await open();
      await link.exchange('proto-ver', bytes('x'));
      const sessionId = handler.requests[0]!.sessionId;
      await link.close();
      expect(await codeOf(link.exchange('proto-ver', bytes('x')))).toBe('DEVICE_UNREACHABLE');
      await expect.poll(() => handler.closedSessions).toContain(sessionId);
    });

    it('fails to connect to an address nobody serves with DEVICE_UNREACHABLE', async () => {
      expect(await codeOf(subject.transport.connect(subject.unreachableAddress))).toBe('DEVICE_UNREACHABLE');
    });
  });
}
