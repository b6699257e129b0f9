/**
 * Bundled for the browser and run by no-eval.test.ts in a Node that refuses code generation from
 * strings, as the web console's Content-Security-Policy does: every provisioning message codec
 * must encode and decode there. Prints one JSON line of results.
 */
import {
  decodeSessionData,
  encodeSessionData,
} from '../../provisioning/protocol/messages/session-messages.js';
import {
  decodeWifiConfigResponse,
  encodeWifiConfigRequest,
  setConfigRequest,
} from '../../provisioning/protocol/messages/wifi-config-messages.js';

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const unhex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (b) => Number.parseInt(b, 16));

const results: Record<string, unknown> = {};
results.sec2cmd1 = hex(encodeSessionData({ secVer: 2, kind: 'cmd1', clientProof: unhex('09') }));
results.sec2resp0 = decodeSessionData(unhex('1002620d0801aa0108120205061a020708'));
results.setConfig = hex(
  encodeWifiConfigRequest(setConfigRequest({ ssid: 'home', passphrase: 'correct horse' })),
);
results.status = decodeWifiConfigResponse(unhex('08015a0410035000'));
process.stdout.write(
  `${JSON.stringify(results, (_key, value) => (value instanceof Uint8Array ? hex(value) : value))}\n`,
);
