/**
 * `tether provision`: activate a device and make it yours — log-in session, provisioning session
 * on the gateway, secure session with the device (SoftAP or BLE), Wi-Fi, then the gateway's word
 * that the device is active and owned by you. One visible line per step.
 */
import type { Command } from 'commander';
import { activateDevice, STEP_LABELS } from '../../provisioning/companion/activation-flow.js';
import { activateEdgentDevice } from '../../provisioning/companion/edgent-activation-flow.js';
import { ProtocommClient } from '../../provisioning/protocol/protocomm-client.js';
import { SimBleTransport } from '../../provisioning/transport/sim-ble-central.js';
import { SOFTAP_DEFAULT_ADDRESS, SoftApHttpTransport } from '../../provisioning/transport/softap-http.js';
import type { ProvisioningTransport } from '../../provisioning/transport/transport.js';
import { NodeWifiJoiner, type WifiJoiner } from '../../provisioning/transport/wifi-joiner.js';
import { isTetherError, TetherError } from '../../shared/errors.js';
import { sessionClient } from '../cli/cli-context.js';
import { note, printJson, StepReporter, safe, say } from '../cli/output.js';
import { prompt, promptHidden } from '../cli/prompt.js';

interface ProvisionOptions {
  template?: string;
  device?: string;
  qr?: string;
  pop?: string;
  ssid?: string;
  passphrase?: string;
  transport: string;
  name?: string;
  minSecurity?: string;
  mediumDir?: string;
  join: boolean;
  hotspotPassphrase?: string;
  timeout: string;
  gateway?: string;
  json?: boolean;
}

/** The QR text Espressif's apps read: {"ver":"v1","name":…,"pop":…,"transport":…}. */
export function parseQrPayload(text: string): { name?: string; pop?: string; transport?: string } {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    return {
      ...(typeof value.name === 'string' ? { name: value.name } : {}),
      ...(typeof value.pop === 'string' ? { pop: value.pop } : {}),
      ...(typeof value.transport === 'string' ? { transport: value.transport } : {}),
    };
  } catch {
    throw new TetherError(
      'VALIDATION_FAILED',
      'The QR payload is not the JSON Espressif devices print ({"ver":"v1",…}).',
    );
  }
}

