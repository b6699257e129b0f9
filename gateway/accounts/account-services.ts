/** The account services, built together: they share one set of dependencies (account-deps.ts). */
import type { AccountDeps } from './account-deps.js';
import { InvitationService } from './invitation-service.js';
import { OrgService } from './org-service.js';
import { ShareService } from './share-service.js';
import { UserService } from './user-service.js';

export interface AccountServices {
  deps: AccountDeps;
  orgs: OrgService;
  users: UserService;
  invitations: InvitationService;
  shares: ShareService;
}

export function buildAccountServices(deps: AccountDeps): AccountServices {
  return {
    deps,
    orgs: new OrgService(deps),
    users: new UserService(deps),
    invitations: new InvitationService(deps),
    shares: new ShareService(deps),
  };
}
