/** What the organization pages share: the user types, and loaders for orgs and an org's roles. */
import { api } from '../api.js';
import type { OrgView, Role } from '../api-types.js';
import { useLoad } from '../ui/hooks.js';

/** What each user type is for (Blynk's model); the gateway decides what each may do. */
export const USER_TYPES = [
  { value: 'developer', label: 'Developer — works on products' },
  { value: 'client', label: 'Client — uses devices' },
  { value: 'partner', label: 'Partner — manages clients (partner organizations)' },
] as const;

export const useOrgs = () =>
  useLoad((signal) => api.get<{ orgs: (OrgView & { depth?: number })[] }>('/api/orgs', signal), []);

/** An org's roles; where the gateway reports them, the plan there and the permissions it locks. */
interface OrgRoles {
  roles: (Role & { key: string })[];
  plan?: string;
  lockedPermissions?: string[];
}

export const useRoles = (orgId: string | undefined) =>
  useLoad(
    (signal) =>
      orgId
        ? api.get<OrgRoles>(`/api/orgs/${encodeURIComponent(orgId)}/roles`, signal)
        : Promise.resolve<OrgRoles>({ roles: [] }),
    [orgId],
  );
