/**
 * The provisioning session on the wire, written once for the gateway that answers and the
 * companions that ask (the CLI, the console, the fleet runner): POST /api/provisioning/sessions
 * answers a ProvisioningSessionInfo; GET …/:deviceId and its event stream answer outcomes.
 */

export interface ProvisioningSessionInfo {
  deviceId: string;
  templateId: string;
  /** The device's auth token: shown once, here; only its hash is stored. */
  token: string;
  brokerUrl: string;
  expiresAt: number;
  /** Lowest provisioning security the companion may accept for this product. */
  minSecurity: 0 | 1 | 2;
}

export type ProvisioningOutcome =
  | { state: 'waiting'; expiresAt: number }
  | {
      state: 'active';
      device: {
        id: string;
        ownerId: string | null;
        name: string;
        hardwareId: string | null;
        /** The provisioning security the device reported; 'unknown' when it reported none. */
        provisioningSecurity?: 0 | 1 | 2 | 'unknown';
      };
    }
  | { state: 'failed' | 'expired'; code: string; message: string };
