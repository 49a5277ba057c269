/**
 * aedes' authorizePublish hook: the device data path.
 *
 * ## Why the hand-off happens here (durability, read from the aedes 1.2 source)
 * - For an incoming QoS 1 PUBLISH, aedes writes the PUBACK first and only then publishes:
 *   `node_modules/aedes/lib/handlers/publish.js` lines 92-96 (`write(client, new PubAck(packet), ...
 *   client.broker.publish(packet, client, done)`). A crash between the two loses an acknowledged
 *   message, so we cannot let aedes' own publish be the one that reaches ingest.
 * - `Aedes#publish` (aedes.js line 231) runs `publishFuncsQoS` (aedes.js lines 384-389) in series:
 *   `storeRetained`, `enqueueOffline`, `emitPacket`, `callPublished`, and calls its callback at the end.
 *   `enqueueOffline` (aedes.js line 318) asks the persistence for every stored subscription matching
 *   the topic and awaits `outgoingEnqueueCombi(subs, packet)` (line 361) before `emitPacket`
 *   hands the packet to online subscribers.
 * - aedes-persistence-level keeps the subscriptions of every clean=false client (online or not; stored
 *   at SUBSCRIBE, `lib/handlers/subscribe.js` line 134, and loaded back at start-up,
 *   `asyncPersistence.js` line 51) and `outgoingEnqueue` (`asyncPersistence.js` lines 275-277) awaits a
 *   LevelDB put of the packet under `outgoing:{clientId}:...`. LevelDB appends it to its log and
 *   flushes that to the OS before the put resolves (no fsync: survives a process crash or SIGKILL,
 *   not a power cut, the same guarantee as the registry's `synchronous = NORMAL`).
 * - An online persistent subscriber gets the packet from that queue entry (`lib/client.js` line 149,
 *   `outgoingUpdate`); an offline one gets it on reconnect (`lib/handlers/connect.js` line 248,
 *   `emptyQueue`). The entry is deleted when the subscriber PUBACKs.
 * So: when the callback of `broker.publish(packet)` fires without error, the packet is on disk in the
 * queue of the ingest worker's persistent session. Here we publish the re-addressed copy
 * (`$platform/telemetry/{deviceId}/{receivedAt}`, QoS 1, not retained) ourselves and call back only
 * after that; aedes then writes the PUBACK, so every PUBACK a device gets follows the durable hand-off.
 * If the hand-off fails we call back with the error: aedes closes the connection without a PUBACK
 * (`lib/client.js` line 66, `nextBatch(err)`), and the device sends the message again.
 * aedes' own publish of the original then goes on to the device's canonical topic
 * `devices/{id}/telemetry` (a ThingsBoard topic is rewritten to it), where only the device itself
 * may subscribe.
 *
 * ## Refused publishes are acknowledged and dropped, the connection stays up
 * MQTT 3.1.1 section 3.3.5 [MQTT-3.3.5-2] lets a server either acknowledge an unauthorised PUBLISH
 * normally or close the connection. An error from this hook makes aedes close the connection for
 * every QoS (`lib/client.js` line 66). We choose to acknowledge and drop: a device whose firmware
 * publishes to a wrong topic or too fast would otherwise reconnect and re-send the same unacknowledged
 * QoS 1 message forever, and its valid telemetry queued behind it would never get through. The drop is
 * counted (`broker_messages_dropped_total{reason}`) and recorded as a device error the API shows.
 * Dropping means re-addressing the packet to a sink topic nobody may subscribe to.
 */
import type { Aedes, AuthorizePublishHandler, Client, PublishPacket } from 'aedes';
import type { BrokerConfig } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { ingestTopic, telemetryTopic } from '../core/topics.js';
import { decidePublish, type Identity, SINK_TOPIC, topicLevels } from './acl.js';
import type { DeviceErrorBuffer } from './device-errors.js';
import type { RateLimiter } from './limits.js';
import type { BrokerMetrics, DropReason } from './metrics.js';
import type { PresenceTracker } from './presence.js';

export interface PublishDeps {
  broker: () => Aedes;
  identityOf: (client: Client | null) => Identity | undefined;
  limits: Pick<BrokerConfig, 'maxPayloadBytes' | 'maxTopicLevels'>;
  limiter: RateLimiter;
  errors: DeviceErrorBuffer;
  presence: PresenceTracker;
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

  /** Publishes the copy for ingest; `done` runs once it is durably queued (see the file comment). */
  function handOff(
    client: Client,
    packet: PublishPacket,
    ingestAt: string,
    done: (err?: Error | null) => void,
  ) {
    const copy: PublishPacket = {
      cmd: 'publish',
      topic: ingestAt,
      payload: packet.payload,
      qos: 1,
      retain: false,
      dup: false,
    };
    // A QoS 2 PUBLISH sent again before PUBREL (DUP) is already stored by aedes and was handed
    // off the first time: do not hand it off twice.
    const seenBefore: Promise<boolean> =
      packet.qos === 2
        ? persistenceOf(deps.broker())
            .incomingGetPacket(client, packet)
            .then(
              () => true,
              () => false,
            )
        : Promise.resolve(false);
    seenBefore.then((seen) => {
      if (seen) return done(null);
      deps.broker().publish(copy, (err?: Error) => {
        if (err) {
          deps.logger.error(
            { err, topic: ingestAt },
            'could not queue telemetry for ingest; refusing the message',
          );
          return done(err);
        }
        metrics.handedToIngest.inc();
        done(null);
      });
    });
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

    if (identity.kind === 'device') {
      const { deviceId } = identity;
      if (identity.revoked) {
        // The session is being closed (secret rotated or device deleted); its will is not published.
        sink(packet);
        return callback(null);
      }
      deps.presence.seen(deviceId, deps.now());
      if (!deps.limiter.take(deviceId)) {
        drop(
          deviceId,
          packet,
          'rate_limited',
          `rate limit exceeded: more than ${deps.limiter.ratePerSecond} messages per second`,
        );
        return callback(null);
      }
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
    }

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
        return callback(null);
      case 'telemetry':
        return handOff(client, packet, ingestTopic(decision.deviceId, deps.now()), (err) => {
          if (!err) {
            packet.topic = telemetryTopic(decision.deviceId);
          }
          callback(err);
        });
      case 'service-telemetry':
        // The API's HTTP ingest: same durable hand-off on the same topic; the original is sunk so
        // ingest does not receive it twice.
        return handOff(client, packet, packet.topic, (err) => {
          if (!err) sink(packet);
          callback(err);
        });
    }
  };
}

/** aedes sets `persistence` in listen(); its types do not declare it. */
function persistenceOf(broker: Aedes): {
  incomingGetPacket(client: Client, packet: PublishPacket): Promise<unknown>;
} {
  return (broker as unknown as { persistence: ReturnType<typeof persistenceOf> }).persistence;
}
