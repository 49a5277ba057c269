/**
 * Who may publish, subscribe to and receive what: pure functions of an identity and a topic. A device
 * only under `devices/{its id}/`; services on their `$platform/...` topics; nobody on `$SYS/`
 * [MQTT-4.7.2-1]. The full table: docs/DESIGN.md, "Who may publish, subscribe and receive".
 */
import { controlTopicOf, parseDeviceChangesTopic } from '../core/command-topics.js';
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
  /** A device's answer to a command, twin report or twin request (broker/commands.ts, twin.ts). */
  | { verdict: 'command-response'; deviceId: string; commandId: string }
  | { verdict: 'twin-reported'; deviceId: string }
  | { verdict: 'twin-get'; deviceId: string }
  /** The API's `$platform/device-changes/{pilot}/{device}`: deliver, then forward to API processes. */
  | { verdict: 'device-change'; pilotId: string; deviceId: string }
  | { verdict: 'allow' }
  | { verdict: 'deny'; reason: string };

const TELEMETRY_PREFIX = '$platform/telemetry/';
const STORED_PREFIX = '$platform/stored/';
const METRICS_PREFIX = '$platform/metrics/';
const LIVE_INTEREST_PREFIX = '$platform/live-interest/';
const DEVICE_CHANGES_PREFIX = '$platform/device-changes/';

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
      const control = controlTopicOf(deviceId, topic);
      if (control) return controlDecision(deviceId, topic, control);
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
      if (topic.startsWith(DEVICE_CHANGES_PREFIX) && identity.service === 'api') {
        const where = parseDeviceChangesTopic(topic);
        return where
          ? { verdict: 'device-change', ...where }
          : { verdict: 'deny', reason: 'malformed device-changes topic' };
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
            filter.startsWith(DEVICE_CHANGES_PREFIX) ||
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
        ? topic.startsWith(STORED_PREFIX) ||
            topic.startsWith(METRICS_PREFIX) ||
            topic.startsWith(DEVICE_CHANGES_PREFIX) ||
            topic === JOURNAL_STATE_TOPIC
        : topic.startsWith(LIVE_INTEREST_PREFIX);
    case 'anonymous':
      return isPublicTopic(topic);
  }
}

function controlDecision(
  deviceId: string,
  topic: string,
  control: NonNullable<ReturnType<typeof controlTopicOf>>,
): PublishDecision {
  switch (control.kind) {
    case 'command-response':
      return { verdict: 'command-response', deviceId, commandId: control.commandId };
    case 'twin-reported':
      return { verdict: 'twin-reported', deviceId };
    case 'twin-get':
      return { verdict: 'twin-get', deviceId };
    case 'reserved':
      return {
        verdict: 'deny',
        reason: `publish to "${topic}" refused: the platform publishes there; a device publishes commands/{commandId}/response, twin/reported and twin/get`,
      };
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
