/**
 * aedes' authorizePublish hook: the device data path. A device waits for its rate, then its size and
 * depth limits apply, then the ACL decides: drop (drop.ts), forward (publish-before-ack.ts for QoS 1)
 * or append telemetry to the journal before the PUBACK (telemetry-handoff.ts). docs/DESIGN.md.
 */
import type { Aedes, AuthorizePublishHandler, Client, PublishPacket } from 'aedes';
import type { BrokerConfig } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { parseHttpIngestTopic, telemetryTopic } from '../core/topics.js';
import { decidePublish, type Identity, topicLevels } from './acl.js';
import type { CommandDelivery } from './commands.js';
import type { DeviceErrorBuffer } from './device-errors.js';
import { createDropPolicy, type DropPolicy } from './drop.js';
import type { GroupCommit } from './group-commit.js';
import type { DeviceThrottle } from './limits.js';
import type { BrokerMetrics } from './metrics.js';
import type { PresenceTracker } from './presence.js';
import { publishBeforeAck } from './publish-before-ack.js';
import type { RetainedQuota } from './retained-quota.js';
import { createTelemetryHandOff, type HandOff } from './telemetry-handoff.js';
import type { DeviceTwins } from './twin.js';

export interface PublishDeps {
  broker: () => Aedes;
  /** Appends accepted telemetry to the journal ingest drains. */
  journal: Pick<GroupCommit, 'append'>;
  identityOf: (client: Client | null) => Identity | undefined;
  limits: Pick<BrokerConfig, 'maxPayloadBytes' | 'maxTopicLevels'>;
  throttle: Pick<DeviceThrottle, 'admit'>;
  errors: DeviceErrorBuffer;
  presence: PresenceTracker;
  /** Retained messages per device (retained-quota.ts); unbounded when omitted. */
  retained?: Pick<RetainedQuota, 'admit'>;
  metrics: BrokerMetrics;
  logger: Logger;
  now: () => number;
  /** Commands and twins (commands.ts, twin.ts); their topics are refused when omitted. */
  control?: { commands: CommandDelivery; twins: DeviceTwins };
}

type Callback = (err?: Error | null) => void;
type DeviceIdentity = Extract<Identity, { kind: 'device' }>;

/** What the steps share. */
interface Ctx {
  deps: PublishDeps;
  policy: DropPolicy;
  handOff: HandOff;
}

export function createAuthorizePublish(deps: PublishDeps): AuthorizePublishHandler {
  const ctx: Ctx = { deps, policy: createDropPolicy(deps), handOff: createTelemetryHandOff(deps) };
  return function authorizePublish(client, packet, callback) {
    const identity = deps.identityOf(client);
    // A will aedes publishes for a client of an earlier run (client null): whose it is is unknown.
    if (!client || !identity) {
      ctx.policy.sink(packet);
      return callback(null);
    }
    deps.metrics.messagesIn.inc();
    if (identity.kind !== 'device') return decide(ctx, client, identity, packet, callback);
    // Over its rate a device waits here, every message counted (limits.ts). Never a drop.
    deps.throttle.admit(client, identity.deviceId, (open) => {
      // Closed while held: no PUBACK went out, so nothing is kept either; the device sends it again.
      if (!open) return callback(new Error('connection closed while the message waited for its rate'));
      authorizeDevice(ctx, client, identity, packet, callback);
    });
  };
}

/** Size and depth limits of a device's message, after its rate let it through. */
function authorizeDevice(
  ctx: Ctx,
  client: Client,
  identity: DeviceIdentity,
  packet: PublishPacket,
  callback: Callback,
) {
  const { deviceId } = identity;
  // Revoked: the session is being closed (secret rotated, device deleted); its will is not published.
  if (identity.revoked) {
    ctx.policy.sink(packet);
    return callback(null);
  }
  ctx.deps.presence.seen(deviceId, ctx.deps.now());
  const { maxPayloadBytes, maxTopicLevels } = ctx.deps.limits;
  if (packet.payload.length > maxPayloadBytes) {
    const detail = `payload of ${packet.payload.length} bytes exceeds the limit of ${maxPayloadBytes}`;
    ctx.policy.drop(deviceId, packet, 'payload_too_large', detail);
    return callback(null);
  }
  if (topicLevels(packet.topic) > maxTopicLevels) {
    const detail = `topic has more than ${maxTopicLevels} levels`;
    ctx.policy.drop(deviceId, packet, 'topic_too_deep', detail);
    return callback(null);
  }
  decide(ctx, client, identity, packet, callback);
}

