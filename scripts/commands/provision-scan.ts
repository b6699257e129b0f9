/**
 * `tether provision scan`: the devices waiting for provisioning nearby — on BLE (the simulated
 * medium, or a real adapter with --ble-adapter noble) and as SoftAP hotspots (node-wifi) — with
 * name, transport, signal and the security each one asks for.
 */
import type { Command } from 'commander';
import { ProtocommClient } from '../../provisioning/protocol/protocomm-client.js';
import { createBleTransport } from '../../provisioning/transport/ble-transport.js';
import { SoftApHttpTransport } from '../../provisioning/transport/softap-http.js';
import type { DiscoveredDevice, ProvisioningTransport } from '../../provisioning/transport/transport.js';
import { isTetherError } from '../../shared/errors.js';
import { note, printJson, printTable, safe } from '../cli/output.js';

interface ScanOptions {
  timeout: string;
  prefix?: string;
  bleAdapter: string;
  mediumDir?: string;
  softap: boolean;
  ble: boolean;
  probe: boolean;
  json?: boolean;
}

export interface ScannedDevice extends DiscoveredDevice {
  security?: number;
  template?: string;
}

/** Reads proto-ver (unencrypted) to learn the security level and the product a device runs. */
async function probe(
  transport: ProvisioningTransport,
  device: DiscoveredDevice,
): Promise<Partial<ScannedDevice>> {
  const link = await transport.connect(device.address);
  try {
    const info = await new ProtocommClient(link, { minSecurity: 0 }).getVersion();
    return {
      ...(info.prov.secVer !== undefined ? { security: info.prov.secVer } : {}),
      ...(info.tether ? { template: info.tether.tmpl } : {}),
    };
  } finally {
    await link.close().catch(() => undefined);
  }
}

export function provisionScanCommand(provision: Command): void {
  provision
    .command('scan')
    .description('List devices waiting for provisioning nearby (BLE and SoftAP), with signal and security.')
    .option('--timeout <seconds>', 'how long to listen', '3')
    .option('--prefix <prefix>', 'only names starting with this (a product hotspot prefix)')
    .option(
      '--ble-adapter <kind>',
      'simulated (this machine) or noble (a real Bluetooth adapter)',
      'simulated',
    )
    .option('--medium-dir <dir>', 'simulated BLE medium folder')
    .option('--no-softap', 'skip the Wi-Fi hotspot scan')
    .option('--no-ble', 'skip the BLE scan')
    .option('--no-probe', 'do not connect to BLE devices to read their security level')
    .option('--json', 'print JSON')
    .action(async (opts: ScanOptions) => {
      const discover = {
        timeoutMs: Number(opts.timeout) * 1000,
        ...(opts.prefix ? { namePrefix: opts.prefix } : {}),
      };
      const found: ScannedDevice[] = [];
      const warnings: string[] = [];
      if (opts.ble) {
        const ble =
          opts.bleAdapter === 'noble'
            ? createBleTransport({ medium: 'noble' })
            : createBleTransport({
                medium: 'simulated',
                ...(opts.mediumDir ? { mediumDir: opts.mediumDir } : {}),
              });
        try {
          for (const device of await ble.discover(discover)) {
            const extra = opts.probe ? await probe(ble, device).catch(() => ({})) : {};
            found.push({ ...device, ...extra });
          }
        } catch (error) {
          warnings.push(`BLE: ${isTetherError(error) ? error.message : String(error)}`);
        } finally {
          if ('close' in ble) await ble.close();
        }
      }
      if (opts.softap) {
        try {
          found.push(...(await new SoftApHttpTransport().discover(discover)));
        } catch (error) {
          warnings.push(`SoftAP: ${isTetherError(error) ? error.message : String(error)}`);
        }
      }
      if (opts.json) return printJson({ devices: found, warnings });
      for (const warning of warnings) note(safe`warning: ${warning}`);
      printTable(
        found.map((d) => ({
          name: d.name,
          transport: d.transport,
          rssi: d.rssi,
          security: d.security,
          template: d.template,
          address: d.address,
        })),
      );
    });
}
