/**
 * The device's provisioning service: ESP-IDF protocomm endpoints bound to the simulated device.
 * Transports (SoftAP HTTP on loopback, the simulated BLE medium) serve the EndpointHandler this
 * builds; the device itself never sees a radio or a socket here.
 */

import type {
  ActivationHandler,
  ControlHandler,
  WifiConfigHandler,
  WifiScanHandler,
} from '../provisioning/protocol/device-handlers.js';
import type { WifiStatus as ProtocolWifiStatus } from '../provisioning/protocol/messages/wifi-config-messages.js';
import type { ScanStatus, WifiNetwork } from '../provisioning/protocol/messages/wifi-scan-messages.js';
import { ProtocommDevice } from '../provisioning/protocol/protocomm-device.js';
import type { DeviceSecurityConfig } from '../provisioning/protocol/security/security-factory.js';
import type { Clock } from '../shared/clock.js';
import { TetherError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { SimulatedDevice } from './simulated-device.js';

export interface ProvisioningEndpointsOptions {
  device: SimulatedDevice;
  security: DeviceSecurityConfig;
  clock: Clock;
  logger: Logger;
  lockout?: { maxFailures?: number; lockoutMs?: number };
}

export function createProvisioningEndpoints(options: ProvisioningEndpointsOptions): ProtocommDevice {
  const { device } = options;

  const wifi: WifiConfigHandler = {
    getStatus: () => toProtocolStatus(device),
    setConfig: (ssid, passphrase) => {
      device.sessionOpened();
      device.setWifiConfig(ssid, passphrase);
    },
    applyConfig: () => device.applyWifiConfig(),
  };

  let scanned: WifiNetwork[] = [];
  const scan: WifiScanHandler = {
    startScan: () => {
      scanned = device.scanNetworks().map((ap) => ({
        ssid: ap.ssid,
        channel: ap.channel ?? 6,
        rssi: ap.rssi,
        bssid: ap.bssid ?? '02:00:00:00:00:01',
        authMode: ap.passphrase ? 'wpa2-psk' : 'open',
      })) as WifiNetwork[];
    },
    scanStatus: (): ScanStatus => ({ finished: true, resultCount: scanned.length }) as ScanStatus,
    scanResults: (start, count) => scanned.slice(start, start + count),
  };

  const control: ControlHandler = {
    reset: () => device.resetProvisioning(),
    reprovision: () => device.resetProvisioning(),
  };

  const activation: ActivationHandler = {
    activate: (request) => {
      device.sessionOpened();
      try {
        return device.activate({ ...request, provisioningSecurity: options.security.version });
      } catch (error) {
        throw new TetherError('VALIDATION_FAILED', (error as Error).message);
      }
    },
  };

  return new ProtocommDevice({
    security: options.security,
    templateId: device.factory.templateId,
    wifi,
    scan,
    control,
    activation,
    clock: options.clock,
    logger: options.logger,
    ...(options.lockout ? { lockout: options.lockout } : {}),
  });
}

function toProtocolStatus(device: SimulatedDevice): ProtocolWifiStatus {
  const status = device.wifiStatus;
  switch (status.state) {
    case 'connected':
      return {
        state: 'connected',
        ip4Address: status.ip,
        ssid: status.ssid,
        bssid: status.bssid,
        channel: status.channel,
        authMode: 'wpa2-psk',
      } as ProtocolWifiStatus;
    case 'failed':
      return { state: 'failed', reason: status.reason };
    case 'connecting':
      return { state: 'connecting' };
    default:
      return { state: 'disconnected' };
  }
}
