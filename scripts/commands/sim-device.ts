/**
 * `tether sim device`: one simulated device in the foreground, with a readable log of its state
 * changes, and what a person needs to provision it (name, address, PoP, QR payload).
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { DeviceHost } from '../../firmware-sim/device-host.js';
import { deviceSecurity, loadOrMakeFactoryData } from '../../firmware-sim/factory-data.js';
import { FileFlash } from '../../firmware-sim/flash.js';
import { type AccessPoint, SimulatedAir } from '../../firmware-sim/radio.js';
import { SimulatedDevice } from '../../firmware-sim/simulated-device.js';
import type { DatastreamSpec } from '../../firmware-sim/telemetry.js';
import { SystemClock } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { parseDatastreamSpec } from './template-create.js';

export const DEFAULT_SIM_AP = 'TetherLab:tether-lab-pass';

interface SimDeviceOptions {
  template: string;
  datastream?: string[];
  ap: string[];
  security: string;
  pop?: string;
  hotspotPrefix: string;
  softapPort: string;
  ble?: boolean;
  edgent?: boolean;
  mediumDir?: string;
  flashDir: string;
  id: string;
  telemetry: string;
  json?: boolean;
}

export function parseAccessPoint(spec: string): AccessPoint {
  const [ssid, passphrase = '', rssi] = spec.split(':');
  if (!ssid)
    throw new TetherError('VALIDATION_FAILED', `Access point "${spec}": write ssid:passphrase[:rssi].`);
  return { ssid, passphrase, rssi: rssi ? Number(rssi) : -55 };
}

export function simDeviceCommand(sim: Command): void {
  sim
    .command('device')
    .description(
      'Run one simulated device (ESP-IDF provisioning over SoftAP on loopback, Blynk MQTT once active).',
    )
    .requiredOption('-t, --template <id>', 'the template (product) its firmware is built for')
    .option('-d, --datastream <spec...>', 'datastreams it publishes, name:type[:min:max]', [
      'temp:double:-40:125',
    ])
    .option('--ap <ssid:passphrase...>', 'simulated Wi-Fi access points it can join', [DEFAULT_SIM_AP])
    .option('--security <level>', 'provisioning security 0, 1 or 2', '2')
    .option('--pop <code>', 'proof of possession (default: generated, printed below)')
    .option('--hotspot-prefix <prefix>', 'advertised name prefix', 'PROV')
    .option('--softap-port <port>', 'loopback port of its SoftAP HTTP service (0 = any)', '0')
    .option('--ble', 'also advertise on the simulated BLE medium')
    .option('--medium-dir <dir>', 'simulated BLE medium folder')
    .option('--edgent', 'also serve Blynk.Edgent legacy provisioning (plaintext) on loopback')
    .option('--flash-dir <dir>', 'where its factory data and flash (NVS) files live', '.tether/sim')
    .option(
      '--id <name>',
      'which simulated device: the same id resumes the same hardware and flash',
      'device-1',
    )
    .option('--telemetry <seconds>', 'publish telemetry every N seconds (0 = off)', '10')
    .option('--json', 'print the provisioning details as JSON')
    .action(async (opts: SimDeviceOptions) => {
      const security = Number(opts.security);
      if (![0, 1, 2].includes(security))
        throw new TetherError('VALIDATION_FAILED', '--security must be 0, 1 or 2.');
      const clock = new SystemClock();
      const logger = createLogger({ level: 'info', pretty: process.stdout.isTTY === true });
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(opts.id))
        throw new TetherError(
          'VALIDATION_FAILED',
          '--id is a name of letters, digits, dot, dash or underscore.',
        );
      const flashDir = resolve(opts.flashDir);
      // The same --id is the same hardware: its factory record and its flash survive a restart.
      const { factory } = await loadOrMakeFactoryData(join(flashDir, `${opts.id}.factory.json`), {
        templateId: opts.template,
        hotspotPrefix: opts.hotspotPrefix,
        ...(opts.pop ? { pop: opts.pop } : {}),
      });
      const device = new SimulatedDevice({
        factory,
        datastreams: (opts.datastream ?? []).map(parseDatastreamSpec) as unknown as DatastreamSpec[],
        flash: new FileFlash(join(flashDir, `${opts.id}.nvs.json`)),
        air: new SimulatedAir(opts.ap.map(parseAccessPoint)),
        clock,
        logger: logger.child({ module: 'device', device: factory.name }),
        timings: { telemetryIntervalMs: Number(opts.telemetry) * 1000 },
      });
      const host = new DeviceHost({
        device,
        security: await deviceSecurity(factory, security as 0 | 1 | 2),
        clock,
        logger: logger.child({ module: 'provisioning' }),
        softAp: { host: '127.0.0.1', port: Number(opts.softapPort) },
        ble: opts.ble ? (opts.mediumDir ? { mediumDir: opts.mediumDir } : {}) : false,
        edgent: opts.edgent ? { host: '127.0.0.1', port: 0 } : false,
      });
      device.on('state', ({ from, to, lastError }) =>
        logger.info({ from, to, ...(lastError ? { lastError } : {}) }, `state ${from} → ${to}`),
      );
      device.on('downlink', ({ topic }) => logger.info({ topic }, 'downlink'));
      await host.start();
      const details = {
        name: factory.name,
        hardwareId: factory.hardwareId,
        templateId: factory.templateId,
        softAp: host.softApAddress,
        ble: host.bleAddress,
        edgent: host.edgentAddress,
        pop: factory.pop,
        security,
        qr: JSON.stringify(host.qrPayload()),
        accessPoints: opts.ap.map((a) => parseAccessPoint(a).ssid),
      };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(details)}\n`);
      } else if (device.state === 'wait-config') {
        process.stdout.write(
          [
            '',
            `Simulated device ${details.name} (${details.hardwareId}) is waiting for provisioning.`,
            `  SoftAP address  ${details.softAp ?? '(off)'}${details.ble ? `\n  BLE address     ${details.ble}` : ''}${details.edgent ? `\n  Edgent (plain)  ${details.edgent}` : ''}`,
            `  PoP             ${details.pop}`,
            `  QR payload      ${details.qr}`,
            `  Wi-Fi it sees   ${details.accessPoints.join(', ')}`,
            '',
            `Provision it:  tether provision --template ${details.templateId} --device ${details.softAp} --pop ${details.pop} --ssid ${details.accessPoints[0]}`,
            '',
          ].join('\n'),
        );
      } else {
        process.stdout.write(
          `Simulated device ${details.name} resumed from flash (state ${device.state}).\n`,
        );
      }
      if (!opts.json) {
        process.stdout.write(
          `Reset button: kill -USR1 ${process.pid} (short press: nothing), kill -USR2 ${process.pid} (held ${device.timings.resetHoldMs / 1000} s: wipe).\n`,
        );
      }
      // The reset button, from another terminal: a short press does nothing; a long hold wipes.
      const shortPress = () => {
        device.pressResetButton();
        void device.releaseResetButton().then(() => logger.info('reset button: short press, ignored'));
      };
      const longHold = () => {
        device.pressResetButton();
        logger.info('reset button: holding');
        clock.setTimeout(() => void device.releaseResetButton(), device.timings.resetHoldMs);
      };
      process.on('SIGUSR1', shortPress);
      process.on('SIGUSR2', longHold);
      await new Promise<void>((resolveStop) => {
        const stop = () => resolveStop();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.off('SIGUSR1', shortPress);
      process.off('SIGUSR2', longHold);
      await host.stop();
    });
}
