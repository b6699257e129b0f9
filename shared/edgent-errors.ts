/**
 * Blynk.Edgent's provisioning error codes (`last_error`), as its firmware reports them (blynk-library
 * examples/Blynk.Edgent: ConfigStore.h BLYNK_PROV_ERR_*, BlynkInject InjectError), written once for
 * the device that sets them (firmware-sim) and the companions that read them (provisioning/edgent).
 */

/** What the device remembers about its last failed attempt. */
export const EdgentLastError = {
  none: 0,
  /** Invalid config from the app (malformed token, static IP that does not apply, …). */
  config: 700,
  /** Could not connect to the router (wrong password or network not in range). */
  network: 701,
  /** Could not connect to the cloud. */
  cloud: 702,
  /** The cloud refused the token. */
  token: 703,
  /** Anything else (hardware failure). */
  internal: 704,
} as const;

export type EdgentLastErrorCode = (typeof EdgentLastError)[keyof typeof EdgentLastError];
export type EdgentFailureCode = Exclude<EdgentLastErrorCode, 0>;

export const isEdgentLastErrorCode = (value: unknown): value is EdgentLastErrorCode =>
  Object.values(EdgentLastError).includes(value as EdgentLastErrorCode);
