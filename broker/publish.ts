/**
 * aedes' authorizePublish hook: the device data path.
 *
 * ## Telemetry goes straight into the durable spool (why, and why the PUBACK waits for it)
 * - For an incoming QoS 1 PUBLISH, aedes writes the PUBACK first and only then publishes:
 *   `node_modules/aedes/lib/handlers/publish.js` lines 92-96 (`write(client, new PubAck(packet), ...
 *   client.broker.publish(packet, client, done)`), but it calls this hook before both. So the hook is
 *   the one place where a message can be made durable before its PUBACK.
 * - Here a device's telemetry (and the API's HTTP ingest, `$platform/telemetry/{deviceId}/{receivedAt}`
 *   published by `svc:api`) is appended to the telemetry spool (core/telemetry-spool.ts, SQLite in
 *   `DATA_DIR/ingest/spool.db`) that ingest drains into InfluxDB. We call back only after the append's
 *   transaction committed (broker/spool-appender.ts: group commit, one transaction per event-loop
 *   turn), so every PUBACK a device gets follows a durable commit. QoS 0 telemetry is appended the
 *   same way (there is no PUBACK to hold, but ingest only ever sees committed messages).
 * - The receive stamp (`receivedAt`, used as the time of a flat payload) is taken when the broker first
 *   accepts the message and stored in the row, so draining the row again after a crash uses the same
 *   stamp. A device's own re-send of an unacknowledged message is a new acceptance with a new stamp.
 * - If the append fails we call back with the error: aedes closes the connection without a PUBACK
 *   (`lib/client.js` line 66, `nextBatch(err)`), and the device sends the message again. While the
 *   spool is past `INGEST_SPOOL_MAX_MESSAGES` the append is held, and so is the PUBACK (backpressure,
 *   see spool-appender.ts).
 * - aedes' own publish of the original then goes on to the device's canonical topic
 *   `devices/{id}/telemetry` (a ThingsBoard topic is rewritten to it), where only the device itself
 *   may subscribe; the API's copy goes to the sink.
 * - Other QoS 1 messages (a device's own `devices/{id}/...` topics, e.g. commands to its persistent
 *   session) are published by this hook before it calls back, and the original is sunk: aedes'
 *   `Aedes#publish` (aedes.js line 215) awaits the on-disk queueing for every offline persistent
 *   subscriber (`enqueueOffline`, `outgoingEnqueueCombi`) before its callback, so the PUBACK follows it.
 *
 * Before this, the broker published a re-addressed copy QoS 1 to ingest's persistent MQTT session:
 * aedes-persistence-level did ~7 LevelDB operations plus msgpack per message, then the message crossed
 * a second MQTT hop into ingest, which committed it to this same spool one transaction per message.
 * The platform stored ~3,800 one-reading QoS 1 messages/s while raw Aedes forwarded ~33,000/s
 * (bench/RESULTS.md, "End to end"); writing the spool here removes the hop and both per-message costs.
 *
 * ## Permanent refusals are acknowledged and dropped; transient conditions never drop
 * Permanent: a topic outside the device's own `devices/{id}/` (another device's, `$platform/...`,
 * `$SYS/...`), a payload over `MQTT_MAX_PAYLOAD_BYTES`, a topic deeper than `MQTT_MAX_TOPIC_LEVELS`
 * (and, in ingest, a payload that cannot be parsed). MQTT 3.1.1 section 3.3.5 [MQTT-3.3.5-2] lets a
 * server either acknowledge an unauthorised PUBLISH normally or close the connection; an error from
 * this hook closes it (`lib/client.js` line 66). We acknowledge and drop: the same message would fail
 * the same way after every reconnect, and the device's valid telemetry queued behind it would never
 * get through. The drop is counted (`broker_messages_dropped_total{reason}`) and recorded as a device
 * error the API shows; dropping means re-addressing the packet to a sink topic nobody may subscribe to.
 * Transient: over the device's rate (held until its bucket allows it, limits.ts), spool full (held
 * until ingest drained it, spool-appender.ts), a failed spool commit (no PUBACK, connection closed:
 * the device sends it again). None of them acknowledges a message it does not keep.
 */
