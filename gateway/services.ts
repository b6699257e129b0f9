/** The gateway's object graph, built once per gateway by app.ts and handed to the HTTP routes. */

import type { Clock } from '../shared/clock.js';
import type { TetherConfig } from '../shared/config.js';
import type { AccountServices } from './accounts/account-services.js';
import type { AuthService } from './accounts/auth-service.js';
import type { Auditor } from './audit.js';
import type { DeviceBroker } from './broker/device-broker.js';
import type { DeviceConnections } from './devices/device-connections.js';
import type { DeviceEventService } from './devices/device-events.js';
import type { DeviceLifecycleService } from './devices/device-lifecycle-service.js';
import type { DeviceService } from './devices/device-service.js';
import type { ProvisioningService } from './devices/provisioning-service.js';
import type { StaticTokenService } from './devices/static-token-service.js';
import type { TemplateService } from './devices/template-service.js';
import type { EventBus } from './events.js';
import type { GatewayMetrics } from './metrics.js';
import type { Store } from './store/store.js';

export interface GatewayServices {
  config: TetherConfig;
  /** The data folder, resolved; undefined for a gateway that lives in memory. */
  dataDir: string | undefined;
  clock: Clock;
  store: Store;
  events: EventBus;
  auditor: Auditor;
  auth: AuthService;
  templates: TemplateService;
  devices: DeviceService;
  provisioning: ProvisioningService;
  /** This node's MQTT broker (its ports, its own connections). */
  broker: DeviceBroker;
  /** The link to the cluster's Redis; undefined for a gateway that is one node. */
  cluster?: { readonly reachable: boolean } | undefined;
  /** Reaches a device on whichever node holds its connection (this node's broker on one node). */
  connections: DeviceConnections;
  /** Rename, write, reconfigure, transfer, re-provision, delete. */
  lifecycle: DeviceLifecycleService;
  staticTokens: StaticTokenService;
  /** Prometheus metrics for /metrics. */
  metrics: GatewayMetrics;
  /** Device event timelines (Blynk event/<code>): record, list, notify. */
  deviceEvents: DeviceEventService;
  /** Orgs, users, roles, invitations, registration, sharing (gateway/accounts). */
  accounts: AccountServices;
}
