/**
 * A client that speaks exactly as Espressif's esp_prov (esp-idf v5.5.5 tools/esp_prov/esp_prov.py
 * main()) does with `--transport softap --sec_ver N … --custom_data TEXT --ssid S --passphrase P`,
 * step for step, so tests can run its exchange where Python and esp-idf are not available:
 * - proto-ver first: `---` for security 2 (get_sec_patch_ver), `no_pop` for security 1
 *   (has_capability), in the clear;
 * - prov-session until the security FSM is done (establish_session); security 2 logs in as
 *   `wifiprov`, the --sec2_username every Espressif example uses;
 * - custom-data: the TEXT's latin-1 bytes, encrypted as they are — no protobuf around them
 *   (prov/custom_prov.py custom_data_request); the answer is decrypted and printed, never checked;
 * - prov-config set-config, apply, then get-status polls (wait_wifi_connected).
 * HTTP framing, headers and the session cookie are SoftApHttpLink's, which follows transport_http.py.
 */
import {
  decodeSessionData,
  encodeSessionData,
} from '../../provisioning/protocol/messages/session-messages.js';
import {
  decodeWifiConfigResponse,
  encodeWifiConfigRequest,
  setConfigRequest,
  type WifiStatus,
} from '../../provisioning/protocol/messages/wifi-config-messages.js';
import type { RandomSource } from '../../provisioning/protocol/security/random-source.js';
import { createClientSecuritySession } from '../../provisioning/protocol/security/security-factory.js';
import type { ProvisioningLink } from '../../provisioning/transport/transport.js';

export interface EspProvRun {
  secVer: 1 | 2;
  pop: string;
  customData: string;
  ssid: string;
  passphrase: string;
  /** esp_prov takes its randomness from os.urandom; a test pins it. */
  random?: RandomSource;
  /** wait_wifi_connected sleeps 5 s before each poll; tests need not. */
  pollMs?: number;
}

export interface Exchange {
  endpoint: string;
  request: Uint8Array;
  response: Uint8Array;
}

export interface EspProvResult {
  exchanges: Exchange[];
  /** What esp_prov prints as `CustomData response: b'…'`. */
  customDataResponse: string;
  wifi: WifiStatus['state'];
}

const latin1 = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'latin1'));

export async function runEspProv(link: ProvisioningLink, run: EspProvRun): Promise<EspProvResult> {
  const exchanges: Exchange[] = [];
  const send = async (endpoint: string, request: Uint8Array): Promise<Uint8Array> => {
    const response = await link.exchange(endpoint, request);
    exchanges.push({ endpoint, request, response });
    return response;
  };
  await send('proto-ver', latin1(run.secVer === 2 ? '---' : 'no_pop'));
  const security = createClientSecuritySession({
    version: run.secVer,
    pop: run.pop,
    username: 'wifiprov',
    ...(run.random ? { random: run.random } : {}),
  });
  for (let request = await security.start(); ; ) {
    const answer = await send('prov-session', encodeSessionData(request));
    const next = await security.next(decodeSessionData(answer));
    if (!next) break;
    request = next;
  }
  const answer = await security.decrypt(
    await send('custom-data', await security.encrypt(latin1(run.customData))),
  );
  const customDataResponse = Buffer.from(answer).toString('latin1');
  const config = async (request: Parameters<typeof encodeWifiConfigRequest>[0]) => {
    const sent = await send('prov-config', await security.encrypt(encodeWifiConfigRequest(request)));
    return decodeWifiConfigResponse(await security.decrypt(sent));
  };
  await config(setConfigRequest({ ssid: run.ssid, passphrase: run.passphrase }));
  await config({ kind: 'apply' });
  // wait_wifi_connected: poll while connecting; three more polls after a failure, then give up.
  for (let retries = 3; ; ) {
    await new Promise((resolve) => setTimeout(resolve, run.pollMs ?? 5000));
    const status = await config({ kind: 'get-status' });
    const state = status.kind === 'get-status' ? status.wifi.state : 'failed';
    if (state === 'connecting') continue;
    if (state === 'connected' || retries-- === 0) return { exchanges, customDataResponse, wifi: state };
  }
}
