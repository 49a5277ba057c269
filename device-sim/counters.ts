/** Per-device counters; the fleet sums them. Plain numbers, so a test or benchmark can read them any time. */
export interface DeviceCounters {
  /** Readings the device took (interval ticks or load batches). */
  readingsGenerated: number;
  /** PUBLISH packets handed to the MQTT client (live and offline-buffer batches). */
  messagesSent: number;
  readingsSent: number;
  /** PUBACKs received (QoS 1). */
  messagesAcked: number;
  readingsAcked: number;
  /** Publish or buffer-write failures (the readings are kept in the buffer when possible). */
  errors: number;
  /** Failed connection attempts (refused, unreachable, timeout). */
  connectErrors: number;
  /** Readings written to the offline buffer. */
  readingsBuffered: number;
  /** Buffered readings sent and acknowledged. */
  readingsFlushed: number;
  connects: number;
  disconnects: number;
}

export const zeroCounters = (): DeviceCounters => ({
  readingsGenerated: 0,
  messagesSent: 0,
  readingsSent: 0,
  messagesAcked: 0,
  readingsAcked: 0,
  errors: 0,
  connectErrors: 0,
  readingsBuffered: 0,
  readingsFlushed: 0,
  connects: 0,
  disconnects: 0,
});

export function addCounters(into: DeviceCounters, from: DeviceCounters): DeviceCounters {
  for (const k of Object.keys(into) as (keyof DeviceCounters)[]) into[k] += from[k];
  return into;
}
