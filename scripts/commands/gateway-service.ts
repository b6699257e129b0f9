import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { serviceUnit } from '../../gateway/service-unit.js';

export function gatewayServiceCommand(gateway: Command): void {
  gateway
    .command('service')
    .description(
      'Print a systemd unit that runs this gateway as a service (restart on failure, logs to the journal, its own user and data folder). Save it as /etc/systemd/system/tether.service.',
    )
    .option('--user <name>', 'user the gateway runs as', 'tether')
    .option('--data-dir <dir>', 'data folder', '/var/lib/tether')
    .option('-c, --config <file>', 'JSON config file the service reads')
    .action((opts: { user: string; dataDir: string; config?: string }) => {
      // This very tether, as it was started: node and the script, by absolute paths.
      const script = realpathSync(process.argv[1] ?? '');
      process.stdout.write(
        serviceUnit({
          user: opts.user,
          dataDir: resolve(opts.dataDir),
          ...(opts.config ? { config: resolve(opts.config) } : {}),
          exec: [process.execPath, script],
        }),
      );
    });
}
