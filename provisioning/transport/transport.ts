/**
 * The link between a companion and one device's provisioning service. The protocol (protocomm,
 * security 0/1/2, Edgent) talks to these interfaces only, never to a radio: SoftAP over HTTP, BLE
 * through noble, the simulated BLE medium and the in-memory pair all implement them.
 */

export type TransportKind = 'softap' | 'ble' | 'memory';

/** A device seen during discovery. `address` is what connect() takes (host:port, BLE id, …). */
export interface DiscoveredDevice {
  name: string;
  transport: TransportKind;
  address: string;
  /** Signal strength in dBm, where the radio reports one. */
  rssi?: number;
}

export interface DiscoverOptions {
  timeoutMs: number;
  /** Only devices whose advertised name starts with this (e.g. the template's hotspot prefix). */
  namePrefix?: string;
}

/** The companion's side of one connection: one request, one response, per endpoint. */
export interface ProvisioningLink {
  readonly kind: TransportKind;
  /** Send `request` to `endpoint` (e.g. "prov-session") and resolve with the device's answer. */
  exchange(endpoint: string, request: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface ProvisioningTransport {
  readonly kind: TransportKind;
  discover(options: DiscoverOptions): Promise<DiscoveredDevice[]>;
  connect(address: string): Promise<ProvisioningLink>;
}

/**
 * The device's side: what a transport server (HTTP on the SoftAP address, a BLE peripheral) hands
 * each request to. `sessionId` names the transport-level session (HTTP cookie, BLE connection), so
 * the handler can keep one security session per link.
 */
export interface EndpointHandler {
  readonly endpoints: readonly string[];
  handle(endpoint: string, request: Uint8Array, sessionId: string): Promise<Uint8Array>;
  /** The link went away (disconnect, new cookie): forget that session's keys. */
  closeSession(sessionId: string): void;
}
