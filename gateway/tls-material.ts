/**
 * Certificate and key for a TLS listener (HTTPS with WSS, MQTT over TLS), read and checked once
 * at start-up: half a configuration, an unreadable file, or a key that does not belong to the
 * certificate is CONFIG_INVALID naming the setting, before any socket opens.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { TetherError } from '../shared/errors.js';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/** undefined when neither file is set (the listener stays plain or off). */
export async function loadTlsMaterial(
  files: { certFile: string; keyFile: string },
  settings: { cert: string; key: string },
): Promise<TlsMaterial | undefined> {
  if (!files.certFile && !files.keyFile) return undefined;
  if (!files.certFile || !files.keyFile) {
    throw new TetherError('CONFIG_INVALID', `TLS needs both ${settings.cert} and ${settings.key}.`);
  }
  const material = {
    cert: await readPem(files.certFile, settings.cert),
    key: await readPem(files.keyFile, settings.key),
  };
  try {
    createSecureContext(material);
  } catch (error) {
    throw new TetherError(
      'CONFIG_INVALID',
      `${settings.cert} and ${settings.key}: not a PEM certificate and its private key (${(error as Error).message}).`,
      { cause: error },
    );
  }
  return material;
}

async function readPem(path: string, setting: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new TetherError(
      'CONFIG_INVALID',
      `${setting}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
      { cause: error },
    );
  }
}
