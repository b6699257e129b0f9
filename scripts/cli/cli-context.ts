/**
 * What every command gets: where the saved session lives, how to reach the gateway, and how to
 * print. Commands stay thin: parse, call library code, print.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { TetherError } from '../../shared/errors.js';
import { DEFAULT_GATEWAY_URL, GatewayClient, type SessionTokens } from '../../shared/gateway-client.js';

export interface SavedSession extends SessionTokens {
  gatewayUrl: string;
  email: string;
}

export { DEFAULT_GATEWAY_URL };

/** TETHER_HOME (default ~/.tether) holds the CLI's saved session, mode 0600. */
export const cliHome = (env: NodeJS.ProcessEnv = process.env): string =>
  env.TETHER_HOME ?? join(homedir(), '.tether');

const sessionFile = () => join(cliHome(), 'session.json');

export async function readSession(): Promise<SavedSession | undefined> {
  try {
    return JSON.parse(await readFile(sessionFile(), 'utf8')) as SavedSession;
  } catch {
    return undefined;
  }
}

export async function writeSession(session: SavedSession | undefined): Promise<void> {
  const file = sessionFile();
  if (!session) {
    await rm(file, { force: true });
    return;
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify(session), { mode: 0o600 });
}

/** The gateway URL: --gateway, then TETHER_GATEWAY_URL, then the saved session's, then localhost. */
export async function gatewayUrl(option?: string): Promise<string> {
  return option ?? process.env.TETHER_GATEWAY_URL ?? (await readSession())?.gatewayUrl ?? DEFAULT_GATEWAY_URL;
}

/** The command that logs in to `baseUrl`, with --gateway when it is not the default. */
export const loginCommandFor = (baseUrl: string, email?: string): string =>
  `tether login --email ${email ?? '<your email>'}${baseUrl === DEFAULT_GATEWAY_URL ? '' : ` --gateway ${baseUrl}`}`;

/**
 * A client that uses the saved session and saves refreshed tokens back. Without a saved session
 * for that gateway it says how to log in, before anything is sent.
 */
export async function sessionClient(option?: string): Promise<GatewayClient> {
  const saved = await readSession();
  const baseUrl = await gatewayUrl(option);
  const session = saved && saved.gatewayUrl === baseUrl ? saved : undefined;
  if (!session) {
    const elsewhere = saved ? ` (your saved session is for ${saved.gatewayUrl})` : '';
    throw new TetherError(
      'AUTH_REQUIRED',
      `You are not logged in to ${baseUrl}${elsewhere}. Log in first: ${loginCommandFor(baseUrl, saved?.email)}`,
    );
  }
  return new GatewayClient({
    baseUrl,
    session,
    relogin: loginCommandFor(baseUrl, session.email),
    onSession: async (next) => {
      await writeSession(next ? { ...session, ...next } : undefined);
    },
  });
}
