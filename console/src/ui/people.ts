/** People by email where the reader may list people (users.view); otherwise by id. */
import { api } from '../api.js';
import type { PublicUser } from '../api-types.js';
import { can, me } from '../session.js';
import { useLoad } from './hooks.js';

export function usePeople(): (id: string | null | undefined) => string {
  const users = useLoad(
    (signal) =>
      can('users.view')
        ? api.get<{ users: PublicUser[] }>('/api/users', signal)
        : Promise.resolve({ users: [] as PublicUser[] }),
    [],
  );
  const emails = new Map((users.data?.users ?? []).map((u) => [u.id, u.email]));
  return (id) => {
    if (!id) return 'nobody';
    return id === me.value?.user.id ? 'you' : (emails.get(id) ?? id);
  };
}
