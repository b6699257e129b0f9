import { describe, expect, it } from 'vitest';
import { MemoryLink, MemoryTransport } from '../../provisioning/transport/memory-link.js';
import { SoftApHttpLink } from '../../provisioning/transport/softap-http.js';
import { SoftApHttpServer } from '../../provisioning/transport/softap-http-server.js';
import type { ProvisioningLink } from '../../provisioning/transport/transport.js';
import { describeTransportContract, RecordingDevice } from './transport-contract.js';

describeTransportContract('memory', async (device) => {
  const links: ProvisioningLink[] = [];
  return {
    connect: async () => {
      const link = new MemoryLink(device);
      links.push(link);
      return link;
    },
    teardown: async () => {
      for (const link of links) await link.close();
    },
  };
});

describeTransportContract('softap-http (loopback)', async (device) => {
  const server = new SoftApHttpServer({ handler: device, port: 0 });
  const { host, port } = await server.start();
  const links: ProvisioningLink[] = [];
  return {
    connect: async () => {
      const link = new SoftApHttpLink(`${host}:${port}`, { timeoutMs: 5000 });
      links.push(link);
      return link;
    },
    teardown: async () => {
      for (const link of links) await link.close();
      await server.stop();
    },
  };
});

describe('MemoryTransport', () => {
  it('discovers by name prefix and connects by address', async () => {
    const transport = new MemoryTransport();
    transport.add('dev-1', 'PROV_ab12', new RecordingDevice());
    transport.add('dev-2', 'OTHER', new RecordingDevice());
    expect(await transport.discover({ timeoutMs: 10, namePrefix: 'PROV_' })).toEqual([
      { name: 'PROV_ab12', transport: 'memory', address: 'dev-1' },
    ]);
    const link = await transport.connect('dev-1');
    expect(await link.exchange('echo', Uint8Array.from([1, 2]))).toEqual(Uint8Array.from([2, 1]));
    await expect(transport.connect('nowhere')).rejects.toMatchObject({ code: 'DEVICE_UNREACHABLE' });
  });
});
