/** Who is signed in, as signals every page reads: the console shows what the API allows, nothing more. */
import { computed, signal } from '@preact/signals';
import { api } from './api.js';
import type { Me } from './api-types.js';

export type SessionState = 'unknown' | 'signed-out' | 'signed-in';

export const sessionState = signal<SessionState>('unknown');
export const me = signal<Me | undefined>(undefined);

/** The permission names the gateway reports for this person (GET /api/me). */
export const permissions = computed(() => new Set(me.value?.permissions ?? []));
export const can = (permission: string): boolean => permissions.value.has(permission);
export const canAny = (...names: string[]): boolean => names.some((p) => permissions.value.has(p));

export async function loadMe(): Promise<void> {
  me.value = await api.get<Me>('/api/me');
}

api.onSession((session) => {
  if (!session) {
    me.value = undefined;
    sessionState.value = 'signed-out';
  }
});

/** On page load: resume from the refresh cookie, if there is one. */
export async function startSession(): Promise<void> {
  const session = await api.restore();
  if (!session) return;
  await loadMe();
  sessionState.value = 'signed-in';
}

export async function signIn(email: string, password: string): Promise<void> {
  await api.signIn(email, password);
  await loadMe();
  sessionState.value = 'signed-in';
}

export async function signOut(): Promise<void> {
  await api.signOut();
}
