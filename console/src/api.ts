/**
 * The console's only way to the gateway: the HTTP API on this origin. The access token lives in
 * memory only; the refresh token is an httpOnly cookie this code never sees, sent to
 * /api/browser-session/* with the console's CSRF header. An expired access token is refreshed once
 * and the request retried; a session that cannot be refreshed signs the page out.
 */
import { CONSOLE_CSRF_HEADER } from '../../shared/console-pages.js';
import { readServerSentEvents, type ServerSentEvent } from '../../shared/sse.js';
import type { PublicUser } from './api-types.js';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface BrowserSession {
  accessToken: string;
  expiresIn: number;
  user: PublicUser;
}

type Listener = (session: BrowserSession | undefined) => void;

export class Api {
  #accessToken: string | undefined;
  #refreshing: Promise<BrowserSession | undefined> | undefined;
  readonly #listeners = new Set<Listener>();

  /** Called whenever the page gains or loses its session. */
  onSession(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get signedIn(): boolean {
    return this.#accessToken !== undefined;
  }

  async signIn(email: string, password: string): Promise<BrowserSession> {
    const session = await this.#send<BrowserSession>(
      'POST',
      '/api/browser-session',
      { email, password },
      {
        csrf: true,
      },
    );
    this.#setSession(session);
    return session;
  }

  /** Resume a session from the cookie (page load); undefined when there is none. */
  restore(): Promise<BrowserSession | undefined> {
    this.#refreshing ??= this.#send<BrowserSession>('POST', '/api/browser-session/refresh', undefined, {
      csrf: true,
    })
      .then(
        (session) => {
          this.#setSession(session);
          return session;
        },
        () => {
          this.#setSession(undefined);
          return undefined;
        },
      )
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  async signOut(): Promise<void> {
    await this.#send('DELETE', '/api/browser-session', undefined, { csrf: true }).catch(() => undefined);
    this.#setSession(undefined);
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, undefined, signal);
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    try {
      return await this.#send<T>(method, path, body, { auth: true, signal });
    } catch (error) {
      if (!(await this.#refreshAfter(error))) throw error;
      return this.#send<T>(method, path, body, { auth: true, signal });
    }
  }

  /**
   * A server-sent event stream read with fetch, so the access token goes in the Authorization
   * header and never into a URL (EventSource can send no header). Resolves when the stream ends.
   */
  async stream(path: string, onEvent: (event: ServerSentEvent) => void, signal: AbortSignal): Promise<void> {
    let res = await this.#fetch('GET', path, undefined, { auth: true, signal });
    if (res.status === 401 && (await this.#refreshAfter(await toError(res.clone())))) {
      res = await this.#fetch('GET', path, undefined, { auth: true, signal });
    }
    if (!res.ok || !res.body) throw await toError(res);
    for await (const event of readServerSentEvents(res.body)) onEvent(event);
  }

  /** Whether an error was an expired session that a refresh has now renewed. */
  async #refreshAfter(error: unknown): Promise<boolean> {
    if (!(error instanceof ApiError) || error.status !== 401) return false;
    if (!['TOKEN_EXPIRED', 'TOKEN_INVALID', 'AUTH_REQUIRED'].includes(error.code)) return false;
    if (!this.#accessToken) return false;
    return (await this.restore()) !== undefined;
  }

  async #send<T>(
    method: string,
    path: string,
    body: unknown,
    options: { auth?: boolean; csrf?: boolean; signal?: AbortSignal | undefined },
  ): Promise<T> {
    const res = await this.#fetch(method, path, body, options);
    if (!res.ok) throw await toError(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  async #fetch(
    method: string,
    path: string,
    body: unknown,
    options: { auth?: boolean; csrf?: boolean; signal?: AbortSignal | undefined },
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (options.csrf) headers[CONSOLE_CSRF_HEADER] = '1';
    if (options.auth && this.#accessToken) headers.authorization = `Bearer ${this.#accessToken}`;
    try {
      return await fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new ApiError('GATEWAY_UNREACHABLE', 'Cannot reach the gateway. Check your connection.', 0);
    }
  }

  #setSession(session: BrowserSession | undefined): void {
    this.#accessToken = session?.accessToken;
    for (const listener of this.#listeners) listener(session);
  }
}

async function toError(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as {
      error?: { code?: string; message?: string; details?: Record<string, unknown> };
    };
    if (body.error?.code) {
      return new ApiError(
        body.error.code,
        body.error.message ?? res.statusText,
        res.status,
        body.error.details,
      );
    }
  } catch {
    // not JSON
  }
  return new ApiError('INTERNAL', `The gateway answered ${res.status} ${res.statusText}.`, res.status);
}

export const api = new Api();
