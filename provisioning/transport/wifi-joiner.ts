/**
 * Getting the companion's machine onto a device's SoftAP before the HTTP transport can reach
 * 192.168.4.1. A small interface with two implementations: node-wifi (which drives the OS's own
 * tools) and NoJoin, for when the person already joined the device's network by hand.
 *
 * node-wifi is imported lazily, inside NodeWifiJoiner only: it shells out to OS tools that may
 * be missing, and on load it rewrites LANG/LC_ALL in process.env (its src/env.js, so it can parse
 * English tool output) — nothing that does not join Wi-Fi should pay for that.
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { isTetherError, TetherError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';

export interface WifiNetwork {
  ssid: string;
  bssid?: string;
  /** dBm */
  rssi?: number;
  channel?: number;
  /** As the OS reports it: "WPA2", "none", … */
  security?: string;
}

export interface WifiJoiner {
  readonly kind: 'node-wifi' | 'none';
  /** Join the device's access point; resolves once associated. */
  join(ssid: string, passphrase?: string): Promise<void>;
  /** Leave it again, so the machine returns to its usual network. */
  leave(): Promise<void>;
  /** Networks in range (empty where the implementation cannot scan). */
  scan(): Promise<WifiNetwork[]>;
}

/** The machine is already on the device's network: joining is the person's job, not ours. */
export class NoJoin implements WifiJoiner {
  readonly kind = 'none' as const;
  readonly #logger: Logger | undefined;

  constructor(options: { logger?: Logger } = {}) {
    this.#logger = options.logger;
  }

  async join(ssid: string, _passphrase?: string): Promise<void> {
    this.#logger?.info({ ssid }, 'not joining Wi-Fi: assuming this machine is already on the device network');
  }

  async leave(): Promise<void> {}

  async scan(): Promise<WifiNetwork[]> {
    return [];
  }
}

/** The OS tool node-wifi needs on each platform, and how a person gets it. */
export function wifiToolFor(platform: NodeJS.Platform): { command: string; install: string } | undefined {
  switch (platform) {
    case 'linux':
      return {
        command: 'nmcli',
        install:
          'install NetworkManager (Debian/Ubuntu: sudo apt install network-manager; Fedora: sudo dnf install NetworkManager) and let it manage the Wi-Fi interface',
      };
    case 'darwin':
      return {
        command: 'networksetup',
        install: 'networksetup ships with macOS; check that /usr/sbin is on PATH',
      };
    case 'win32':
      return { command: 'netsh', install: 'netsh ships with Windows; check that System32 is on PATH' };
    default:
      return undefined;
  }
}

