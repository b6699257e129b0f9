import type {
  EdgentApplyResult,
  EdgentBoardDescription,
  EdgentConfig,
  EdgentDeviceHandler,
  EdgentLastErrorCode,
  EdgentWifiNetwork,
} from '../../provisioning/edgent/edgent-types.js';

/**
 * A tiny stand-in for the firmware-sim behind the Edgent server: some access points with
 * passphrases, a cloud that accepts some tokens, and Edgent's rules for last_error.
 */
export class SimEdgentDevice implements EdgentDeviceHandler {
  lastError: EdgentLastErrorCode = 0;
  readonly applied: EdgentConfig[] = [];
  resets = 0;
  reboots = 0;
  cloudHosts = new Set(['tether.local']);
  validTokens = new Set(['A'.repeat(32)]);
  /** Called after a successful attempt: a real device leaves config mode here. */
  onApplied: (() => Promise<void>) | undefined;

  constructor(
    readonly networks: (EdgentWifiNetwork & { passphrase: string })[] = [
      {
        ssid: 'HomeNet',
        bssid: '10:00:00:00:00:01',
        rssi: -55,
        security: 'WPA2',
        channel: 6,
        passphrase: 'correct horse',
      },
      { ssid: 'Cafe', bssid: '10:00:00:00:00:02', rssi: -80, security: 'OPEN', channel: 1, passphrase: '' },
      {
        ssid: 'Office',
        bssid: '10:00:00:00:00:03',
        rssi: -40,
        security: 'WPA2',
        channel: 11,
        passphrase: 'office-pass',
      },
    ],
  ) {}

  boardInfo(): EdgentBoardDescription {
    return {
      board: 'Thermostat',
      templateId: 'TMPL0123456789',
      firmwareType: 'Thermostat',
      firmwareVersion: '0.1.0',
      apSsid: 'Tether Thermostat-8W4N',
      apBssid: '02:00:00:00:00:aa',
      mac: '02:00:00:00:00:ab',
      lastError: this.lastError,
    };
  }

  async scanWifi(): Promise<EdgentWifiNetwork[]> {
    return this.networks.map(({ passphrase: _p, ...n }) => n);
  }

  async applyConfig(config: EdgentConfig): Promise<EdgentApplyResult> {
    this.applied.push(config);
    const result = this.#attempt(config);
    // ConfigStore.h: a failure is remembered; success clears it.
    this.lastError = result.ok ? 0 : result.lastError;
    if (result.ok) await this.onApplied?.();
    return result;
  }

  #attempt(config: EdgentConfig): EdgentApplyResult {
    if (config.ssid === 'BROKEN-RADIO') throw new Error('radio hardware fault');
    if (config.staticIp?.ip.endsWith('.0')) return { ok: false, lastError: 700 };
    const ap = this.networks.find((n) => n.ssid === config.ssid);
    if (!ap || ap.passphrase !== config.passphrase) return { ok: false, lastError: 701 };
    if (!this.cloudHosts.has(config.host ?? 'blynk.cloud')) return { ok: false, lastError: 702 };
    if (!this.validTokens.has(config.token)) return { ok: false, lastError: 703 };
    return { ok: true };
  }

  async resetConfig(): Promise<void> {
    this.resets++;
    this.lastError = 0;
  }

  async reboot(): Promise<void> {
    this.reboots++;
  }
}
