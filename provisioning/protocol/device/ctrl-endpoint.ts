/** prov-ctrl on the device (esp-idf wifi_ctrl.c): reset or re-provision, answered with a status. */
import type { Logger } from '../../../shared/logger.js';
import type { ControlHandler } from '../device-handlers.js';
import { ProtocommStatus } from '../messages/status.js';
import { decodeWifiCtrlRequest, encodeWifiCtrlResponse } from '../messages/wifi-ctrl-messages.js';

export async function handleCtrl(
  handler: ControlHandler,
  plaintext: Uint8Array,
  log: Logger,
): Promise<Uint8Array> {
  const kind = decodeWifiCtrlRequest(plaintext);
  try {
    if (kind === 'reset') await handler.reset();
    else await handler.reprovision();
    return encodeWifiCtrlResponse(kind, ProtocommStatus.success);
  } catch (error) {
    log.warn({ err: error, step: kind }, 'control handler failed');
    return encodeWifiCtrlResponse(kind, ProtocommStatus.internalError);
  }
}