import type { Aedes, AuthorizePublishHandler, Client, PublishPacket } from 'aedes';
import type { BrokerConfig } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { parseIngestTopic, telemetryTopic } from '../core/topics.js';
import { decidePublish, type Identity, SINK_TOPIC, topicLevels } from './acl.js';
import type { DeviceErrorBuffer } from './device-errors.js';
import type { GroupCommit } from './group-commit.js';
import type { DeviceThrottle } from './limits.js';
import type { BrokerMetrics, DropReason } from './metrics.js';
import type { PresenceTracker } from './presence.js';
import type { RetainedQuota } from './retained-quota.js';

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
}

export function createAuthorizePublish(deps: PublishDeps): AuthorizePublishHandler {
  const { metrics } = deps;

  function sink(packet: PublishPacket) {
    packet.topic = SINK_TOPIC;
    packet.retain = false;
  }

  function drop(deviceId: string, packet: PublishPacket, reason: DropReason, detail: string) {
    metrics.dropped.inc({ reason });
    deps.errors.add(deviceId, detail, packet.payload);
    sink(packet);
  }

  /** Appends the message to the spool; `done` runs once it is committed (see the file comment). */
  function handOff(
    client: Client,
    packet: PublishPacket,
    deviceId: string,
    receivedAt: number,
    done: (err?: Error | null) => void,
  ) {
    // A QoS 2 PUBLISH sent again before PUBREL (DUP) is already stored by aedes and was appended
    // the first time: do not append it twice.
    const seenBefore: Promise<boolean> =
      packet.qos === 2
        ? persistenceOf(deps.broker())
            .incomingGetPacket(client, packet)
            .then(
              () => true,
              () => false,
            )
        : Promise.resolve(false);
    seenBefore
      .then(async (seen) => {
        if (seen) return;
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        // The API's HTTP ingest is not held when the spool is full: it answers 503 itself once the
        // broker announced it (SPOOL_STATE_TOPIC), and holding its one shared connection would stall
        // the live streams on it too. Requests in flight at that moment go a little past the bound.
        const mayHold = deps.identityOf(client)?.kind === 'device';
        await deps.journal.append(deviceId, receivedAt, payload, mayHold);
        metrics.handedToIngest.inc();
      })
      .then(
        () => done(null),
        (err: Error) => {
          deps.logger.error(
            { err, deviceId },
            'could not append telemetry to the journal; refusing the message',
          );
          done(err);
        },
      );
  }

  /**
   * A QoS 1 message between clients (e.g. to a device's `devices/{id}/commands`): aedes would PUBACK
   * first and queue it for offline persistent sessions after (see the file comment). Publishing it
   * here and sinking the original puts the queueing (on disk with LevelDB) before the PUBACK.
   */
  function publishBeforeAck(packet: PublishPacket, done: (err?: Error | null) => void) {
    const copy: PublishPacket = {
      cmd: 'publish',
      topic: packet.topic,
      payload: packet.payload,
      qos: 1,
      retain: packet.retain,
      dup: false,
    };
    deps.broker().publish(copy, (err?: Error) => {
      if (err) deps.logger.error({ err, topic: packet.topic }, 'could not publish; refusing the message');
      done(err ?? null);
    });
  }

  /** Size and depth limits of a device's message, after its rate let it through. */
  function authorizeDevice(
    client: Client,
    identity: Extract<Identity, { kind: 'device' }>,
    packet: PublishPacket,
    callback: (err?: Error | null) => void,
  ) {
    const { deviceId } = identity;
    if (identity.revoked) {
      // The session is being closed (secret rotated or device deleted); its will is not published.
      sink(packet);
      return callback(null);
    }
    deps.presence.seen(deviceId, deps.now());
    if (packet.payload.length > deps.limits.maxPayloadBytes) {
      drop(
        deviceId,
        packet,
        'payload_too_large',
        `payload of ${packet.payload.length} bytes exceeds the limit of ${deps.limits.maxPayloadBytes}`,
      );
      return callback(null);
    }
    if (topicLevels(packet.topic) > deps.limits.maxTopicLevels) {
      drop(deviceId, packet, 'topic_too_deep', `topic has more than ${deps.limits.maxTopicLevels} levels`);
      return callback(null);
    }
    decide(client, identity, packet, callback);
  }

  /** The ACL's verdict: drop, forward, or commit telemetry to the spool. */
  function decide(
    client: Client,
    identity: Identity,
    packet: PublishPacket,
    callback: (err?: Error | null) => void,
  ) {
    const decision = decidePublish(identity, packet.topic);
    switch (decision.verdict) {
      case 'deny':
        if (identity.kind === 'device') drop(identity.deviceId, packet, 'forbidden_topic', decision.reason);
        else {
          metrics.dropped.inc({ reason: 'forbidden_topic' });
          deps.logger.warn({ topic: packet.topic, identity: identity.kind }, 'refused publish');
          sink(packet);
        }
        return callback(null);
      case 'allow':
        if (packet.retain && identity.kind === 'device') {
          const refusal = deps.retained?.admit(identity.deviceId, packet.topic, packet.payload.length);
          if (refusal) {
            drop(identity.deviceId, packet, 'retained_quota', refusal);
            return callback(null);
          }
        }
        if (packet.qos !== 1) return callback(null);
        return publishBeforeAck(packet, (err) => {
          if (!err) sink(packet);
          callback(err);
        });
      case 'telemetry':
        // Stored, not retained: readings go to InfluxDB, and a retained copy per device would be
        // sent to every subscriber of the topic (only the device itself) for no use.
        packet.retain = false;
        return handOff(client, packet, decision.deviceId, deps.now(), (err) => {
          if (!err) packet.topic = telemetryTopic(decision.deviceId);
          callback(err);
        });
      case 'service-telemetry': {
        // The API's HTTP ingest: the API stamped receivedAt when it took the request; the original
        // is sunk (nobody subscribes to telemetry any more).
        const where = parseIngestTopic(packet.topic);
        if (!where) {
          metrics.dropped.inc({ reason: 'forbidden_topic' });
          deps.logger.warn({ topic: packet.topic }, 'refused a malformed service telemetry topic');
          sink(packet);
          return callback(null);
        }
        return handOff(client, packet, where.deviceId, where.receivedAt, (err) => {
          if (!err) sink(packet);
          callback(err);
        });
      }
    }
  }

  return function authorizePublish(client, packet, callback) {
    const identity = deps.identityOf(client);
    if (!client || !identity) {
      // A will published by aedes for a client of an earlier broker run (client is null): we cannot
      // tell whose it is, so it is dropped.
      sink(packet);
      return callback(null);
    }
    metrics.messagesIn.inc();
    if (identity.kind !== 'device') return decide(client, identity, packet, callback);
    // Over its rate a device waits here, every message counted, permanent refusals included: this
    // is what stops reading its connection (limits.ts). Never a drop.
    deps.throttle.admit(client, identity.deviceId, (open) => {
      // Closed while held: no PUBACK went out, so nothing is kept either; the device sends it again.
      if (!open) return callback(new Error('connection closed while the message waited for its rate'));
      authorizeDevice(client, identity, packet, callback);
    });
  };
}

/** aedes sets `persistence` in listen(); its types do not declare it. */
function persistenceOf(broker: Aedes): {
  incomingGetPacket(client: Client, packet: PublishPacket): Promise<unknown>;
} {
  return (broker as unknown as { persistence: ReturnType<typeof persistenceOf> }).persistence;
}
