/**
 * Who may publish, subscribe to and receive what: pure functions of an identity and a topic. A device
 * only under `devices/{its id}/`; services on their `$platform/...` topics; nobody on `$SYS/`
 * [MQTT-4.7.2-1]. The full table: docs/DESIGN.md, "Who may publish, subscribe and receive".
 */
import { JOURNAL_STATE_TOPIC, THINGSBOARD_TELEMETRY_TOPIC, telemetryTopic } from '../core/topics.js';

export type Identity =
  | { kind: 'device'; deviceId: string; pilotId: string; secretHash: string; revoked: boolean }
  | { kind: 'service'; service: 'ingest' | 'api' }
  | { kind: 'anonymous' };

export type PublishDecision =
  /** Device telemetry: commit to the journal for ingest. */
  | { verdict: 'telemetry'; deviceId: string }
  /** A service's own `$platform/telemetry/{deviceId}/{receivedAt}` publish (HTTP ingest). */
  | { verdict: 'service-telemetry' }
  | { verdict: 'allow' }
  | { verdict: 'deny'; reason: string };

const TELEMETRY_PREFIX = '$platform/telemetry/';
const STORED_PREFIX = '$platform/stored/';
const METRICS_PREFIX = '$platform/metrics/';
const LIVE_INTEREST_PREFIX = '$platform/live-interest/';

/**
 * Where refused or already-handled publishes are re-addressed to. aedes publishes every packet that
 * authorizePublish lets through; nobody can subscribe here (see maySubscribe), so this is a sink.
 */
export const SINK_TOPIC = '$platform/sink';

const devicePrefix = (deviceId: string) => `devices/${deviceId}/`;

/** Levels of a topic or filter, as MQTT counts them (`a//b` has three). */
export const topicLevels = (topic: string) => topic.split('/').length;

export function decidePublish(identity: Identity, topic: string): PublishDecision {
  switch (identity.kind) {
    case 'device': {
      const { deviceId } = identity;
      if (topic === telemetryTopic(deviceId) || topic === THINGSBOARD_TELEMETRY_TOPIC) {
        return { verdict: 'telemetry', deviceId };
      }
      if (topic.startsWith(devicePrefix(deviceId))) return { verdict: 'allow' };
      return {
        verdict: 'deny',
        reason: `publish to "${topic}" refused: a device publishes only under devices/${deviceId}/`,
      };
    }
    case 'service':
      if (topic.startsWith(TELEMETRY_PREFIX) && identity.service === 'api') {
        return topic.split('/').length === 4
          ? { verdict: 'service-telemetry' }
          : { verdict: 'deny', reason: 'malformed telemetry topic' };
      }
      if (topic.startsWith(STORED_PREFIX)) return { verdict: 'allow' };
      if (isOwnMetricsTopic(topic, identity.service)) return { verdict: 'allow' };
      if (topic.startsWith(LIVE_INTEREST_PREFIX) && identity.service === 'api') return { verdict: 'allow' };
      return { verdict: 'deny', reason: `service ${identity.service} may not publish to "${topic}"` };
    case 'anonymous':
      return isPublicTopic(topic) ? { verdict: 'allow' } : { verdict: 'deny', reason: 'reserved topic' };
  }
}

export function maySubscribe(identity: Identity, filter: string): boolean {
  switch (identity.kind) {
    case 'device':
      // A literal prefix: `devices/+/...` or `#` would reach other devices' topics.
      return filter.startsWith(devicePrefix(identity.deviceId));
    case 'service':
      return identity.service === 'api'
        ? filter.startsWith(STORED_PREFIX) ||
            filter.startsWith(METRICS_PREFIX) ||
            filter === JOURNAL_STATE_TOPIC
        : filter.startsWith(LIVE_INTEREST_PREFIX);
    case 'anonymous':
      // `#` and `+/...` are allowed: they never match `$` topics (MQTT 3.1.1 section 4.7.2), and
      // mayReceive keeps device topics from being delivered.
      return isPublicTopic(filter);
  }
}

/** Checked again at delivery (aedes authorizeForward), also for packets queued in a session. */
export function mayReceive(identity: Identity, topic: string): boolean {
  switch (identity.kind) {
    case 'device':
      return topic.startsWith(devicePrefix(identity.deviceId));
    case 'service':
      return identity.service === 'api'
        ? topic.startsWith(STORED_PREFIX) || topic.startsWith(METRICS_PREFIX) || topic === JOURNAL_STATE_TOPIC
        : topic.startsWith(LIVE_INTEREST_PREFIX);
    case 'anonymous':
      return isPublicTopic(topic);
  }
}

/** `$platform/metrics/{service}`, or `.../{service}/{instance}` in cluster mode (core/topics.ts). */
function isOwnMetricsTopic(topic: string, service: string): boolean {
  const own = `${METRICS_PREFIX}${service}`;
  return topic === own || (topic.startsWith(`${own}/`) && topic.split('/').length === 4);
}

function isPublicTopic(topic: string): boolean {
  if (topic.startsWith('$')) return false;
  const first = topic.split('/', 1)[0];
  return first !== 'devices' && first !== 'v1';
}
