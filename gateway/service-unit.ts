/**
 * The systemd unit `tether gateway service` prints: the gateway as a service that restarts on
 * failure, logs to the journal, runs as its own user with its data folder the only place it may
 * write, and gets the time to stop cleanly (gateway/shutdown.ts: 20 s) before systemd kills it.
 */
import { isAbsolute } from 'node:path';
import { TetherError } from '../shared/errors.js';

export interface ServiceUnitOptions {
  /** The user (and group) the gateway runs as. */
  user: string;
  /** Absolute data folder; under /var/lib, systemd makes it (StateDirectory), owned by the user. */
  dataDir: string;
  /** Absolute path of a config file, if any (TETHER_CONFIG). */
  config?: string;
  /** The command that runs tether: absolute paths (node and dist/tether.js, or an installed tether). */
  exec: string[];
}

const USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/** A path as systemd reads it: `%` starts a specifier (systemd.unit(5)), so it is doubled. */
const word = (s: string) => s.replace(/%/g, '%%');

export function serviceUnit(options: ServiceUnitOptions): string {
  const { user, dataDir, config, exec } = options;
  if (!USER.test(user)) {
    throw new TetherError(
      'VALIDATION_FAILED',
      `"${user}" is not a user name systemd accepts (a-z, 0-9, _ and -).`,
    );
  }
  for (const path of [dataDir, ...(config ? [config] : []), ...exec]) {
    // WorkingDirectory= and ReadWritePaths= take no quotes: a folder with a space cannot be said there.
    if (!isAbsolute(path) || /[\s"'\\]/.test(path)) {
      throw new TetherError(
        'VALIDATION_FAILED',
        `${JSON.stringify(path)} must be an absolute path without spaces, quotes or backslashes (systemd cannot take it).`,
      );
    }
  }
  const state = /^\/var\/lib\/([A-Za-z0-9._-]+)$/.exec(dataDir)?.[1];
  const lines = [
    '# Tether gateway. Install:',
    `#   tether gateway service > /etc/systemd/system/tether.service`,
    `#   useradd --system --home-dir ${dataDir} --shell /usr/sbin/nologin ${user}`,
    ...(state ? [] : [`#   install -d -o ${user} -g ${user} -m 0700 ${dataDir}`]),
    '#   systemctl daemon-reload && systemctl enable --now tether',
    '# Logs: journalctl -u tether -f   Secrets (SMTP URL, metrics token): /etc/tether/tether.env',
    '[Unit]',
    'Description=Tether device-activation gateway (HTTP API and MQTT broker)',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `User=${user}`,
    `Group=${user}`,
    `ExecStart=${exec.map(word).join(' ')} gateway start`,
    `Environment=${word(`TETHER_DATA_DIR=${dataDir}`)}`,
    ...(config ? [`Environment=${word(`TETHER_CONFIG=${config}`)}`] : []),
    'Environment=TETHER_LOG_PRETTY=false',
    'EnvironmentFile=-/etc/tether/tether.env',
    ...(state ? [`StateDirectory=${state}`, 'StateDirectoryMode=0700'] : []),
    `WorkingDirectory=${word(dataDir)}`,
    'UMask=0077',
    // Logs go to stdout, which systemd hands to the journal.
    'StandardOutput=journal',
    'StandardError=journal',
    'SyslogIdentifier=tether',
    'Restart=on-failure',
    'RestartSec=2',
    // Exit 2 is a configuration or data problem (CONFIG_INVALID, STORE_INVALID): restarting cannot fix it.
    'RestartPreventExitStatus=2',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=30',
    'LimitNOFILE=65536',
    // Ports below 1024 (443, 8883 are not; 80 is) without running as root.
    'AmbientCapabilities=CAP_NET_BIND_SERVICE',
    'CapabilityBoundingSet=CAP_NET_BIND_SERVICE',
    'NoNewPrivileges=true',
    'ProtectSystem=strict',
    'ProtectHome=true',
    'PrivateTmp=true',
    `ReadWritePaths=${word(dataDir)}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return lines.join('\n');
}
