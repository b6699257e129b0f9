/**
 * Blynk.Edgent legacy provisioning for the simulated device: the config server's handler (open
 * access point, plaintext HTTP) mapped onto the same device state machine the secure path drives.
 * /config carries Wi-Fi credentials, the token and the cloud host in one request; the outcome
 * is the device reaching `running`, or its last_error once it is back in provisioning.
 */
import type {
  EdgentApplyResult,
  EdgentConfig,
  EdgentDeviceHandler,
  EdgentFailureCode,
  EdgentLastErrorCode,
} from '../provisioning/edgent/edgent-types.js';
import { EdgentLastError } from '../shared/edgent-errors.js';
import type { DeviceState, SimulatedDevice } from './simulated-device.js';

/** States in which the device has given up this attempt and waits for a new configuration. */
const BACK_IN_PROVISIONING: ReadonlySet<DeviceState> = new Set(['wait-config', 'off']);

export function createEdgentDeviceHandler(device: SimulatedDevice): EdgentDeviceHandler {
  const { factory } = device;
  return {
    boardInfo: () => ({
      board: 'Tether Simulated Device',
      templateId: factory.templateId,
      firmwareType: factory.firmware.type,
      firmwareVersion: factory.firmware.ver,
      apSsid: factory.name,
      apBssid: factory.hardwareId.toLowerCase(),
      mac: factory.hardwareId,
      lastError: device.lastError as EdgentLastErrorCode,
      staticIp: false,
    }),

    scanWifi: async () =>
      device.scanNetworks().map((ap) => ({
        ssid: ap.ssid,
        bssid: ap.bssid ?? '02:00:00:00:00:01',
        rssi: ap.rssi,
        security: ap.passphrase ? 'WPA2' : 'OPEN',
        channel: ap.channel ?? 6,
      })),

    applyConfig: (config: EdgentConfig) => apply(device, config),

    resetConfig: () => device.wipe('Edgent /reset'),

    reboot: () => device.reboot(),
  };
}

function apply(device: SimulatedDevice, config: EdgentConfig): Promise<EdgentApplyResult> {
  const host = config.host ?? '127.0.0.1';
  // Edgent for ESP32 sends port_ssl (TLS); older firmware a plain port. The simulator speaks plain MQTT.
  const scheme = config.port === undefined && config.portSsl !== undefined ? 'mqtts' : 'mqtt';
  const port = config.port ?? config.portSsl ?? 1883;
  device.sessionOpened();
  try {
    device.activate({
      token: config.token,
      brokerUrl: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`,
      templateId: device.factory.templateId,
      // Edgent's open AP carries the token in plaintext: no provisioning security at all.
      provisioningSecurity: 0,
    });
  } catch (error) {
    return Promise.resolve({
      ok: false,
      lastError: EdgentLastError.config,
      message: (error as Error).message,
    });
  }
  device.setWifiConfig(config.ssid, config.passphrase);
  return new Promise<EdgentApplyResult>((resolve) => {
    const onState = ({ to }: { to: DeviceState }) => {
      if (to === 'running') {
        device.off('state', onState);
        resolve({ ok: true });
      } else if (BACK_IN_PROVISIONING.has(to)) {
        device.off('state', onState);
        const lastError = device.lastError;
        resolve(
          lastError >= EdgentLastError.config && lastError <= EdgentLastError.internal
            ? { ok: false, lastError: lastError as EdgentFailureCode }
            : { ok: false, lastError: EdgentLastError.internal },
        );
      }
    };
    device.on('state', onState);
    device.applyWifiConfig();
  });
}
