/**
 * Retained messages per device, bounded in count and bytes (MQTT_RETAINED_MAX_*): past the quota a
 * retained publish is a permanent refusal; an empty payload deletes one [MQTT-3.3.1-10]. The index is
 * rebuilt from the broker persistence at start. docs/DESIGN.md.
 */

interface DeviceRetained {
  bytes: number;
  /** Payload bytes per retained topic. */
  topics: Map<string, number>;
}

export interface RetainedQuotaLimits {
  maxCount: number;
  maxBytes: number;
}

export interface RetainedQuota {
  /** Counts a retained publish by a device and returns undefined, or returns why it is refused. */
  admit(deviceId: string, topic: string, payloadBytes: number): string | undefined;
  /** Rebuilds the index from what the persistence holds (call once, before clients connect). */
  load(persistence: RetainedSource): Promise<void>;
}

/** The part of an aedes persistence this needs. */
export interface RetainedSource {
  createRetainedStream(pattern: string): AsyncIterable<{ topic: string; payload: Buffer | string }>;
}

export function createRetainedQuota(limits: RetainedQuotaLimits): RetainedQuota {
  const devices = new Map<string, DeviceRetained>();

  function record(deviceId: string, topic: string, bytes: number): void {
    let mine = devices.get(deviceId);
    if (!mine) {
      mine = { bytes: 0, topics: new Map() };
      devices.set(deviceId, mine);
    }
    mine.bytes += bytes - (mine.topics.get(topic) ?? 0);
    if (bytes === 0) mine.topics.delete(topic);
    else mine.topics.set(topic, bytes);
    if (mine.topics.size === 0) devices.delete(deviceId);
  }

  return {
    admit(deviceId, topic, payloadBytes) {
      const mine = devices.get(deviceId);
      const previous = mine?.topics.get(topic);
      const count = (mine?.topics.size ?? 0) + (previous === undefined ? 1 : 0);
      const bytes = (mine?.bytes ?? 0) - (previous ?? 0) + payloadBytes;
      if (payloadBytes > 0 && (count > limits.maxCount || bytes > limits.maxBytes)) {
        return (
          `retained message refused: a device keeps at most ${limits.maxCount} retained messages ` +
          `(MQTT_RETAINED_MAX_PER_DEVICE) and ${limits.maxBytes} bytes of them (MQTT_RETAINED_MAX_BYTES_PER_DEVICE); ` +
          `this one would make ${count} messages and ${bytes} bytes. Clear one with an empty retained publish.`
        );
      }
      record(deviceId, topic, payloadBytes);
      return undefined;
    },
    async load(persistence) {
      devices.clear();
      for await (const packet of persistence.createRetainedStream('devices/#')) {
        const deviceId = packet.topic.split('/')[1];
        if (deviceId) record(deviceId, packet.topic, Buffer.byteLength(packet.payload));
      }
    },
  };
}
