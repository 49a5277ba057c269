/**
 * Hands an HTTP-posted telemetry body to ingest exactly as a device's MQTT message goes: published
 * QoS 1 to `$platform/telemetry/{deviceId}/{receivedAtMs}` by `svc:api`. The broker commits it to the
 * telemetry spool ingest drains before its PUBACK (broker/publish.ts), so a 202 (sent after the PUBACK)
 * carries the same guarantee as an MQTT QoS 1 publish.
 */
import type { MqttClient } from 'mqtt';
import { httpIngestTopic, JOURNAL_STATE_TOPIC } from '../../core/topics.js';

export interface IngestPublisher {
  /** Resolves after the broker's PUBACK; rejects with BrokerUnavailableError when it cannot be handed over. */
  publish(deviceId: string, receivedAt: number, payload: Buffer): Promise<void>;
  /** True while the broker holds telemetry because its spool is full (it would hold this PUBACK too). */
  spoolFull(): boolean;
}

export class BrokerUnavailableError extends Error {
  constructor(
    message: string,
    /** Seconds the client should wait before it tries again. */
    readonly retryAfterSeconds = 5,
  ) {
    super(message);
    this.name = 'BrokerUnavailableError';
  }
}

/**
 * Over the API's shared `svc:api` connection. When it is down the call fails at once instead of
 * queueing in mqtt.js's offline store: the HTTP client gets a 503 and retries, which is the honest
 * answer. After `timeoutMs` without a PUBACK the call fails too; that message may still reach the
 * broker later (mqtt.js re-sends it), so a client retry can store a reading twice only when it had
 * no `ts` of its own (readings with a `ts` are idempotent in InfluxDB). While the broker says its
 * spool is full the call fails at once: the broker would hold the PUBACK, and with it every other
 * packet of this shared connection.
 */
export function createMqttIngestPublisher(
  client: MqttClient,
  opts: { timeoutMs?: number } = {},
): IngestPublisher {
  const timeoutMs = opts.timeoutMs ?? 5000;
  // The broker's retained spool state (core/topics.ts); mqtt.js subscribes again after a reconnect.
  let full = false;
  client.on('message', (topic, payload) => {
    if (topic !== JOURNAL_STATE_TOPIC) return;
    try {
      full = (JSON.parse(payload.toString()) as { full?: unknown }).full === true;
    } catch {
      full = false;
    }
  });
  client.subscribe(JOURNAL_STATE_TOPIC, { qos: 1 });
  return {
    spoolFull: () => full,
    async publish(deviceId, receivedAt, payload) {
      if (!client.connected) throw new BrokerUnavailableError('broker connection is down');
      if (full) throw new BrokerUnavailableError('the telemetry spool is full', 10);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new BrokerUnavailableError('broker did not acknowledge in time')),
          timeoutMs,
        );
      });
      try {
        await Promise.race([
          client.publishAsync(httpIngestTopic(deviceId, receivedAt), payload, { qos: 1 }),
          timeout,
        ]);
      } catch (err) {
        if (err instanceof BrokerUnavailableError) throw err;
        throw new BrokerUnavailableError(`broker refused the message: ${(err as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
