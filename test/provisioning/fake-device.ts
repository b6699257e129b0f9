/** A scripted device behind the protocomm endpoints, for tests: access points, a radio that fails like a real one. */
import type {
  ActivationHandler,
  ControlHandler,
  WifiConfigHandler,
  WifiScanHandler,
} from '../../provisioning/protocol/device-handlers.js';
import type { ActivationRequest } from '../../provisioning/protocol/messages/activation-messages.js';
import type { WifiStatus } from '../../provisioning/protocol/messages/wifi-config-messages.js';
import type { ScanStatus, WifiNetwork } from '../../provisioning/protocol/messages/wifi-scan-messages.js';

export interface FakeAccessPoint extends WifiNetwork {
  passphrase: string;
}

export class FakeDevice implements WifiConfigHandler, WifiScanHandler, ControlHandler, ActivationHandler {
  status: WifiStatus = { state: 'disconnected' };
  pending: { ssid: string; passphrase: string; bssid?: string; channel?: number } | undefined;
  activations: ActivationRequest[] = [];
  resets = 0;
  reprovisions = 0;
  scanned = false;

  constructor(readonly accessPoints: FakeAccessPoint[] = []) {}

  getStatus(): WifiStatus {
    return this.status;
  }

  setConfig(ssid: string, passphrase: string, bssid?: string, channel?: number): void {
    this.pending = { ssid, passphrase };
    if (bssid !== undefined) this.pending.bssid = bssid;
    if (channel !== undefined) this.pending.channel = channel;
  }

  applyConfig(): void {
    const wanted = this.pending;
    if (!wanted) throw new Error('no credentials');
    const ap = this.accessPoints.find((candidate) => candidate.ssid === wanted.ssid);
    if (!ap) this.status = { state: 'failed', reason: 'network-not-found' };
    else if (ap.passphrase !== wanted.passphrase) this.status = { state: 'failed', reason: 'auth-error' };
    else {
      this.status = {
        state: 'connected',
        ip4Address: '192.168.1.42',
        ssid: ap.ssid,
        bssid: ap.bssid,
        channel: ap.channel,
        authMode: ap.authMode,
      };
    }
  }

  startScan(): void {
    this.scanned = true;
  }

  scanStatus(): ScanStatus {
    return { finished: this.scanned, resultCount: this.scanned ? this.accessPoints.length : 0 };
  }

  scanResults(startIndex: number, count: number): WifiNetwork[] {
    return this.accessPoints
      .slice(startIndex, startIndex + count)
      .map(({ passphrase: _, ...network }) => network);
  }

  reset(): void {
    this.resets++;
    this.pending = undefined;
    this.status = { state: 'disconnected' };
  }

  reprovision(): void {
    this.reprovisions++;
  }

  activate(request: ActivationRequest): { hardwareId: string } {
    this.activations.push(request);
    return { hardwareId: 'esp32-a1b2c3' };
  }
}

export const homeNetworks = (count = 3): FakeAccessPoint[] =>
  Array.from({ length: count }, (_, i) => ({
    ssid: i === 0 ? 'home' : `neighbour-${i}`,
    bssid: `02:00:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`,
    channel: 1 + (i % 11),
    rssi: -40 - i,
    authMode: 'wpa2-psk' as const,
    passphrase: i === 0 ? 'correct horse' : `secret-${i}`,
  }));
