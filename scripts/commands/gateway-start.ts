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
    .option(
      '--tls-cert <file>',
      'PEM certificate for HTTPS (and wss) on the HTTP port and MQTT over TLS (mqtt.tlsPort, 8883)',
    )
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .action(
      async (opts: {
        config?: string;
        dataDir?: string;
        httpPort?: string;
        mqttPort?: string;
        tlsCert?: string;
        tlsKey?: string;
      }) => {
        // One certificate for both TLS listeners; the settings (http.tls*, mqtt.tls*) can differ.
        const tls = {
          ...(opts.tlsCert ? { tlsCertFile: opts.tlsCert } : {}),
          ...(opts.tlsKey ? { tlsKeyFile: opts.tlsKey } : {}),
        };
        await runGateway({
          ...(opts.config ? { file: opts.config } : {}),
          overrides: {
            ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
            http: { ...(opts.httpPort !== undefined ? { port: Number(opts.httpPort) } : {}), ...tls },
            mqtt: { ...(opts.mqttPort !== undefined ? { port: Number(opts.mqttPort) } : {}), ...tls },
          },
        });
      },
    );
}
