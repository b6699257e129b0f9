/**
 * Which devices are online, and on which gateway node: the port the device services need, with
 * one node's implementation here. A cluster's (gateway/cluster/redis-presence.ts) keeps the same
 * answers in Redis, mirrored on every node so that the questions below stay synchronous.
 */

export interface Presence {
  /** This node's id (`local` for a gateway that is one node). */
  readonly nodeId: string;
  /** This node holds the device's connection now (taking it over from any other node). */
  arrive(deviceId: string): Promise<void>;
  /**
   * The device's connection on this node ended. True when this node still held the device (it is
   * offline now); false when another node took it over meanwhile, or it was not here.
   */
  leave(deviceId: string): Promise<boolean>;
  isOnline(deviceId: string): boolean;
  /** The node that holds the device's connection; undefined when it is offline. */
  nodeOf(deviceId: string): string | undefined;
  /** The ids of the online devices. */
  online(): Iterable<string>;
  readonly size: number;
  /**
   * Called with a device that went offline without its node saying so (the node died): the
   * device services tell the people watching it. Returns the unsubscribe.
   */
  onDeparted(listener: (deviceId: string) => void): () => void;
  /**
   * Called when the device arrived on another node (a takeover), with that node: the node that
   * held the connection closes its own.
   */
  onMoved(listener: (deviceId: string, nodeId: string) => void): () => void;
}

/** One node: presence is this process's set of connected devices. */
export class LocalPresence implements Presence {
  readonly nodeId = 'local';
  readonly #online = new Set<string>();

  async arrive(deviceId: string): Promise<void> {
    this.#online.add(deviceId);
  }

  async leave(deviceId: string): Promise<boolean> {
    return this.#online.delete(deviceId);
  }

  isOnline(deviceId: string): boolean {
    return this.#online.has(deviceId);
  }

  nodeOf(deviceId: string): string | undefined {
    return this.#online.has(deviceId) ? this.nodeId : undefined;
  }

  online(): Iterable<string> {
    return this.#online;
  }

  get size(): number {
    return this.#online.size;
  }

  onDeparted(): () => void {
    return () => undefined;
  }

  onMoved(): () => void {
    return () => undefined;
  }
}
