/**
 * Settings and hardware that do not stop a gateway but bite later: links that open only on this
 * machine, and the radios `tether provision` needs on this box (Wi-Fi tools for SoftAP, a
 * Bluetooth adapter and library for BLE). Devices provisioned from a phone or the browser need
 * neither, so their absence is a warning.
 */
import { linuxAdapterPresent } from '../../provisioning/transport/ble-noble.js';
import { wifiToolFor } from '../../provisioning/transport/wifi-joiner.js';
import type { TetherConfig } from '../../shared/config.js';
import { publicUrlWarning } from '../main.js';
import type { CheckResult, DoctorEnv } from './doctor.js';
import { ok, warn } from './doctor.js';

export function checkPublicUrl(config: TetherConfig): CheckResult {
  const warning = publicUrlWarning(config);
  if (warning) return warn('public url', warning);
  return ok(
    'public url',
    config.http.publicUrl
      ? `mailed links point at ${config.http.publicUrl}`
      : `the API listens on ${config.http.host} only`,
  );
}

export async function checkRadios(env: DoctorEnv): Promise<CheckResult[]> {
  const tool = wifiToolFor(env.platform);
  const wifi = !tool
    ? warn(
        'wifi tools',
        `provisioning over SoftAP is not supported on ${env.platform}; use Bluetooth or a phone`,
      )
    : (await env.findExecutable(tool.command))
      ? ok('wifi tools', `${tool.command} found: tether provision can join a device's SoftAP`)
      : warn(
          'wifi tools',
          `"${tool.command}" is missing, so tether provision cannot join a device's SoftAP: ${tool.install}`,
        );
  const adapter = await linuxAdapterPresent(env.sysBluetoothDir);
  const library = env.bluetoothLibrary();
  const bluetooth =
    adapter === false
      ? warn(
          'bluetooth',
          'no Bluetooth adapter (none in /sys/class/bluetooth), so tether provision cannot reach a device over BLE: plug in a Bluetooth LE adapter, or provision over SoftAP',
        )
      : !library
        ? warn(
            'bluetooth',
            'the Bluetooth library is not installed (npm install @stoprocent/noble): BLE provisioning is off',
          )
        : ok(
            'bluetooth',
            adapter
              ? 'adapter present, library installed'
              : 'library installed (the adapter is not checked here)',
          );
  return [wifi, bluetooth];
}
