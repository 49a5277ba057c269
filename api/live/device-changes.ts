/**
 * Changes of a device's commands and twin over the service MQTT connection (issue 15). The API
 * announces its own (a command queued or cancelled, a desired state patched) QoS 1 on
 * `$platform/device-changes/{pilot}/{device}`, which is how the broker learns to deliver, also in
 * another process; the broker announces what happens on its side (delivered, answered, expired,
 * reported). Every API process subscribes and passes them to its open streams as SSE events.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { DeviceChange } from '../../core/command-json.js';
import {
  DEVICE_CHANGES_FILTER,
  deviceChangesTopic,
  parseDeviceChangesTopic,
} from '../../core/command-topics.js';
import type { LiveFilter } from './hub.js';

export type ChangeListener = (deviceId: string, change: DeviceChange) => void;

export interface DeviceChanges {
  /** Announces a change the API made; resolves on the broker's PUBACK. */
  publish(pilotId: string, deviceId: string, change: DeviceChange): Promise<void>;
  /** Returns the unsubscribe function. */
  subscribe(filter: LiveFilter, listener: ChangeListener): () => void;
  close(): void;
}

export function createDeviceChanges(client: MqttClient, logger?: Logger): DeviceChanges {
  const listeners = new Set<{ filter: LiveFilter; listener: ChangeListener }>();
  const onMessage = (topic: string, payload: Buffer) => {
    const where = parseDeviceChangesTopic(topic);
    if (!where || listeners.size === 0) return;
    let change: DeviceChange;
    try {
      change = JSON.parse(payload.toString()) as DeviceChange;
    } catch {
      return logger?.warn({ topic }, 'ignoring a device change that is not JSON');
    }
    for (const { filter, listener } of [...listeners]) {
      if (filter.pilotId !== where.pilotId) continue;
      if (filter.deviceId !== undefined && filter.deviceId !== where.deviceId) continue;
      listener(where.deviceId, change);
    }
  };
  client.on('message', onMessage);
  // mqtt.js re-subscribes on reconnect (resubscribe defaults to true).
  client.subscribe(DEVICE_CHANGES_FILTER, { qos: 0 });
  return {
    async publish(pilotId, deviceId, change) {
      await client.publishAsync(deviceChangesTopic(pilotId, deviceId), JSON.stringify(change), { qos: 1 });
    },
    subscribe(filter, listener) {
      const entry = { filter, listener };
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
    close() {
      client.off('message', onMessage);
    },
  };
}
