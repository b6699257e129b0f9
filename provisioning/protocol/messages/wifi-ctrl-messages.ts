/** prov-ctrl messages (esp-idf wifi_ctrl.proto): reset the Wi-Fi config, or re-enter provisioning. */
import { TetherError } from '../../../shared/errors.js';
import { decodeMessage, encodeMessage, numberField, withoutDefaults } from './proto-schema.js';

export type WifiCtrlKind = 'reset' | 'reprovision';

// wifi_ctrl.proto: WiFiCtrlMsgType, 0 reserved; command n, response n + 1.
const MSG = { reset: 1, reprovision: 3 } as const;
const RESP_MEMBER = { reset: 'resp_ctrl_reset', reprovision: 'resp_ctrl_reprov' } as const;
const kindOfMsg = (msg: number): WifiCtrlKind | undefined =>
  msg === MSG.reset ? 'reset' : msg === MSG.reprovision ? 'reprovision' : undefined;

/** esp_prov sends the message type only, without the (empty) command member. */
export const encodeWifiCtrlRequest = (kind: WifiCtrlKind): Uint8Array =>
  encodeMessage('WifiCtrlPayload', { msg: MSG[kind] });

export function decodeWifiCtrlRequest(bytes: Uint8Array): WifiCtrlKind {
  const payload = decodeMessage('WifiCtrlPayload', bytes, 'control request');
  const kind = kindOfMsg(numberField(payload, 'msg'));
  if (!kind)
    throw new TetherError('VALIDATION_FAILED', `Unknown control command ${numberField(payload, 'msg')}.`);
  return kind;
}

export const encodeWifiCtrlResponse = (kind: WifiCtrlKind, status: number): Uint8Array =>
  encodeMessage('WifiCtrlPayload', {
    msg: MSG[kind] + 1,
    ...withoutDefaults({ status }),
    [RESP_MEMBER[kind]]: {},
  });

export function decodeWifiCtrlResponse(bytes: Uint8Array): { kind: WifiCtrlKind; status: number } {
  const payload = decodeMessage('WifiCtrlPayload', bytes, 'control response');
  const kind = kindOfMsg(numberField(payload, 'msg') - 1);
  if (!kind)
    throw new TetherError('PROTOCOL_ERROR', `Unknown control response ${numberField(payload, 'msg')}.`);
  return { kind, status: numberField(payload, 'status') };
}