/** The ACL's verdict: drop, forward, or append telemetry to the journal. */
function decide(ctx: Ctx, client: Client, identity: Identity, packet: PublishPacket, callback: Callback) {
  const decision = decidePublish(identity, packet.topic);
  switch (decision.verdict) {
    case 'deny':
      ctx.policy.refuse(identity, packet, decision.reason);
      return callback(null);
    case 'allow':
      return forward(ctx, identity, packet, callback);
    case 'telemetry':
      // Stored, not retained: a retained copy per device would serve nobody.
      packet.retain = false;
      return ctx.handOff(client, packet, decision.deviceId, ctx.deps.now(), (err) => {
        if (!err) packet.topic = telemetryTopic(decision.deviceId);
        callback(err);
      });
    case 'command-response':
    case 'twin-reported':
    case 'twin-get':
    case 'device-change':
      return control(ctx, identity, packet, decision, callback);
    case 'service-telemetry': {
      // The API's HTTP ingest, stamped when the API took the request; the original is sunk.
      const where = parseHttpIngestTopic(packet.topic);
      if (!where) {
        ctx.policy.refuse(identity, packet, 'malformed telemetry topic');
        return callback(null);
      }
      return ctx.handOff(client, packet, where.deviceId, where.receivedAt, (err) => {
        if (!err) ctx.policy.sink(packet);
        callback(err);
      });
    }
  }
}

type ControlDecision = Extract<
  ReturnType<typeof decidePublish>,
  { verdict: 'command-response' | 'twin-reported' | 'twin-get' | 'device-change' }
>;

/** Commands and twins: the device's answers and reports are stored before the PUBACK, then sunk. */
function control(
  ctx: Ctx,
  identity: Identity,
  packet: PublishPacket,
  decision: ControlDecision,
  callback: Callback,
) {
  const parts = ctx.deps.control;
  if (!parts) {
    ctx.policy.refuse(identity, packet, 'commands and twins are not served by this broker');
    return callback(null);
  }
  // The API changed a command or the desired state: forwarded to the broker's own subscription
  // (control.ts, which delivers) and to every API process's live streams.
  if (decision.verdict === 'device-change') return forward(ctx, identity, packet, callback);
  if (identity.kind !== 'device') return callback(null);
  packet.retain = false;
  const done = (err?: Error) => {
    if (!err) ctx.policy.sink(packet);
    callback(err ?? null);
  };
  const { deviceId, pilotId } = identity;
  const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
  if (decision.verdict === 'command-response')
    return parts.commands.answer(deviceId, pilotId, decision.commandId, payload, done);
  if (decision.verdict === 'twin-reported') return parts.twins.reported(deviceId, pilotId, payload, done);
  return parts.twins.get(deviceId, payload, done);
}

function forward(ctx: Ctx, identity: Identity, packet: PublishPacket, callback: Callback) {
  if (packet.retain && identity.kind === 'device') {
    const refusal = ctx.deps.retained?.admit(identity.deviceId, packet.topic, packet.payload.length);
    if (refusal) {
      ctx.policy.drop(identity.deviceId, packet, 'retained_quota', refusal);
      return callback(null);
    }
  }
  if (packet.qos !== 1) return callback(null);
  publishBeforeAck(ctx.deps.broker(), packet, ctx.deps.logger, (err) => {
    if (!err) ctx.policy.sink(packet);
    callback(err);
  });
}
