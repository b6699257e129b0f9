/**
 * `tether gateway start`: load the configuration, start a gateway, print what a person needs
 * (where it listens, how to log in or finish set-up), and stop cleanly on SIGINT/SIGTERM.
 */
import { join, resolve } from 'node:path';
import { type LoadConfigOptions, loadConfig, redactConfig, type TetherConfig } from '../shared/config.js';
import { CONSOLE_PAGES } from '../shared/console-pages.js';
import { ExitCode } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { Gateway } from './app.js';
import { installCrashPolicy } from './crash-policy.js';
import { stopWithin } from './shutdown.js';
import { postgresAddress } from './store/postgres/address.js';

export async function runGateway(options: LoadConfigOptions = {}): Promise<Gateway> {
  const config = loadConfig(options);
  const logger = createLogger({
    level: config.log.level,
    pretty: config.log.pretty || process.stdout.isTTY === true,
  });
  logger.debug({ config: redactConfig(config) }, 'configuration');
  // One failing client or request never ends the process; only a broken invariant of its own does.
  installCrashPolicy({ logger });
  const gateway = await Gateway.create({ config, logger });
  await gateway.start();

  const api = gateway.httpUrl;
  const lines = ['', `Tether gateway is running.`];
  for (const listener of gateway.listeners()) {
    const where =
      'url' in listener
        ? `${listener.url}${listener.url === api ? `   (health: ${api}/healthz)` : ''}`
        : `off (${listener.off})`;
    lines.push(`  ${listener.name.padEnd(14)} ${where}`);
  }
  const database =
    config.store.backend === 'postgres'
      ? `PostgreSQL at ${postgresAddress(config.store.url)}`
      : join(resolve(config.dataDir), 'tether.json');
  lines.push(`  ${'Data folder'.padEnd(14)} ${resolve(config.dataDir)}   (database ${database})`);
  const firstRun = gateway.firstRun;
  if (firstRun?.state === 'created') {
    lines.push(`  Created organization "${firstRun.org.name}" and its admin ${firstRun.user.email}.`);
  } else if (firstRun?.state === 'setup-required') {
    // Printed once, to the person at the terminal; it is never logged.
    lines.push(
      '',
      '  No accounts yet. Open this one-time link to create the first admin:',
      `    ${setupLink(api, firstRun.setupCode)}`,
      '  (or restart with TETHER_ADMIN_EMAIL and TETHER_ADMIN_PASSWORD set).',
    );
  }
  const warning = publicUrlWarning(config);
  if (warning) {
    logger.warn(warning);
    lines.push('', `  Warning: ${warning}`);
  }
  if (gateway.httpsEnabled) {
    lines.push(
      '',
      `  HTTPS with ${config.http.tlsCertFile}: if it is self-signed, clients must trust it`,
      `  (curl --cacert FILE, NODE_EXTRA_CA_CERTS=FILE for tether, the browser's certificate settings).`,
    );
  }
  lines.push(
    '',
    `  Next: open ${api}/ in a browser, or tether login --email <you>${gateway.httpsEnabled ? ` --gateway ${api}` : ''}  ·  Ctrl-C stops the gateway.`,
    '',
  );
  // Listening for the signals before saying it runs: a stop right after the banner is a clean one.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting without waiting for the gateway to stop.\n`);
      process.exit(ExitCode.internal);
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    const outcome = await stopWithin(gateway);
    if (outcome.line) {
      logger.error(outcome.details ?? {}, outcome.line);
      process.stderr.write(`${outcome.line}\n`);
    }
    process.exit(outcome.code);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.stdout.write(lines.join('\n'));
  return gateway;
}

/** The console page that finishes first-run set-up; the code stays in the fragment, never sent to a server. */
export const setupLink = (base: string, setupCode: string): string =>
  `${base.replace(/\/+$/, '')}${CONSOLE_PAGES.setup}#code=${encodeURIComponent(setupCode)}`;

/**
 * A gateway on every interface without a public URL mails links to 127.0.0.1, which a phone or another
 * computer cannot open. Said at start (and by `tether doctor`).
 */
export function publicUrlWarning(config: TetherConfig): string | undefined {
  const everywhere = config.http.host === '0.0.0.0' || config.http.host === '::';
  if (!everywhere || config.http.publicUrl) return undefined;
  return `the HTTP API listens on all interfaces (${config.http.host}) but http.publicUrl is not set, so mailed links (invitations, password resets) point at 127.0.0.1 and open only on this machine. Set TETHER_HTTP_PUBLIC_URL to the address people reach this gateway at, e.g. http://gateway.local:8080.`;
}
