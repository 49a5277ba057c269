/**
 * A QoS 1 message between clients (e.g. to a device's own `devices/{id}/inbox`): aedes' handlePublish
 * writes the PUBACK before Aedes#publish queues the message for offline persistent sessions. Publishing
 * a copy here, before the hook calls back, puts that queueing (on disk) before the PUBACK.
 */
import type { Aedes, PublishPacket } from 'aedes';
import type { Logger } from '../core/log.js';

export function publishBeforeAck(
  broker: Aedes,
  packet: PublishPacket,
  logger: Logger,
  done: (err?: Error | null) => void,
): void {
  const copy: PublishPacket = {
    cmd: 'publish',
    topic: packet.topic,
    payload: packet.payload,
    qos: 1,
    retain: packet.retain,
    dup: false,
  };
  broker.publish(copy, (err?: Error) => {
    if (err) logger.error({ err, topic: packet.topic }, 'could not publish; refusing the message');
    done(err ?? null);
  });
}
