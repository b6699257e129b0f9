/** What the account services share; app.ts builds one of these per gateway. */
import type { Clock } from '../../shared/clock.js';
import type { TetherConfig } from '../../shared/config.js';
import type { FailureLimiterFactory } from '../../shared/failure-limiter.js';
import type { Logger } from '../../shared/logger.js';
import type { Auditor } from '../audit.js';
import type { DeviceRemoval } from '../devices/device-removal.js';
import type { EventBus } from '../events.js';
import type { Mailer } from '../mail/mailer.js';
import type { Store } from '../store/store.js';
import type { AuthService } from './auth-service.js';
import type { PlanLimits } from './plan-limits.js';
import type { RoleService } from './role-service.js';

export type LinkKind = 'invitation' | 'verify-email' | 'reset-password';

/** Builds the links that go out by mail. Never from a request's Host header (reset-link poisoning). */
export interface LinkBuilder {
  url(kind: LinkKind, token: string): string;
  /** ` --gateway <url>` for the terminal commands in a mail, or '' when this is the CLI's default. */
  gatewayOption(): string;
}

export interface AccountDeps {
  store: Store;
  clock: Clock;
  config: TetherConfig;
  auditor: Auditor;
  events: EventBus;
  auth: AuthService;
  plans: PlanLimits;
  roles: RoleService;
  mailer: Mailer;
  links: LinkBuilder;
  logger: Logger;
  /** The mail-request limits per IP (memory, or shared by a cluster). */
  limiters: FailureLimiterFactory;
  /** Removes the devices of an org deleted with everything in it, as a person's delete does. */
  deviceRemoval: DeviceRemoval;
}
