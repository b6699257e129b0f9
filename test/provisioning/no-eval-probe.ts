/**
 * Bundled for the browser and run by no-eval.test.ts in a Node that refuses code generation from
 * strings, as the web console's Content-Security-Policy does: every provisioning message codec and
 * both security schemes (with the browser's default crypto provider, WebCrypto) must work there.
 * Prints one JSON line of results.
 */

import { pino } from 'pino';
import {
  decodeSessionData,
  encodeSessionData,
} from '../../provisioning/protocol/messages/session-messages.js';
import {
  decodeWifiConfigResponse,
  encodeWifiConfigRequest,
  setConfigRequest,
} from '../../provisioning/protocol/messages/wifi-config-messages.js';
import { ProtocommClient } from '../../provisioning/protocol/protocomm-client.js';
import { ProtocommDevice } from '../../provisioning/protocol/protocomm-device.js';
import { defaultCrypto } from '../../provisioning/protocol/security/default-crypto.js';
import { makeSrpVerifier } from '../../provisioning/protocol/security/srp-verifier.js';
import { MemoryLink } from '../../provisioning/transport/memory-link.js';
import { FakeDevice } from './fake-device.js';

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const unhex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (b) => Number.parseInt(b, 16));

const results: Record<string, unknown> = { crypto: defaultCrypto.name };
results.sec2cmd1 = hex(encodeSessionData({ secVer: 2, kind: 'cmd1', clientProof: unhex('09') }));
results.sec2resp0 = decodeSessionData(unhex('1002620d0801aa0108120205061a020708'));
results.setConfig = hex(
  encodeWifiConfigRequest(setConfigRequest({ ssid: 'home', passphrase: 'correct horse' })),
);
results.status = decodeWifiConfigResponse(unhex('08015a0410035000'));

const pop = 'abcd1234';
for (const security of [
  { version: 1, pop } as const,
  { version: 2, credential: await makeSrpVerifier(pop) } as const,
]) {
  const fake = new FakeDevice();
  // As the page does: pino's browser build, quiet.
  const logger = pino({ level: 'silent' });
  const device = new ProtocommDevice({ security, templateId: 'T', wifi: fake, activation: fake, logger });
  const client = new ProtocommClient(new MemoryLink(device), { minSecurity: 1, logger });
  const level = await client.establishSession({ pop });
  const { hardwareId } = await client.activate({ token: 't', brokerUrl: 'mqtt://gw', templateId: 'T' });
  results[`security${level}`] = hardwareId;
}
process.stdout.write(
  `${JSON.stringify(results, (_key, value) => (value instanceof Uint8Array ? hex(value) : value))}\n`,
);
