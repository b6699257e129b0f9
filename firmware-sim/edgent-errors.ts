/**
 * Blynk.Edgent's provisioning error codes (`last_error`), as its firmware reports them
 * (blynk-library Edgent / BlynkInject InjectError): the simulator sets them the same way.
 */
export const EdgentError = {
  none: 0,
  /** Invalid configuration from the app (malformed token, missing SSID). */
  config: 700,
  /** Could not connect to the router (wrong passphrase, network not found). */
  network: 701,
  /** Could not connect to the cloud. */
  cloud: 702,
  /** The cloud refused the token. */
  token: 703,
  internal: 704,
} as const;

export type EdgentErrorCode = (typeof EdgentError)[keyof typeof EdgentError];
