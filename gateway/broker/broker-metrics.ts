/**
 * What the broker and the uplink handler report per message, for /metrics: each call is meant to
 * be a counter increment and nothing more (gateway/metrics.ts implements it that way).
 */
export interface BrokerMetrics {
  /** An accepted uplink of this kind (ds, batch-ds, info-mcu, …). */
  uplink(kind: string): void;
  /** A downlink on this device topic (`downlink/<kind>/…`). */
  downlink(deviceTopic: string): void;
  /** A connection, publish or subscription refused, or an uplink answered with an error code. */
  refused(where: 'connect' | 'publish' | 'subscribe' | 'uplink', code: string): void;
}