export function provisionCommand(program: Command): Command {
  return program
    .command('provision')
    .description(
      'Activate a device: put it on Wi-Fi and into your account (ESP-IDF provisioning, security 2 by default).',
    )
    .enablePositionalOptions()
    .option(
      '-t, --template <id>',
      'template (product) id of the device, TMPL… (default: the product the device itself names)',
    )
    .option(
      '-d, --device <address>',
      'device address: host:port for SoftAP (a simulator prints it), or a BLE name/address',
    )
    .option('--qr <json>', 'the QR payload printed on the device (gives name, PoP and transport)')
    .option('--pop <code>', 'proof of possession from the device label (prompted when missing)')
    .option('--ssid <ssid>', 'Wi-Fi network the device should join (prompted when missing)')
    .option(
      '--passphrase <passphrase>',
      'Wi-Fi passphrase (prompted when missing; or TETHER_WIFI_PASSPHRASE)',
    )
    .option(
      '--transport <kind>',
      'softap, ble (the simulated BLE medium on this machine) or edgent (Blynk.Edgent legacy, plaintext: only for products that allow it)',
      'softap',
    )
    .option('--name <name>', 'a name for the device in your account')
    .option(
      '--min-security <level>',
      'refuse devices below this security level (the template may require more)',
    )
    .option('--medium-dir <dir>', 'simulated BLE medium folder (default: the system temp folder)')
    .option('--no-join', 'SoftAP by name: do not join the device hotspot (this machine is already on it)')
    .option('--hotspot-passphrase <passphrase>', 'passphrase of the device hotspot, if it has one')
    .option('--timeout <seconds>', 'how long to wait for the device to reach the gateway', '60')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print the result as JSON')
    .action(async (opts: ProvisionOptions) => {
      const qr = opts.qr ? parseQrPayload(opts.qr) : {};
      const transportKind = qr.transport ?? opts.transport;
      if (!opts.template && transportKind === 'edgent') {
        throw new TetherError(
          'VALIDATION_FAILED',
          'Say which product: --template TMPL… (tether template list); Edgent devices do not name it.',
        );
      }
      const address = opts.device ?? qr.name;
      if (!address)
        throw new TetherError('VALIDATION_FAILED', 'Say which device: --device <address> or --qr <payload>.');
      // Logged in? Say so before asking for a PoP and a passphrase.
      const gateway = await sessionClient(opts.gateway);
      const pop =
        opts.pop ??
        qr.pop ??
        (await promptHidden('Proof of possession (device label): ', { option: '--pop' }));
      const ssid = opts.ssid ?? (await prompt('Wi-Fi network name: ', { option: '--ssid' }));
      const passphrase =
        opts.passphrase ??
        process.env.TETHER_WIFI_PASSPHRASE ??
        (await promptHidden(`Passphrase for ${ssid}: `, {
          option: '--passphrase',
          env: 'TETHER_WIFI_PASSPHRASE',
        }));
      const transport: ProvisioningTransport =
        transportKind === 'ble'
          ? new SimBleTransport(opts.mediumDir ? { mediumDir: opts.mediumDir } : {})
          : new SoftApHttpTransport();
      const steps = new StepReporter(opts.json);
      // SoftAP by hotspot name (not host:port): join the device's network, then talk to 192.168.4.1.
      let joiner: WifiJoiner | undefined;
      let deviceAddress = address;
      if (transportKind !== 'ble' && !/^[\w.-]+:\d+$/.test(address)) {
        deviceAddress = SOFTAP_DEFAULT_ADDRESS;
        if (opts.join) {
          joiner = new NodeWifiJoiner();
          steps.start(`Join the device hotspot ${address}`);
          try {
            await joiner.join(address, opts.hotspotPassphrase);
            steps.succeed();
          } catch (error) {
            steps.fail(isTetherError(error) ? error.code : undefined);
            throw error;
          }
        }
      }
      try {
        // Without --template, the device names its own product: it advertises it in proto-ver.
        const templateId = opts.template ?? (await productOf(transport, deviceAddress, steps));
        const onStep = (step: keyof typeof STEP_LABELS, status: 'start' | 'done', detail?: string) =>
          status === 'start' ? steps.start(STEP_LABELS[step]) : steps.succeed(detail);
        if (transportKind === 'edgent') {
          const result = await activateEdgentDevice(gateway, {
            templateId,
            address: deviceAddress,
            wifi: { ssid, passphrase },
            cloudTimeoutMs: Number(opts.timeout) * 1000,
            ...(opts.name ? { deviceName: opts.name } : {}),
            onStep,
            onWarning: (warning) => note(safe`warning: ${warning}`),
          });
          if (opts.json) printJson(result);
          else {
            say(safe`\nDevice ${result.deviceId} is active and yours (plaintext Edgent provisioning).`);
            sayUnknownSecurity(result.deviceReportedSecurity);
          }
          return;
        }
        const result = await activateDevice(transport, gateway, {
          templateId,
          address: deviceAddress,
          pop,
          wifi: { ssid, passphrase },
          cloudTimeoutMs: Number(opts.timeout) * 1000,
          ...(opts.name ? { deviceName: opts.name } : {}),
          ...(opts.minSecurity ? { minSecurity: Number(opts.minSecurity) as 0 | 1 | 2 } : {}),
          onStep,
          // Beyond the peers: a wrong passphrase is corrected in the same session, no reset.
          onWifiFailed: async (error) => {
            steps.fail(error.message);
            if (!process.stdin.isTTY) return undefined;
            const again = await promptHidden(`Passphrase for ${ssid} (empty to give up): `, {
              option: '--passphrase',
            });
            if (!again) return undefined;
            steps.start(STEP_LABELS.wifi);
            return { ssid, passphrase: again };
          },
        });
        if (opts.json) printJson(result);
        else {
          say(
            safe`\nDevice ${result.deviceId} is active and yours (hardware ${result.hardwareId}, security ${result.security}, ${result.durationMs} ms).`,
          );
          sayUnknownSecurity(result.deviceReportedSecurity);
        }
      } catch (error) {
        steps.fail(isTetherError(error) ? error.code : undefined);
        if (isTetherError(error) && !opts.json) {
          const step = error.details?.step as keyof typeof STEP_LABELS | undefined;
          if (step) note(safe`Failed at: ${STEP_LABELS[step] ?? step}`);
          if (error.details?.hint) note(safe`What to do: ${String(error.details.hint)}`);
        }
        throw error;
      } finally {
        await joiner?.leave().catch(() => undefined);
      }
    });
}

/** Firmware that does not report its provisioning security is let in, and said so. */
function sayUnknownSecurity(reported: 0 | 1 | 2 | 'unknown'): void {
  if (reported === 'unknown')
    say(
      'Note: the device did not report the security of its provisioning session (stock Blynk firmware?); the gateway records it as "security unknown".',
    );
}

/**
 * The product a device says it runs (Tether's `tmpl` in its proto-ver answer, read before any
 * secure session): so a person need not type the template.
 */
async function productOf(
  transport: ProvisioningTransport,
  address: string,
  steps: StepReporter,
): Promise<string> {
  steps.start('Ask the device which product it is');
  const link = await transport.connect(address);
  try {
    const info = await new ProtocommClient(link, { minSecurity: 0 }).getVersion();
    const tmpl = info.tether?.tmpl;
    if (!tmpl) {
      throw new TetherError(
        'VALIDATION_FAILED',
        'The device does not say which product it is: pass --template TMPL… (tether template list).',
      );
    }
    steps.succeed(tmpl);
    return tmpl;
  } catch (error) {
    steps.fail(isTetherError(error) ? error.code : undefined);
    throw error;
  } finally {
    await link.close().catch(() => undefined);
  }
}
