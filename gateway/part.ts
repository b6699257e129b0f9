/**
 * The one shape of every part of a gateway (store, cluster link, event bus, presence, limiters,
 * mail, broker, HTTP): built cheaply, started explicitly, stopped symmetrically. A gateway starts
 * its parts in order and stops them in reverse; a part that fails to start stops the ones before it.
 */
export interface Part {
  /** For logs and errors: which part failed to start or stop. */
  readonly name: string;
  start(): Promise<void>;
  /** Closes every socket, timer and file the part opened; safe to call when start() failed. */
  stop(): Promise<void>;
}

/** Starts the parts in order; when one fails, the ones already started are stopped, in reverse. */
export async function startParts(parts: readonly Part[]): Promise<void> {
  const started: Part[] = [];
  try {
    for (const part of parts) {
      await part.start();
      started.push(part);
    }
  } catch (error) {
    await stopParts(started).catch(() => undefined);
    throw error;
  }
}

/**
 * Stops the parts in reverse order; every part is stopped even when one fails (the first error is
 * thrown). `stopping` hears of each part as its stop begins (a shutdown that runs out of time names it).
 */
export async function stopParts(parts: readonly Part[], stopping?: (part: Part) => void): Promise<void> {
  let failure: unknown;
  for (const part of [...parts].reverse()) {
    try {
      stopping?.(part);
      await part.stop();
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}

/** A part from two functions, for what has nothing to start (mail) or is a step (first-run set-up). */
export const part = (
  name: string,
  start: () => Promise<void> | void,
  stop: () => Promise<void> | void = () => undefined,
): Part => ({
  name,
  start: async () => {
    await start();
  },
  stop: async () => {
    await stop();
  },
});
