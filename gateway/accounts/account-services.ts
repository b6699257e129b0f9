/** The account services, built together: they share one set of dependencies (account-deps.ts). */
import type { AccountDeps } from './account-deps.js';
import { InvitationService } from './invitation-service.js';
import { MailRequests } from './mail-requests.js';
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
  // One set of limits for every anonymous request that sends mail.
  const mailRequests = new MailRequests(deps);
  return {
    deps,
    orgs: new OrgService(deps),
    users: new UserService(deps, mailRequests),
    invitations: new InvitationService(deps, mailRequests),
    shares: new ShareService(deps),
  };
}
