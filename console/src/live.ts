/**
 * Live device news for a page: the gateway's push stream, scoped to the devices the page shows,
 * kept open across access-token renewals (the gateway ends a stream whose token expired) and
 * reconnected with backoff when the network drops.
 */
import { useEffect, useRef } from 'preact/hooks';
import type { ServerSentEvent } from '../../shared/sse.js';
import { api } from './api.js';

export function useDeviceStream(
  query: { deviceId: string } | { deviceIds: readonly string[] } | undefined,
  onEvent: (event: ServerSentEvent) => void,
): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const key = !query
    ? ''
    : 'deviceId' in query
      ? `one:${query.deviceId}`
      : `ids:${query.deviceIds.join(',')}`;
  useEffect(() => {
    if (!query || ('deviceIds' in query && query.deviceIds.length === 0)) return;
    const controller = new AbortController();
    const params =
      'deviceId' in query
        ? `deviceId=${encodeURIComponent(query.deviceId)}`
        : `deviceIds=${query.deviceIds.map(encodeURIComponent).join(',')}`;
    void (async () => {
      let delay = 1000;
      while (!controller.signal.aborted) {
        try {
          await api.stream(`/api/stream?${params}`, (event) => handler.current(event), controller.signal);
          delay = 1000; // ended cleanly (token renewal): reconnect at once, refreshing if needed
        } catch (error) {
          if (controller.signal.aborted) return;
          const status = (error as { status?: number }).status;
          if (status === 401 || status === 403 || status === 404) return;
        }
        if (!controller.signal.aborted) await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30_000);
      }
    })();
    return () => controller.abort();
  }, [key]);
}
