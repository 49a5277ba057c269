/**
 * Retained messages per device, bounded in count and bytes (MQTT_RETAINED_MAX_PER_DEVICE,
 * MQTT_RETAINED_MAX_BYTES_PER_DEVICE). Retained messages are kept on disk and sent to every new
 * subscriber, so without a bound one device could fill the broker's disk and slow every subscribe.
 *
 * A retained publish that would pass the quota is refused like any other refused publish
 * (acknowledged, dropped, a device error; see publish.ts). Replacing a topic's retained message
 * counts only the difference; an empty payload deletes it [MQTT-3.3.1-10] and frees its share.
 *
 * The index lives in memory and is rebuilt from the broker persistence at start: one broker owns a
 * DATA_DIR's persistence (LevelDB's lock), so no other process changes it meanwhile.
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
