/** prov-scan on the device (esp-idf wifi_scan.c): start, poll, read results page by page. */

import { TetherError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { WifiScanHandler } from '../device-handlers.js';
import { ProtocommStatus } from '../messages/status.js';
import {
  decodeWifiScanRequest,
  encodeWifiScanResponse,
  type WifiScanResponse,
} from '../messages/wifi-scan-messages.js';

/** esp-idf CONFIG_WIFI_PROV_SCAN_MAX_ENTRIES is at most 255: no page can reach past it. */
export const MAX_SCAN_ENTRIES = 255;

export async function handleScan(
  handler: WifiScanHandler,
  plaintext: Uint8Array,
  log: Logger,
): Promise<Uint8Array> {
  const request = decodeWifiScanRequest(plaintext);
  let response: WifiScanResponse;
  try {
    switch (request.kind) {
      case 'start':
        await handler.startScan(request.options);
        response = { kind: 'start', status: ProtocommStatus.success };
        break;
      case 'status':
        response = { kind: 'status', status: ProtocommStatus.success, scan: await handler.scanStatus() };
        break;
      case 'result': {
        if (request.startIndex >= MAX_SCAN_ENTRIES || request.count > MAX_SCAN_ENTRIES - request.startIndex) {
          throw new TetherError('VALIDATION_FAILED', 'Scan result page out of bounds.', {
            details: { startIndex: request.startIndex, count: request.count },
          });
        }
        const networks = await handler.scanResults(request.startIndex, request.count);
        response = {
          kind: 'result',
          status: ProtocommStatus.success,
          networks: networks.slice(0, request.count),
        };
        break;
      }
    }
  } catch (error) {
    if (error instanceof TetherError && error.code === 'VALIDATION_FAILED') throw error;
    log.warn({ err: error, step: request.kind }, 'scan handler failed');
    response =
      request.kind === 'status'
        ? { kind: 'status', status: ProtocommStatus.internalError, scan: { finished: false, resultCount: 0 } }
        : request.kind === 'result'
          ? { kind: 'result', status: ProtocommStatus.internalError, networks: [] }
          : { kind: 'start', status: ProtocommStatus.internalError };
  }
  return encodeWifiScanResponse(response);
}
