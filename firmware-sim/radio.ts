/**
 * The simulated air: access points a device can see and join, failing as a real radio does.
 * A device joins by SSID and passphrase; the outcome depends on the access point's settings.
 */

export interface AccessPoint {
  ssid: string;
  /** Empty for an open network. */
  passphrase: string;
  /** dBm; below WEAK_SIGNAL_DBM a join fails as "not found" would on real hardware. */
  rssi: number;
  channel?: number;
  bssid?: string;
  /** Share of joins that drop during association (flaky Wi-Fi), 0..1. */
  dropRate?: number;
  /**
   * false: the network joins but routes nowhere (a captive or firewalled LAN), so the cloud never
   * answers and the device's cloud timeout decides. Default true.
   */
  internet?: boolean;
}

export const WEAK_SIGNAL_DBM = -90;

export type JoinResult =
  | { ok: true; ap: AccessPoint; ip: string }
  | { ok: false; reason: 'auth-failed' | 'not-found' | 'weak-signal' | 'dropped' };

export class SimulatedAir {
  readonly #aps = new Map<string, AccessPoint>();

  constructor(
    aps: AccessPoint[] = [],
    private readonly random: () => number = Math.random,
  ) {
    for (const ap of aps) this.add(ap);
  }

  add(ap: AccessPoint): void {
    this.#aps.set(ap.ssid, ap);
  }

  remove(ssid: string): void {
    this.#aps.delete(ssid);
  }

  /** What a scan shows: access points above the noise floor, strongest first. */
  scan(): AccessPoint[] {
    return [...this.#aps.values()]
      .filter((ap) => ap.rssi > WEAK_SIGNAL_DBM - 10)
      .sort((a, b) => b.rssi - a.rssi);
  }

  join(ssid: string, passphrase: string): JoinResult {
    const ap = this.#aps.get(ssid);
    if (!ap) return { ok: false, reason: 'not-found' };
    if (ap.rssi < WEAK_SIGNAL_DBM) return { ok: false, reason: 'weak-signal' };
    if (ap.passphrase !== passphrase) return { ok: false, reason: 'auth-failed' };
    if (ap.dropRate && this.random() < ap.dropRate) return { ok: false, reason: 'dropped' };
    return { ok: true, ap, ip: `192.168.1.${10 + Math.floor(this.random() * 200)}` };
  }
}