/** Look for an executable on PATH without running anything. */
export async function findExecutable(
  command: string,
  pathEnv = process.env.PATH ?? '',
  platform: NodeJS.Platform = process.platform,
): Promise<string | undefined> {
  const names = platform === 'win32' ? [`${command}.exe`, command] : [command];
  for (const dir of pathEnv.split(delimiter).filter(Boolean)) {
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        await access(candidate, platform === 'win32' ? constants.F_OK : constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** The parts of node-wifi 2.x this joiner uses. */
export interface NodeWifiLike {
  init(options: { iface: string | null; debug?: boolean }): void;
  scan(): Promise<NodeWifiNetwork[]>;
  connect(ap: { ssid: string; password?: string }): Promise<void>;
  deleteConnection(ap: { ssid: string }): Promise<void>;
  disconnect(): Promise<void>;
}

export interface NodeWifiNetwork {
  ssid: string;
  bssid?: string;
  channel?: number;
  signal_level?: number;
  security?: string;
}

export interface NodeWifiJoinerOptions {
  /** The Wi-Fi interface (default: the OS's choice). */
  iface?: string;
  platform?: NodeJS.Platform;
  /** Where to look for the OS tool (default process.env.PATH). */
  pathEnv?: string;
  /** Replaces the dynamic import (tests). */
  loadNodeWifi?: () => Promise<NodeWifiLike>;
  /** Runs nmcli for open networks (tests). */
  runNmcli?: (args: string[]) => Promise<string>;
  logger?: Logger;
}

const JOIN_HINT = 'Or join the device network yourself and provision without joining (NoJoin).';

export class NodeWifiJoiner implements WifiJoiner {
  readonly kind = 'node-wifi' as const;
  readonly #options: NodeWifiJoinerOptions;
  readonly #platform: NodeJS.Platform;
  #wifi: Promise<NodeWifiLike> | undefined;
  #joined: string | undefined;

  constructor(options: NodeWifiJoinerOptions = {}) {
    this.#options = options;
    this.#platform = options.platform ?? process.platform;
  }

  async join(ssid: string, passphrase?: string): Promise<void> {
    const wifi = await this.#load();
    try {
      if (!passphrase && this.#platform === 'linux') {
        // node-wifi's Linux connect always passes "password <value>", which nmcli refuses for an
        // open network (the usual SoftAP of a device in provisioning mode).
        const args = ['-w', '10', 'device', 'wifi', 'connect', ssid];
        if (this.#options.iface) args.push('ifname', this.#options.iface);
        const out = await (this.#options.runNmcli ?? runNmcli)(args);
        if (out.includes('Error: ')) throw new Error(out.replace('Error: ', '').trim());
      } else {
        await wifi.connect(passphrase ? { ssid, password: passphrase } : { ssid });
      }
      this.#joined = ssid;
      this.#options.logger?.info({ ssid }, 'joined the device Wi-Fi');
    } catch (error) {
      throw this.#translate(error, ssid);
    }
  }

  async leave(): Promise<void> {
    const ssid = this.#joined;
    if (!ssid) return;
    const wifi = await this.#load();
    try {
      // Deleting the profile we created disconnects, and NetworkManager (or the OS) then
      // reconnects to the network the machine was on before, with its saved credentials.
      if (this.#platform === 'win32') await wifi.disconnect();
      else await wifi.deleteConnection({ ssid });
      this.#joined = undefined;
    } catch (error) {
      throw this.#translate(error, ssid);
    }
  }

  async scan(): Promise<WifiNetwork[]> {
    const wifi = await this.#load();
    try {
      const networks = await wifi.scan();
      return networks
        .filter((n) => n.ssid)
        .map((n) => {
          const out: WifiNetwork = { ssid: n.ssid };
          if (n.bssid) out.bssid = n.bssid.toLowerCase();
          if (Number.isFinite(n.signal_level)) out.rssi = n.signal_level!;
          if (Number.isFinite(n.channel)) out.channel = n.channel!;
          if (n.security) out.security = n.security;
          return out;
        });
    } catch (error) {
      throw this.#translate(error);
    }
  }

  #load(): Promise<NodeWifiLike> {
    this.#wifi ??= this.#open().catch((error: unknown) => {
      this.#wifi = undefined; // the person may install the tool and retry
      throw error;
    });
    return this.#wifi;
  }

  async #open(): Promise<NodeWifiLike> {
    const tool = wifiToolFor(this.#platform);
    if (!tool) {
      throw new TetherError(
        'NO_WIFI_TOOLS',
        `Joining Wi-Fi is not supported on ${this.#platform}. ${JOIN_HINT}`,
      );
    }
    if (!(await findExecutable(tool.command, this.#options.pathEnv, this.#platform))) {
      throw new TetherError(
        'NO_WIFI_TOOLS',
        `Joining the device's Wi-Fi needs "${tool.command}", which is not on this machine: ${tool.install}. ${JOIN_HINT}`,
        { details: { command: tool.command } },
      );
    }
    let wifi: NodeWifiLike;
    try {
      if (this.#options.loadNodeWifi) wifi = await this.#options.loadNodeWifi();
      else {
        const specifier = 'node-wifi';
        const mod = (await import(specifier)) as { default?: NodeWifiLike } & NodeWifiLike;
        wifi = mod.default ?? mod;
      }
      wifi.init({ iface: this.#options.iface ?? null });
    } catch (error) {
      throw new TetherError('NO_WIFI_TOOLS', `The Wi-Fi library (node-wifi) could not start. ${JOIN_HINT}`, {
        cause: error,
      });
    }
    return wifi;
  }

  /** OS tool errors → stable codes a person can act on. */
  #translate(error: unknown, ssid?: string): TetherError {
    if (isTetherError(error)) return error;
    const err = error as NodeJS.ErrnoException;
    const message = String(err?.message ?? error);
    const details = ssid === undefined ? {} : { ssid };
    if (err?.code === 'ENOENT') {
      const tool = wifiToolFor(this.#platform);
      return new TetherError(
        'NO_WIFI_TOOLS',
        `"${tool?.command ?? 'the Wi-Fi tool'}" could not be run. ${JOIN_HINT}`,
        {
          cause: error,
          details,
        },
      );
    }
    if (/secrets were required|password|802-11-wireless-security|authentication|4-way|psk/i.test(message)) {
      return new TetherError('WIFI_AUTH_FAILED', `Wrong passphrase for the Wi-Fi network "${ssid}".`, {
        cause: error,
        details,
      });
    }
    if (/no network with ssid|not found|could not find|no such network/i.test(message)) {
      return new TetherError(
        'WIFI_NETWORK_NOT_FOUND',
        `The Wi-Fi network "${ssid}" is not in range. Is the device in provisioning mode and nearby?`,
        { cause: error, details },
      );
    }
    if (/timeout|timed out/i.test(message)) {
      return new TetherError('TIMEOUT', `Joining "${ssid}" timed out.`, { cause: error, details });
    }
    return new TetherError('DEVICE_UNREACHABLE', `Could not join the Wi-Fi network "${ssid}": ${message}`, {
      cause: error,
      details,
    });
  }
}

function runNmcli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'nmcli',
      args,
      { env: { ...process.env, LC_ALL: 'C' }, timeout: 30_000 },
      (error, stdout, stderr) => {
        // nmcli reports most failures on stdout/stderr as "Error: …" with exit code ≠ 0.
        const text = `${stdout}${stderr}`;
        if (error && !text.includes('Error: ')) reject(error);
        else resolve(text);
      },
    );
  });
}
