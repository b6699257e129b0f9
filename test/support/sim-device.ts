/** Builds a simulated device with its provisioning service, for whole-system tests. */

import { DeviceHost } from '../../firmware-sim/device-host.js';
import { deviceSecurity, makeFactoryData } from '../../firmware-sim/factory-data.js';
import { type Flash, MemoryFlash } from '../../firmware-sim/flash.js';
import { type AccessPoint, SimulatedAir } from '../../firmware-sim/radio.js';
import { type DeviceTimings, SimulatedDevice } from '../../firmware-sim/simulated-device.js';
import type { DatastreamSpec } from '../../firmware-sim/telemetry.js';
import { SystemClock } from '../../shared/clock.js';
import { type Logger, silentLogger } from '../../shared/logger.js';

export const HOME_WIFI: AccessPoint = { ssid: 'home', passphrase: 'hunter22hunter22', rssi: -55 };

export interface SimDeviceOptions {
  templateId: string;
  datastreams?: DatastreamSpec[];
  security?: 0 | 1 | 2;
  flash?: Flash;
  aps?: AccessPoint[];
  timings?: Partial<DeviceTimings>;
  ble?: { mediumDir: string };
  edgent?: boolean;
  pop?: string;
  logger?: Logger;
  lockout?: { maxFailures?: number; lockoutMs?: number };
}

export async function startSimDevice(options: SimDeviceOptions): Promise<DeviceHost> {
  const clock = new SystemClock();
  const factory = makeFactoryData({
    templateId: options.templateId,
    ...(options.pop ? { pop: options.pop } : {}),
  });
  const device = new SimulatedDevice({
    factory,
    datastreams: options.datastreams ?? [{ name: 'temp', type: 'double', min: -40, max: 125 }],
    flash: options.flash ?? new MemoryFlash(),
    air: new SimulatedAir(options.aps ?? [HOME_WIFI]),
    clock,
    logger: options.logger ?? silentLogger(),
    timings: { joinDelayMs: 20, telemetryIntervalMs: 0, backoffBaseMs: 100, ...options.timings },
  });
  const security = options.security ?? 2;
  const host = new DeviceHost({
    device,
    security: await deviceSecurity(factory, security),
    clock,
    logger: options.logger ?? silentLogger(),
    softAp: { host: '127.0.0.1', port: 0 },
    ble: options.ble ?? false,
    edgent: options.edgent ? { host: '127.0.0.1', port: 0 } : false,
    provisioningGraceMs: 5_000,
    ...(options.lockout ? { lockout: options.lockout } : {}),
  });
  await host.start();
  return host;
}
