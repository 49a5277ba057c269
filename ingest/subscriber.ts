/**
 * The ingest worker's MQTT side: a persistent session (fixed client id, clean=false) with a QoS 1
 * subscription to `$platform/telemetry/+/+`, where the broker queues every accepted device message.
 *
 * mqtt.js sends the PUBACK only after `handleMessage` calls back, and reads the next packet only
 * then (MQTT 3.1.1 section 4.3.2 lets the receiver acknowledge once it "has taken ownership"). We
 * take ownership by committing the message to the spool first, so an acknowledged message is on disk.
 * A message whose spool write fails is not acknowledged; we drop the connection so the broker
 * redelivers it after we reconnect (MQTT 3.1.1 section 4.4: unacknowledged QoS 1 messages are re-sent
 * when the session resumes).
 *
 * Backpressure: past `maxSpooled` messages we disconnect, keeping the session, so the broker queues
 * new messages for us (on disk, with aedes-persistence-level) instead of us filling ours; below the
 * low watermark we reconnect and the broker sends the backlog.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../core/log.js';
import { INGEST_TOPIC_FILTER, parseIngestTopic, SERVICE_USERNAMES } from '../core/topics.js';
import type { Spool } from './spool.js';

export interface SubscriberOptions {
  url: string;
  serviceSecret: string;
  maxSpooled: number;
  /** Reconnect after backpressure once the spool is at or below this many messages. */
  resumeBelow: number;
  clientId?: string;
}

export interface Subscriber {
  client: MqttClient;
  /** Resolves once connected and subscribed (or after `timeoutMs`, whichever is first). */
  ready(timeoutMs: number): Promise<boolean>;
  /** Re-checks the resume condition (called after the spool shrank). */
  spoolShrank(): void;
  paused(): boolean;
  close(): Promise<void>;
}

export function startSubscriber(
  opts: SubscriberOptions,
  spool: Spool,
  onAppended: () => void,
  logger: Logger,
): Subscriber {
  const client = mqtt.connect(opts.url, {
    clientId: opts.clientId ?? SERVICE_USERNAMES.ingest,
    username: SERVICE_USERNAMES.ingest,
    password: opts.serviceSecret,
    protocolVersion: 4,
    clean: false,
    keepalive: 30,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    // Live fan-out is QoS 0 and best effort: while offline, drop it rather than queue it in memory.
    queueQoSZero: false,
    // We subscribe ourselves on every connect without a session (see below).
    resubscribe: false,
  });
  let paused = false;
  let closing = false;
  let subscribed = false;
  const readyWaiters: (() => void)[] = [];

  client.on('connect', (connack) => {
    if (connack.sessionPresent) return markReady();
    // A new session (first start, or the broker lost it): subscribe. Until the SUBACK the broker
    // queues nothing for us; messages published before the very first subscription are not ours.
    client.subscribe(INGEST_TOPIC_FILTER, { qos: 1 }, (err, granted) => {
      if (err || granted?.[0]?.qos !== 1) {
        logger.error({ err, granted }, 'ingest: subscription to the broker was refused');
        return;
      }
      markReady();
    });
  });
  client.on('error', (err) => logger.warn({ err: err.message }, 'ingest: MQTT error'));
  client.on('offline', () => logger.debug('ingest: MQTT offline'));

  function markReady() {
    subscribed = true;
    for (const w of readyWaiters.splice(0)) w();
  }

  function pause(reason: string) {
    if (paused || closing) return;
    paused = true;
    logger.warn({ spooled: spool.count(), reason }, 'ingest: pausing intake; the broker keeps new messages');
    client.end(false);
  }

  client.handleMessage = (packet, callback) => {
    const where = parseIngestTopic(packet.topic);
    if (!where) {
      logger.warn({ topic: packet.topic }, 'ingest: ignoring a message on an unexpected topic');
      return callback();
    }
    try {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      spool.append(where.deviceId, where.receivedAt, payload);
    } catch (err) {
      logger.error({ err }, 'ingest: spool write failed; not acknowledging');
      callback(err as Error); // mqtt.js then sends no PUBACK
      pause('spool write failed');
      return;
    }
    callback();
    onAppended();
    if (spool.count() >= opts.maxSpooled) pause('spool full');
  };

  const resumeTimer = setInterval(() => subscriber.spoolShrank(), 1000);
  resumeTimer.unref();

  const subscriber: Subscriber = {
    client,
    ready(timeoutMs) {
      if (subscribed) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        readyWaiters.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    },
    spoolShrank() {
      if (!paused || closing || spool.count() > opts.resumeBelow) return;
      paused = false;
      logger.info({ spooled: spool.count() }, 'ingest: resuming intake');
      client.reconnect();
    },
    paused: () => paused,
    async close() {
      closing = true;
      clearInterval(resumeTimer);
      await client.endAsync();
    },
  };
  return subscriber;
}
