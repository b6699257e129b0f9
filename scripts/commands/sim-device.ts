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
import { redirectUrl } from '../../shared/redirect-url.js';
import { printJson, safe, say, terminalSafe } from '../cli/output.js';
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
  fallbackBroker?: string[];
  json?: boolean;
}

/** --fallback-broker: each a broker URL as a redirect takes it (scheme, host, explicit port). */
const fallbackBrokers = (urls: string[]): string[] => urls.map((url) => redirectUrl(url));

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
    .option(
      '--fallback-broker <url...>',
      'other nodes of the gateway cluster (mqtt://host:port): tried in turn when the broker in use is unreachable',
    )
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
        ...(opts.fallbackBroker ? { fallbackBrokers: fallbackBrokers(opts.fallbackBroker) } : {}),
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
      // Provisioning that reopens later (reconfigure, long reset press) says where to find it.
      device.on('state', ({ to }) => {
        if (to !== 'wait-config' || opts.json) return;
        void host.settled().then(() => {
          if (host.softApAddress)
            process.stdout.write(`Provisioning open again: SoftAP address ${host.softApAddress}.\n`);
        });
      });
      const accessPoints = opts.ap.map(parseAccessPoint);
      const details = {
        name: factory.name,
        hardwareId: factory.hardwareId,
        templateId: factory.templateId,
        state: device.state,
        softAp: host.softApAddress,
        ble: host.bleAddress,
        edgent: host.edgentAddress,
        pop: factory.pop,
        security,
        qr: JSON.stringify(host.qrPayload()),
        accessPoints: accessPoints.map((ap) => ap.ssid),
        wifi: accessPoints.map(({ ssid, passphrase }) => ({ ssid, passphrase })),
      };
      if (opts.json) printJson(details, 0);
      else process.stdout.write(simDeviceBanner(details));
      if (!opts.json) {
        say(
          safe`Reset button: kill -USR1 ${process.pid} (short press: nothing), kill -USR2 ${process.pid} (held ${device.timings.resetHoldMs / 1000} s: wipe).`,
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

export interface SimDeviceDetails {
  name: string;
  hardwareId: string;
  templateId: string;
  state: string;
  softAp: string | undefined;
  ble: string | undefined;
  edgent: string | undefined;
  pop: string;
  security: number;
  qr: string;
  wifi: Array<{ ssid: string; passphrase: string }>;
}

/**
 * What a person needs to find and provision the device, printed on every start: its label (name,
 * PoP, QR payload, as printed on a real device's sticker) and the Wi-Fi it can join, also when it
 * resumes from flash and is not provisioning (a reconfigure or a long reset press reopens it).
 */
export function simDeviceBanner(d: SimDeviceDetails): string {
  const waiting = d.state === 'wait-config';
  const wifi = d.wifi
    .map((ap) => (ap.passphrase ? `${ap.ssid} (passphrase ${ap.passphrase})` : `${ap.ssid} (open)`))
    .join(', ');
  const lines = [
    '',
    waiting
      ? `Simulated device ${d.name} (${d.hardwareId}) is waiting for provisioning.`
      : `Simulated device ${d.name} (${d.hardwareId}) resumed from flash (state ${d.state}).`,
    `  Template        ${d.templateId}`,
    `  Name            ${d.name}`,
    `  PoP             ${d.pop}`,
    `  QR payload      ${d.qr}`,
    `  Wi-Fi it sees   ${wifi || '(none)'}`,
  ];
  if (d.softAp) lines.push(`  SoftAP address  ${d.softAp}   (security ${d.security})`);
  if (d.ble) lines.push(`  BLE address     ${d.ble}`);
  if (d.edgent) lines.push(`  Edgent (plain)  ${d.edgent}`);
  if (waiting && d.softAp) {
    const first = d.wifi[0];
    lines.push(
      '',
      `Provision it:  tether provision --template ${d.templateId} --device ${d.softAp} --pop ${d.pop}${first ? ` --ssid ${first.ssid}` : ''}`,
    );
  } else if (!waiting) {
    lines.push(
      '',
      'Provisioning is closed; `tether device reconfigure ID` or a long reset press reopens it.',
    );
  }
  lines.push('');
  // Names, SSIDs and the QR payload come from outside: no escape sequence reaches the terminal.
  return lines.map(terminalSafe).join('\n');
}
