/**
 * The live-interest back channel: what this API process's streams watch, retained on
 * `$platform/live-interest/{instance}`, so ingest (also one started later) fans out only those readings.
 */
import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { liveInterestTopic } from '../../core/topics.js';
import type { LiveHub } from './hub.js';

export function publishLiveInterest(
  client: MqttClient,
  hub: LiveHub,
  logger?: Logger,
): { sent(): Promise<void>; close(): Promise<void> } {
  const interestTopic = liveInterestTopic(randomBytes(6).toString('hex'));
  let sent: Promise<void> = Promise.resolve();
  const sendInterest = () => {
    if (!client.connected) return;
    sent = client.publishAsync(interestTopic, JSON.stringify(hub.interest()), { qos: 1, retain: true }).then(
      () => {},
      (err) => logger?.warn({ err }, 'could not publish the live interest'),
    );
  };
  hub.onChange = sendInterest;
  client.on('connect', sendInterest);
  sendInterest();

  return {
    sent: () => sent,
    async close() {
      hub.onChange = undefined;
      client.off('connect', sendInterest);
      // An empty retained message deletes the retained one [MQTT-3.3.1-10].
      if (client.connected)
        await client.publishAsync(interestTopic, '', { qos: 1, retain: true }).catch(() => {});
    },
  };
}
