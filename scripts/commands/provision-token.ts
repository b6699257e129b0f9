/**
 * `tether provision token`: a provisioning session for a field technician who activates the
 * device with another tool — Espressif's esp_prov, or the device's own console — instead of
 * `tether provision`. It prints the device token and broker URL, and the exact `--custom_data`
 * text esp_prov hands to the device's standard `custom-data` endpoint. With --wait it then
 * follows the session until the device reaches the gateway.
 */
import type { Command } from 'commander';
import { waitForCloudActivation } from '../../provisioning/companion/activation-flow.js';
import { encodeCustomDataActivation } from '../../provisioning/protocol/messages/custom-data-activation.js';
import { TetherError } from '../../shared/errors.js';
import { sessionClient } from '../cli/cli-context.js';

interface TokenOptions {
  template?: string;
  name?: string;
  wait?: boolean;
  gateway?: string;
  json?: boolean;
}

/** One word for a POSIX shell, quoted only when it needs it. */
export const shellWord = (text: string): string =>
  /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;

export function provisionTokenCommand(provision: Command): void {
  provision
    .command('token')
    .description(
      'Start a provisioning session and print its device token, for activating a device with esp_prov (--custom_data) or another tool.',
    )
    .option('-t, --template <id>', 'template (product) id of the device, TMPL… (required)')
    .option('--name <name>', 'a name for the device in your account')
    .option('--wait', 'then wait until the device reaches the gateway (Ctrl-C gives the session back)')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print the session (and, with --wait, the outcome) as JSON lines')
    .action(async (opts: TokenOptions) => {
      if (!opts.template)
        throw new TetherError(
          'VALIDATION_FAILED',
          'Say which product: --template TMPL… (tether template list).',
        );
      const gateway = await sessionClient(opts.gateway);
      if (!gateway.loggedIn)
        throw new TetherError('AUTH_REQUIRED', 'Log in first: tether login --email <you>.');
      const session = await gateway.createProvisioningSession(opts.template, opts.name);
      const customData = encodeCustomDataActivation({
        token: session.token,
        brokerUrl: session.brokerUrl,
        templateId: session.templateId,
      });
      const minutes = Math.round((session.expiresAt - Date.now()) / 60_000);
      if (opts.json) process.stdout.write(`${JSON.stringify({ ...session, customData })}\n`);
      else
        process.stdout.write(
          [
            `Provisioning session for ${session.templateId}: device ${session.deviceId}, valid for ${minutes} min (until ${new Date(session.expiresAt).toLocaleTimeString()}).`,
            `  Token        ${session.token}`,
            `  Broker       ${session.brokerUrl}`,
            `  Custom data  ${customData}`,
            '',
            'With esp_prov (esp-idf tools/esp_prov; a security 1 device takes --sec_ver 1 --pop <PoP> instead):',
            '  python3 esp_prov.py --transport softap --service_name 192.168.4.1:80 --sec_ver 2 \\',
            '    --sec2_username wifiprov --sec2_pwd <PoP on the label> \\',
            `    --custom_data ${shellWord(customData)} \\`,
            '    --ssid <Wi-Fi network> --passphrase <Wi-Fi passphrase>',
            '',
          ].join('\n'),
        );
      if (!opts.wait) return;

      if (!opts.json)
        process.stdout.write(
          'Waiting for the device to reach the gateway (Ctrl-C gives the session back)…\n',
        );
      const giveBack = () =>
        void gateway
          .cancelProvisioningSession(session.deviceId)
          .catch(() => undefined)
          .finally(() => process.exit(130));
      process.once('SIGINT', giveBack);
      try {
        // Until the session's own deadline: the gateway then answers "expired" itself.
        const device = await waitForCloudActivation(
          gateway,
          session.deviceId,
          session.expiresAt - Date.now() + 5_000,
        );
        if (opts.json) process.stdout.write(`${JSON.stringify({ state: 'active', device })}\n`);
        else
          process.stdout.write(
            `Device ${device.id} is active and yours (hardware ${device.hardwareId ?? 'unknown'}).\n`,
          );
      } finally {
        process.off('SIGINT', giveBack);
      }
    });
}
