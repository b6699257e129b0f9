/**
 * A client of the gateway's HTTP API, for the CLI, the companion and the fleet runner. It keeps
 * the access and refresh tokens, refreshes once on an expired access token, and turns every error
 * answer into a TetherError with the gateway's stable code.
 */
import { isErrorCode, TetherError } from './errors.js';
import { readServerSentEvents } from './sse.js';

/** Where the command line looks for a gateway unless told otherwise. */
export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8080';

export interface SessionTokens {
  accessToken: string;
  refreshToken: string;
}

export interface GatewayClientOptions {
  baseUrl: string;
  session?: SessionTokens | undefined;
  /** Called after login or refresh, so a CLI can save the new tokens. */
  onSession?: (session: SessionTokens | undefined) => void | Promise<void>;
  /** How to log in again, named when a session has ended (a CLI gives its login command). */
  relogin?: string;
  timeoutMs?: number;
}

import type { ProvisioningOutcome, ProvisioningSessionInfo } from './provisioning-session.js';

export type { ProvisioningOutcome, ProvisioningSessionInfo };

export class GatewayClient {
  readonly baseUrl: string;
  #session: SessionTokens | undefined;
  readonly #onSession: GatewayClientOptions['onSession'];
  readonly #timeoutMs: number;
  readonly #relogin: string;

  constructor(options: GatewayClientOptions) {
    this.#relogin = options.relogin ?? 'tether login';
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#session = options.session;
    this.#onSession = options.onSession;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  get loggedIn(): boolean {
    return this.#session !== undefined;
  }

  async login(
    email: string,
    password: string,
  ): Promise<{ user: { id: string; email: string; orgId: string } }> {
    const result = await this.request<SessionTokens & { user: { id: string; email: string; orgId: string } }>(
      'POST',
      '/api/auth/login',
      { email, password },
      { auth: false },
    );
    await this.#setSession({ accessToken: result.accessToken, refreshToken: result.refreshToken });
    return { user: result.user };
  }

  async logout(): Promise<void> {
    const session = this.#session;
    if (session) {
      await this.request(
        'POST',
        '/api/auth/logout',
        { refreshToken: session.refreshToken },
        { auth: false },
      ).catch(() => undefined);
    }
    await this.#setSession(undefined);
  }

  createProvisioningSession(templateId: string, name?: string): Promise<ProvisioningSessionInfo> {
    return this.request('POST', '/api/provisioning/sessions', name ? { templateId, name } : { templateId });
  }

  /** Give up a session that has not activated: the gateway forgets the pending device and its token. */
  cancelProvisioningSession(deviceId: string): Promise<void> {
    return this.request('DELETE', `/api/provisioning/sessions/${encodeURIComponent(deviceId)}`);
  }

  provisioningOutcome(deviceId: string): Promise<ProvisioningOutcome> {
    return this.request('GET', `/api/provisioning/sessions/${encodeURIComponent(deviceId)}`);
  }

  /**
   * Follows a provisioning session over server-sent events until a final outcome (active, failed,
   * expired) and resolves with it; the gateway pushes, nothing polls.
   */
  async waitForActivation(
    deviceId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<ProvisioningOutcome> {
    const path = `/api/provisioning/sessions/${encodeURIComponent(deviceId)}/events`;
    const res = await this.#fetchWithAuth('GET', path, undefined, options.signal, false);
    if (!res.ok || !res.body) throw await toError(res);
    for await (const { data } of readServerSentEvents(res.body)) {
      const outcome = data as unknown as ProvisioningOutcome;
      if (outcome.state !== 'waiting') return outcome;
    }
    throw new TetherError(
      'GATEWAY_UNREACHABLE',
      'The gateway closed the activation stream before an outcome.',
    );
  }

  /** A GET whose body is a long download (a backup): streamed, with no time limit. */
  async download(path: string, options: { signal?: AbortSignal } = {}): Promise<ReadableStream<Uint8Array>> {
    const res = await this.#fetchWithAuth('GET', path, undefined, options.signal, false, true);
    if (!res.ok || !res.body) throw await toError(res);
    return res.body;
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    options: { auth?: boolean; signal?: AbortSignal } = {},
  ): Promise<T> {
    const res = await this.#fetchWithAuth(method, path, body, options.signal, options.auth === false);
    if (!res.ok) throw await toError(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  async #fetchWithAuth(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    anonymous: boolean,
    long = false,
  ): Promise<Response> {
    let res = await this.#fetch(method, path, body, signal, anonymous, long);
    if (res.status === 401 && !anonymous && this.#session) {
      const code = await peekCode(res);
      if (code === 'TOKEN_EXPIRED' || code === 'TOKEN_INVALID') {
        await this.#refresh();
        res = await this.#fetch(method, path, body, signal, anonymous, long);
      }
    }
    return res;
  }

  async #refresh(): Promise<void> {
    const session = this.#session;
    if (!session) return;
    try {
      const next = await this.request<SessionTokens>(
        'POST',
        '/api/auth/refresh',
        { refreshToken: session.refreshToken },
        { auth: false },
      );
      await this.#setSession({ accessToken: next.accessToken, refreshToken: next.refreshToken });
    } catch (error) {
      await this.#setSession(undefined);
      throw new TetherError('AUTH_REQUIRED', `Your session has ended. Log in again: ${this.#relogin}`, {
        cause: error,
      });
    }
  }

  async #fetch(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    anonymous: boolean,
    long = false,
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (!anonymous && this.#session) headers.authorization = `Bearer ${this.#session.accessToken}`;
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const isStream = long || path.endsWith('/events');
    try {
      return await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: signal ? (isStream ? signal : AbortSignal.any([signal, timeout])) : isStream ? null : timeout,
      });
    } catch (error) {
      if ((error as Error).name === 'AbortError' && signal?.aborted) throw error;
      throw new TetherError(
        'GATEWAY_UNREACHABLE',
        `Cannot reach the gateway at ${this.baseUrl}. Is it running, and is the address right?`,
        { cause: error },
      );
    }
  }

  async #setSession(session: SessionTokens | undefined): Promise<void> {
    this.#session = session;
    await this.#onSession?.(session);
  }
}

async function peekCode(res: Response): Promise<string | undefined> {
  try {
    const body = (await res.clone().json()) as { error?: { code?: string } };
    return body.error?.code;
  } catch {
    return undefined;
  }
}

async function toError(res: Response): Promise<TetherError> {
  let code: string | undefined;
  let message = `The gateway answered ${res.status} ${res.statusText}.`;
  let details: Record<string, unknown> | undefined;
  try {
    const body = (await res.json()) as {
      error?: { code?: string; message?: string; details?: Record<string, unknown> };
    };
    code = body.error?.code;
    message = body.error?.message ?? message;
    details = body.error?.details;
  } catch {
    // not JSON: keep the status line
  }
  return new TetherError(isErrorCode(code) ? code : 'INTERNAL', message, details ? { details } : {});
}
