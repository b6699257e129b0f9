import type { Command } from 'commander';
import { runGateway } from '../../gateway/main.js';

export function gatewayStartCommand(gateway: Command): void {
  gateway
    .command('start')
    .description('Start the gateway (HTTP API and MQTT broker) with its configuration; Ctrl-C stops it.')
    .option(
      '-c, --config <file>',
      'JSON config file (default ./tether.config.json if present; or TETHER_CONFIG)',
    )
    .option('--data-dir <dir>', 'data folder (database, keys, outbox); default ./data')
    .option('--http-port <port>', 'HTTP port (default 8080; 0 = any free port)')
    .option('--mqtt-port <port>', 'MQTT port (default 1883; 0 = any free port)')
    .action(async (opts: { config?: string; dataDir?: string; httpPort?: string; mqttPort?: string }) => {
      await runGateway({
        ...(opts.config ? { file: opts.config } : {}),
        overrides: {
          ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
          ...(opts.httpPort !== undefined ? { http: { port: Number(opts.httpPort) } } : {}),
          ...(opts.mqttPort !== undefined ? { mqtt: { port: Number(opts.mqttPort) } } : {}),
        },
      });
    });
}
