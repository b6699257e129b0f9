/**
 * What a device implements behind the protocomm endpoints. The protocol layer calls these after it
 * has decrypted and checked a request; the firmware simulator (or real glue code) owns the radio.
 */
import type { ActivationRequest } from './messages/activation-messages.js';
import type { WifiStatus } from './messages/wifi-config-messages.js';
import type { ScanOptions, ScanStatus, WifiNetwork } from './messages/wifi-scan-messages.js';

export type MaybePromise<T> = T | Promise<T>;

/** prov-config. After a failed attempt the device keeps the session and accepts new settings. */
export interface WifiConfigHandler {
  getStatus(): MaybePromise<WifiStatus>;
  /** Store credentials for the next apply; throw to answer InternalError. */
  setConfig(ssid: string, passphrase: string, bssid?: string, channel?: number): MaybePromise<void>;
  /** Start joining with the stored credentials; progress is read through getStatus(). */
  applyConfig(): MaybePromise<void>;
}

/** prov-scan */
export interface WifiScanHandler {
  startScan(options: Required<ScanOptions>): MaybePromise<void>;
  scanStatus(): MaybePromise<ScanStatus>;
  /** Results [startIndex, startIndex + count); the protocol layer checks the bounds first. */
  scanResults(startIndex: number, count: number): MaybePromise<WifiNetwork[]>;
}

/** prov-ctrl */
export interface ControlHandler {
  /** Forget the Wi-Fi credentials received in this provisioning run (esp-idf: wifi ctrl reset). */
  reset(): MaybePromise<void>;
  /** Go back into provisioning after a failure (esp-idf: wifi ctrl reprov). */
  reprovision(): MaybePromise<void>;
}

export interface ActivationResult {
  hardwareId: string;
}

/**
 * tether-activation and custom-data. Throw a TetherError VALIDATION_FAILED or TEMPLATE_MISMATCH to refuse with a
 * reason the companion shows; anything else answers internal-error.
 */
export interface ActivationHandler {
  activate(request: ActivationRequest): MaybePromise<ActivationResult>;
}
