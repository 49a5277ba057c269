/**
 * Permanent refusals are acknowledged and dropped [MQTT-3.3.5-2 lets a server either acknowledge or
 * close]: re-addressed to the sink, counted, recorded as a device error. Why: docs/DESIGN.md.
 */
import type { PublishPacket } from 'aedes';
import type { Logger } from '../core/log.js';
import { type Identity, SINK_TOPIC } from './acl.js';
import type { DeviceErrorBuffer } from './device-errors.js';
import type { BrokerMetrics, DropReason } from './metrics.js';

export interface DropPolicy {
  /** Re-addresses the packet to the sink: aedes publishes it where nobody may subscribe. */
  sink(packet: PublishPacket): void;
  /** A device's permanent refusal: dropped, counted, recorded as a device error. */
  drop(deviceId: string, packet: PublishPacket, reason: DropReason, detail: string): void;
  /** A refused publish of a service or an anonymous client: dropped, counted, logged. */
  refuse(identity: Identity, packet: PublishPacket, why: string): void;
}

export function createDropPolicy(deps: {
  metrics: Pick<BrokerMetrics, 'dropped'>;
  errors: Pick<DeviceErrorBuffer, 'add'>;
  logger: Logger;
}): DropPolicy {
  function sink(packet: PublishPacket) {
    packet.topic = SINK_TOPIC;
    packet.retain = false;
  }
  return {
    sink,
    drop(deviceId, packet, reason, detail) {
      deps.metrics.dropped.inc({ reason });
      deps.errors.add(deviceId, detail, packet.payload);
      sink(packet);
    },
    refuse(identity, packet, why) {
      if (identity.kind === 'device') return this.drop(identity.deviceId, packet, 'forbidden_topic', why);
      deps.metrics.dropped.inc({ reason: 'forbidden_topic' });
      deps.logger.warn({ topic: packet.topic, identity: identity.kind, why }, 'refused publish');
      sink(packet);
    },
  };
}
