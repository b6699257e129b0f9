/**
 * What every command gets: where the saved session lives, how to reach the gateway, and how to
 * print. Commands stay thin: parse, call library code, print.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { GatewayClient, type SessionTokens } from '../../shared/gateway-client.js';

export interface SavedSession extends SessionTokens {
  gatewayUrl: string;
  email: string;
}

export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8080';

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

/** A client that uses the saved session and saves refreshed tokens back. */
export async function sessionClient(option?: string): Promise<GatewayClient> {
  const saved = await readSession();
  const baseUrl = await gatewayUrl(option);
  const session = saved && saved.gatewayUrl === baseUrl ? saved : undefined;
  return new GatewayClient({
    baseUrl,
    session,
    onSession: async (next) => {
      await writeSession(next && session ? { ...session, ...next } : undefined);
    },
  });
}
