/**
 * The device the esp_prov recording (../fixtures/esp-prov-custom-data.json) was made against, as a
 * program: protocomm over SoftAP HTTP on loopback with a scripted radio (FakeDevice), its randomness
 * pinned, logging every request and answer. Run by hand (see README.md); no test imports it.
 *
 *   node dist-esp-prov/record-device.mjs <1|2> <pop> <out.json>   → prints "PORT <n>"; SIGTERM writes out.json
 */
import { writeFileSync } from 'node:fs';
import { ProtocommDevice } from '../../../provisioning/protocol/protocomm-device.js';
import { seededRandom } from '../../../provisioning/protocol/security/seeded-random.js';
import { makeSrpVerifier } from '../../../provisioning/protocol/security/srp-verifier.js';
import { SoftApHttpServer } from '../../../provisioning/transport/softap-http-server.js';
import type { EndpointHandler } from '../../../provisioning/transport/transport.js';
import { FakeDevice, homeNetworks } from '../fake-device.js';

const [secArg = '2', pop = 'abcd1234', out = 'recording.json'] = process.argv.slice(2);
const secVer = secArg === '1' ? 1 : 2;
const salt = Uint8Array.from(Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'));
const fake = new FakeDevice(homeNetworks(3)); // AP "home", passphrase "correct horse"
const device = new ProtocommDevice({
  security: secVer === 1 ? { version: 1, pop } : { version: 2, credential: await makeSrpVerifier(pop, salt) },
  templateId: 'TMPL0001',
  wifi: fake,
  scan: fake,
  control: fake,
  activation: fake,
  random: seededRandom(`esp-prov custom-data device sec${secVer}`),
});
const exchanges: Array<{ endpoint: string; request: string; response: string | null }> = [];
const recording: EndpointHandler = {
  endpoints: device.endpoints,
  closeSession: (id) => device.closeSession(id),
  async handle(endpoint, request, sessionId) {
    const entry = {
      endpoint,
      request: Buffer.from(request).toString('hex'),
      response: null as string | null,
    };
    exchanges.push(entry);
    const response = await device.handle(endpoint, request, sessionId);
    entry.response = Buffer.from(response).toString('hex');
    return response;
  },
};
const server = new SoftApHttpServer({ handler: recording, port: 0 });
console.log(`PORT ${(await server.start()).port}`);
process.once('SIGTERM', async () => {
  writeFileSync(out, JSON.stringify({ exchanges, activations: fake.activations }, null, 2));
  await server.stop();
  process.exit(0);
});
