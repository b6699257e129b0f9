/** Reading a server-sent event stream (the gateway's push streams) as `{ event, data }` objects. */

export interface ServerSentEvent {
  event: string;
  data: Record<string, unknown>;
}

/**
 * Frames of `body`, one object per event that has an `event:` and a JSON `data:` line (comments
 * such as `: keep-alive` are skipped). Ends when the stream ends; an abort rejects as fetch does.
 */
export async function* readServerSentEvents(
  body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (event && data) yield { event, data: JSON.parse(data) as Record<string, unknown> };
    }
  }
}
