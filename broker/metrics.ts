/**
 * The broker's Prometheus metrics, registered on the registry the caller injects (the API serves that
 * registry at /metrics when everything runs in one process). Names start with `broker_` so they never
 * clash with ingest's or the API's metrics on a shared registry.
 */
import { Counter, Gauge, Registry } from 'prom-client';

/**
 * Why a device's publish was acknowledged and dropped (the `reason` label of
 * broker_messages_dropped_total): only permanent refusals. Being over the rate is not one of them.
 */
export type DropReason = 'forbidden_topic' | 'payload_too_large' | 'topic_too_deep' | 'retained_quota';
export type AuthFailureReason = 'bad_credentials' | 'no_credentials' | 'client_id_rejected';

export interface BrokerMetrics {
  connections: Gauge;
  messagesIn: Counter;
  messagesOut: Counter;
  handedToIngest: Counter;
  dropped: Counter<'reason'>;
  subscriptionsRefused: Counter;
  authFailures: Counter<'reason'>;
  connacksDelayed: Counter;
  sessionsRevoked: Counter;
  telemetryHeld: Gauge;
  throttledMessages: Counter;
  throttledSeconds: Counter;
  throttledWaiting: Gauge;
}

export function createBrokerMetrics(
  registry: Registry = new Registry(),
  state: { telemetryHeld: () => boolean } = { telemetryHeld: () => false },
): BrokerMetrics {
  const registers = [registry];
  return {
    connections: new Gauge({
      name: 'broker_connections',
      help: 'MQTT clients currently connected (after CONNACK)',
      registers,
    }),
    messagesIn: new Counter({
      name: 'broker_messages_received_total',
      help: 'PUBLISH packets received from clients, accepted or not',
      registers,
    }),
    messagesOut: new Counter({
      name: 'broker_messages_sent_total',
      help: 'PUBLISH packets forwarded to subscribers',
      registers,
    }),
    handedToIngest: new Counter({
      name: 'broker_telemetry_accepted_total',
      help: 'Telemetry messages committed to the journal ingest drains (devices and HTTP ingest)',
      registers,
    }),
    dropped: new Counter({
      name: 'broker_messages_dropped_total',
      help: 'Device publishes dropped by the broker, by reason',
      labelNames: ['reason'],
      registers,
    }),
    subscriptionsRefused: new Counter({
      name: 'broker_subscriptions_refused_total',
      help: 'SUBSCRIBE topic filters refused by the ACL (SUBACK 0x80)',
      registers,
    }),
    authFailures: new Counter({
      name: 'broker_auth_failures_total',
      help: 'Refused CONNECTs, by reason',
      labelNames: ['reason'],
      registers,
    }),
    connacksDelayed: new Counter({
      name: 'broker_connacks_delayed_total',
      help: 'Refused CONNACKs held back because of earlier failures from the same address',
      registers,
    }),
    sessionsRevoked: new Counter({
      name: 'broker_sessions_revoked_total',
      help: 'Live device connections dropped because the device secret was rotated or the device deleted',
      registers,
    }),
    telemetryHeld: new Gauge({
      name: 'broker_telemetry_backpressure',
      help: '1 while telemetry PUBACKs are held because the journal is past INGEST_SPOOL_MAX_MESSAGES',
      registers,
      collect() {
        this.set(state.telemetryHeld() ? 1 : 0);
      },
    }),
    throttledMessages: new Counter({
      name: 'broker_messages_throttled_total',
      help: 'Device messages held (not dropped) because the device was over DEVICE_MAX_MESSAGES_PER_SECOND',
      registers,
    }),
    throttledSeconds: new Counter({
      name: 'broker_throttled_seconds_total',
      help: 'Seconds devices spent slowed down by their rate limit, summed over devices',
      registers,
    }),
    throttledWaiting: new Gauge({
      name: 'broker_throttled_messages_waiting',
      help: 'Device messages read and held right now, waiting for their rate limit (bounded by one socket read per connection)',
      registers,
    }),
  };
}
