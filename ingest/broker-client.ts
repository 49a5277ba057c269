/**
 * Ingest's MQTT connection (`svc:ingest`, clean session): publishes stored readings for the API's
 * live streams (QoS 0) and, as its own process, its metrics; subscribes to the API's live interest
 * to publish only watched readings. Telemetry never comes this way (it comes from the journal).
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../core/log.js';
import { LIVE_INTEREST_FILTER, type LiveInterest, SERVICE_USERNAMES } from '../core/topics.js';
import { storedMessages } from './fanout.js';
import type { Point } from './points.js';

export interface FanOut {
  client: MqttClient;
  /** Resolves once connected (true) or after `timeoutMs` (false), whichever is first. */
  ready(timeoutMs: number): Promise<boolean>;
  /** Publishes the stored points, grouped by pilot and device; dropped while disconnected. */
  publishStored(points: Point[]): void;
  /** Publishes one QoS 0 message; dropped while disconnected. */
  publish(topic: string, payload: string): void;
  close(): Promise<void>;
}

export function connectFanOut(opts: { url: string; serviceSecret: string }, logger: Logger): FanOut {
  const client = mqtt.connect(opts.url, {
    clientId: SERVICE_USERNAMES.ingest,
    username: SERVICE_USERNAMES.ingest,
    password: opts.serviceSecret,
    protocolVersion: 4,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    // Best effort: while offline, drop rather than queue in memory.
    queueQoSZero: false,
  });
  client.on('error', (err) => logger.warn({ err: err.message }, 'ingest: MQTT error'));
  client.on('offline', () => logger.debug('ingest: MQTT offline'));

  const publish = (topic: string, payload: string) => {
    if (client.connected) client.publish(topic, payload, { qos: 0 });
  };

  // What the API processes' live streams watch (retained, one message per API process): only those
  // readings are fanned out. mqtt.js subscribes again after a reconnect.
  const interests = new Map<string, LiveInterest>();
  let watchedPilots = new Set<string>();
  let watchedDevices = new Set<string>();
  client.subscribe(LIVE_INTEREST_FILTER, { qos: 1 });
  client.on('message', (topic, payload) => {
    const instance = topic.split('/')[2];
    if (!instance) return;
    interests.delete(instance);
    try {
      const interest = payload.length > 0 ? (JSON.parse(payload.toString()) as LiveInterest) : undefined;
      if (interest && Array.isArray(interest.pilots) && Array.isArray(interest.devices)) {
        interests.set(instance, interest);
      }
    } catch {
      logger.warn({ topic }, 'ingest: ignoring a malformed live interest');
    }
    watchedPilots = new Set([...interests.values()].flatMap((i) => i.pilots));
    watchedDevices = new Set([...interests.values()].flatMap((i) => i.devices));
  });
  return {
    client,
    ready(timeoutMs) {
      if (client.connected) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          client.off('connect', onConnect);
          resolve(false);
        }, timeoutMs);
        function onConnect() {
          clearTimeout(timer);
          resolve(true);
        }
        client.once('connect', onConnect);
      });
    },
    publishStored(points) {
      if (!client.connected) return; // live view only; the data is in InfluxDB
      if (watchedPilots.size === 0 && watchedDevices.size === 0) return;
      const watched = points.filter((p) => watchedPilots.has(p.pilotId) || watchedDevices.has(p.deviceId));
      if (watched.length > 0) for (const m of storedMessages(watched)) publish(m.topic, m.payload);
    },
    publish,
    close: () => client.endAsync(),
  };
}
