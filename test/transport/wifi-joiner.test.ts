import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  findExecutable,
  NodeWifiJoiner,
  type NodeWifiLike,
  NoJoin,
  wifiToolFor,
} from '../../provisioning/transport/wifi-joiner.js';
import { isTetherError } from '../../shared/errors.js';

async function errorOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isTetherError(error)) return { code: error.code, message: error.message };
    return { code: `not a TetherError: ${String(error)}`, message: '' };
  }
  return { code: 'resolved', message: '' };
}

/** A node-wifi stand-in whose calls fail the way nmcli does. */
function fakeNodeWifi(failures: Partial<Record<'connect' | 'scan' | 'delete', Error>> = {}) {
  const calls: string[] = [];
  const wifi: NodeWifiLike = {
    init: (o) => void calls.push(`init ${o.iface}`),
    scan: async () => {
      calls.push('scan');
      if (failures.scan) throw failures.scan;
      return [
        { ssid: 'PROV_ABC', bssid: 'AA:BB:CC:00:11:22', channel: 6, signal_level: -48, security: 'none' },
        { ssid: '', bssid: 'AA:BB:CC:00:11:23', channel: 1, signal_level: -90 },
      ];
    },
    connect: async (ap) => {
      calls.push(`connect ${ap.ssid} ${ap.password ?? '-'}`);
      if (failures.connect) throw failures.connect;
    },
    deleteConnection: async (ap) => {
      calls.push(`delete ${ap.ssid}`);
      if (failures.delete) throw failures.delete;
    },
    disconnect: async () => void calls.push('disconnect'),
  };
  return { wifi, calls };
}

describe('Wi-Fi joining', () => {
  let binDir: string;
  let emptyDir: string;

  beforeEach(async () => {
    binDir = await mkdtemp(join(tmpdir(), 'wifi-bin-'));
    emptyDir = await mkdtemp(join(tmpdir(), 'wifi-empty-'));
    const nmcli = join(binDir, 'nmcli');
    await writeFile(nmcli, '#!/bin/sh\nexit 1\n');
    await chmod(nmcli, 0o755);
  });

  afterEach(async () => {
    await rm(binDir, { recursive: true, force: true });
    await rm(emptyDir, { recursive: true, force: true });
  });

  it('NoJoin joins nothing and scans nothing', async () => {
    const joiner = new NoJoin();
    expect(joiner.kind).toBe('none');
    await expect(joiner.join('PROV_ABC', 'secret')).resolves.toBeUndefined();
    await expect(joiner.leave()).resolves.toBeUndefined();
    expect(await joiner.scan()).toEqual([]);
  });

  it('without nmcli, every call says NO_WIFI_TOOLS and what to install, and never loads node-wifi', async () => {
    const joiner = new NodeWifiJoiner({
      platform: 'linux',
      pathEnv: emptyDir,
      loadNodeWifi: () => Promise.reject(new Error('must not load')),
    });
    for (const call of [() => joiner.join('PROV_ABC'), () => joiner.scan()]) {
      const failure = await errorOf(call());
      expect(failure.code).toBe('NO_WIFI_TOOLS');
      expect(failure.message).toMatch(/nmcli.*network-manager.*yourself/);
    }
    await expect(joiner.leave()).resolves.toBeUndefined(); // nothing joined, nothing to leave
  });

  it.runIf(process.platform === 'linux')(
    'on this machine (no NetworkManager) the real joiner says NO_WIFI_TOOLS',
    async () => {
      const hasNmcli = await findExecutable('nmcli');
      const failure = await errorOf(new NodeWifiJoiner().scan());
      if (!hasNmcli) expect(failure.code).toBe('NO_WIFI_TOOLS');
    },
  );

  it('knows the tool per platform and refuses platforms node-wifi does not cover', async () => {
    expect(wifiToolFor('linux')?.command).toBe('nmcli');
    expect(wifiToolFor('darwin')?.command).toBe('networksetup');
    expect(wifiToolFor('win32')?.command).toBe('netsh');
    expect((await errorOf(new NodeWifiJoiner({ platform: 'aix' }).scan())).code).toBe('NO_WIFI_TOOLS');
    expect(await findExecutable('nmcli', binDir, 'linux')).toBe(join(binDir, 'nmcli'));
  });

  it('joins with a passphrase through node-wifi, leaves by deleting the profile, and scans', async () => {
    const { wifi, calls } = fakeNodeWifi();
    const joiner = new NodeWifiJoiner({
      platform: 'linux',
      pathEnv: binDir,
      iface: 'wlan0',
      loadNodeWifi: async () => wifi,
    });
    await joiner.join('PROV_ABC', 'abcd1234');
    await joiner.leave();
    expect(await joiner.scan()).toEqual([
      { ssid: 'PROV_ABC', bssid: 'aa:bb:cc:00:11:22', rssi: -48, channel: 6, security: 'none' },
    ]);
    expect(calls).toEqual(['init wlan0', 'connect PROV_ABC abcd1234', 'delete PROV_ABC', 'scan']);
  });

  it('joins an open network on Linux with nmcli directly (node-wifi always sends a password)', async () => {
    const { wifi, calls } = fakeNodeWifi();
    const ran: string[][] = [];
    const joiner = new NodeWifiJoiner({
      platform: 'linux',
      pathEnv: binDir,
      loadNodeWifi: async () => wifi,
      runNmcli: async (args) => {
        ran.push(args);
        return 'Device successfully activated';
      },
    });
    await joiner.join('PROV_OPEN');
    expect(ran).toEqual([['-w', '10', 'device', 'wifi', 'connect', 'PROV_OPEN']]);
    expect(calls).toEqual(['init null']);
  });

  it('maps nmcli failures to stable codes', async () => {
    const cases: [Error, string][] = [
      [
        new Error('Connection activation failed: (7) Secrets were required, but not provided.'),
        'WIFI_AUTH_FAILED',
      ],
      [new Error("No network with SSID 'PROV_GONE' found."), 'WIFI_NETWORK_NOT_FOUND'],
      [Object.assign(new Error('spawn nmcli ENOENT'), { code: 'ENOENT' }), 'NO_WIFI_TOOLS'],
      [new Error('Timeout expired (10 seconds)'), 'TIMEOUT'],
      [new Error('something else'), 'DEVICE_UNREACHABLE'],
    ];
    for (const [error, code] of cases) {
      const { wifi } = fakeNodeWifi({ connect: error });
      const joiner = new NodeWifiJoiner({
        platform: 'linux',
        pathEnv: binDir,
        loadNodeWifi: async () => wifi,
      });
      expect((await errorOf(joiner.join('PROV_GONE', 'pw'))).code).toBe(code);
    }
  });
});
