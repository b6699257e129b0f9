/**
 * The payload of `downlink/redirect`: a broker URL, as Blynk sends it ("mqtts://ny3.blynk.cloud:8883",
 * "wss://fra1.blynk.cloud:443/mqtt"; device MQTT API, "Server Redirect"). One definition for the
 * gateway that sends it and the simulator that follows it.
 */
import { TetherError } from './errors.js';

const REDIRECT_SCHEMES: ReadonlySet<string> = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);

/**
 * A redirect target as Blynk's samples parse it: Python's `urlparse(payload)` then `.hostname`
 * and `.port`, MicroPython's split on "://" and ":" then int(port). So: a scheme Blynk names
 * (mqtt, mqtts, ws, wss), a host, an explicit port, and nothing they would misread.
 */
export function redirectUrl(text: string): string {
  const fail = (why: string): never => {
    throw new TetherError(
      'VALIDATION_FAILED',
      `Redirect URL ${text.slice(0, 120)}: ${why} Write it as mqtt://host:1883, mqtts://host:8883 or wss://host:443/mqtt.`,
    );
  };
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return fail('not a URL.');
  }
  if (!REDIRECT_SCHEMES.has(url.protocol)) return fail('the scheme must be mqtt, mqtts, ws or wss.');
  if (!url.hostname) return fail('it names no host.');
  // new URL drops a default port (ws :80, wss :443); the samples need it written out.
  const port = /^[a-z]+:\/\/(?:\[[^\]]+\]|[^/:?#]+):(\d{1,5})(?:[/?#]|$)/i.exec(text.trim())?.[1];
  if (!port || Number(port) < 1 || Number(port) > 65535) return fail('it needs an explicit port.');
  if (url.username || url.password) return fail('it must carry no credentials.');
  if (url.search || url.hash) return fail('it must carry no query or fragment.');
  const path = url.protocol.startsWith('ws') ? url.pathname : '';
  if (!url.protocol.startsWith('ws') && url.pathname !== '/' && url.pathname !== '')
    return fail('an MQTT URL has no path.');
  // URL keeps an IPv6 host in brackets, as the URL must write it.
  return `${url.protocol}//${url.hostname}:${port}${path === '/' ? '' : path}`;
}
