/** prov-config on the device (esp-idf wifi_config.c): answer with a status, never drop the session. */
import type { Logger } from '../../../shared/logger.js';
import type { WifiConfigHandler } from '../device-handlers.js';
import { ProtocommStatus } from '../messages/status.js';
import {
  decodeWifiConfigRequest,
  encodeWifiConfigResponse,
  type WifiConfigResponse,
} from '../messages/wifi-config-messages.js';
import { bssidToString, fromBytes } from '../messages/wifi-types.js';

/** 802.11: an SSID has up to 32 bytes; WPA2 passphrases up to 63 characters (64 = raw PSK hex). */
export const MAX_SSID_BYTES = 32;
export const MAX_PASSPHRASE_BYTES = 64;

export async function handleConfig(
  handler: WifiConfigHandler,
  plaintext: Uint8Array,
  log: Logger,
): Promise<Uint8Array> {
  const request = decodeWifiConfigRequest(plaintext);
  let response: WifiConfigResponse;
  switch (request.kind) {
    case 'get-status':
      try {
        response = { kind: 'get-status', status: ProtocommStatus.success, wifi: await handler.getStatus() };
      } catch (error) {
        log.warn({ err: error }, 'get-status handler failed');
        response = {
          kind: 'get-status',
          status: ProtocommStatus.internalError,
          wifi: { state: 'disconnected' },
        };
      }
      break;
    case 'set-config': {
      // wifi_config.c: bad lengths answer InvalidArgument without calling the handler.
      const valid =
        request.ssid.length > 0 &&
        request.ssid.length <= MAX_SSID_BYTES &&
        request.passphrase.length <= MAX_PASSPHRASE_BYTES &&
        (request.bssid.length === 0 || request.bssid.length === 6);
      let status: number = ProtocommStatus.invalidArgument;
      if (valid) {
        try {
          await handler.setConfig(
            fromBytes(request.ssid),
            new TextDecoder().decode(request.passphrase),
            request.bssid.length ? bssidToString(request.bssid) : undefined,
            request.channel || undefined,
          );
          status = ProtocommStatus.success;
        } catch (error) {
          log.warn({ err: error }, 'set-config handler failed');
          status = ProtocommStatus.internalError;
        }
      }
      response = { kind: 'set-config', status };
      break;
    }
    case 'apply':
      try {
        await handler.applyConfig();
        response = { kind: 'apply', status: ProtocommStatus.success };
      } catch (error) {
        log.warn({ err: error }, 'apply-config handler failed');
        response = { kind: 'apply', status: ProtocommStatus.internalError };
      }
      break;
  }
  return encodeWifiConfigResponse(response);
}
