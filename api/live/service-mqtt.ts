import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { SERVICE_USERNAMES } from '../../core/topics.js';

export interface ServiceMqttOptions {
  /** e.g. mqtt://127.0.0.1:1883 */
  url: string;
  serviceSecret: string;
  clientId?: string;
  /** Reconnect delay; default 1000 ms. */
  reconnectPeriodMs?: number;
}

/**
 * The API's one MQTT connection (user `svc:api`), shared by the live feed and HTTP ingest. Clean
 * session: the live feed wants only what happens from now on; mqtt.js re-subscribes on reconnect.
 */
export function connectServiceMqtt(opts: ServiceMqttOptions): MqttClient {
  return mqtt.connect(opts.url, {
    username: SERVICE_USERNAMES.api,
    password: opts.serviceSecret,
    // MQTT 3.1.1 section 3.1.3.1: brokers need only accept ids up to 23 characters.
    clientId: opts.clientId ?? `svc-api-${randomBytes(6).toString('hex')}`,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: opts.reconnectPeriodMs ?? 1000,
    connectTimeout: 10_000,
    // A QoS 0 publish while offline is pointless for us (nothing publishes QoS 0 here anyway).
    queueQoSZero: false,
  });
}
