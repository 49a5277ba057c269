/**
 * The live feed over MQTT: ingest publishes each stored batch on `$platform/stored/{pilot}/{device}`
 * (QoS 0: a live view that missed one is right again after a reload); `svc:api` subscribes to them
 * all and fans out what its streams watch, which works with API and ingest in separate processes.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { parseStoredTopic, STORED_TOPIC_FILTER } from '../../core/topics.js';
import { type LiveFeed, LiveHub } from './hub.js';
import { publishLiveInterest } from './interest.js';
import { parseStoredPayload } from './stored-payload.js';

export interface MqttLiveFeed extends LiveFeed {
  /** Resolves once the stored-batch subscription is acknowledged (SUBACK) for the first time. */
  ready: Promise<void>;
}

/**
 * Subscribes `client` to the stored-batch topics and fans batches out. `close()` unsubscribes the
 * listeners; it ends the client only when `ownsClient` (the client may be shared with HTTP ingest).
 */
export function createMqttLiveFeed(
  client: MqttClient,
  opts: { logger?: Logger; ownsClient?: boolean } = {},
): MqttLiveFeed {
  const hub = new LiveHub();
  const onMessage = (topic: string, payload: Buffer) => {
    const where = parseStoredTopic(topic);
    // Batches nobody here watches (another API process's streams): skip their JSON entirely.
    if (!where || !hub.wants(where.pilotId, where.deviceId)) return;
    const readings = parseStoredPayload(payload);
    if (!readings) {
      opts.logger?.warn({ topic }, 'ignoring a stored-batch message that is not a JSON array');
      return;
    }
    if (readings.length > 0) hub.publish({ ...where, readings }, opts.logger);
  };
  client.on('message', onMessage);
  const ready = client.subscribeAsync(STORED_TOPIC_FILTER, { qos: 0 }).then((granted) => {
    if (granted.some((g) => g.qos === 128))
      throw new Error(`broker refused the subscription to ${STORED_TOPIC_FILTER}`);
  });
  ready.catch((err) => opts.logger?.error({ err }, 'live feed subscription failed'));

  const interest = publishLiveInterest(client, hub, opts.logger);

  return {
    ready,
    subscribe: (filter, listener) => hub.subscribe(filter, listener),
    interestSent: interest.sent,
    listenerCount: () => hub.listenerCount(),
    async close() {
      client.off('message', onMessage);
      await interest.close();
      if (opts.ownsClient) await client.endAsync();
    },
  };
}
