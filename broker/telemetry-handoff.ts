/**
 * Accepted telemetry goes into the journal, and the hook calls back (so aedes writes the PUBACK,
 * handlePublish) only once the append is durable; a failed append refuses the message. docs/DESIGN.md.
 */
import type { Aedes, Client, PublishPacket } from 'aedes';
import type { Logger } from '../core/log.js';
import type { Identity } from './acl.js';
import { persistenceOf } from './aedes-internals.js';
import type { GroupCommit } from './group-commit.js';
import type { BrokerMetrics } from './metrics.js';

export type HandOff = (
  client: Client,
  packet: PublishPacket,
  deviceId: string,
  receivedAt: number,
  done: (err?: Error | null) => void,
) => void;

export function createTelemetryHandOff(deps: {
  broker: () => Aedes;
  journal: Pick<GroupCommit, 'append'>;
  identityOf: (client: Client | null) => Identity | undefined;
  metrics: Pick<BrokerMetrics, 'handedToIngest'>;
  logger: Logger;
}): HandOff {
  /** A QoS 2 PUBLISH sent again before PUBREL (DUP) is stored by aedes already, and was appended. */
  const seenBefore = (client: Client, packet: PublishPacket): Promise<boolean> =>
    packet.qos !== 2
      ? Promise.resolve(false)
      : persistenceOf(deps.broker())
          .incomingGetPacket(client, packet)
          .then(
            () => true,
            () => false,
          );

  return (client, packet, deviceId, receivedAt, done) => {
    seenBefore(client, packet)
      .then(async (seen) => {
        if (seen) return;
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        // The API's HTTP ingest is never held: it answers 503 itself once the broker announced a full
        // journal, and holding its one shared connection would stall its live streams too.
        const mayHold = deps.identityOf(client)?.kind === 'device';
        await deps.journal.append(deviceId, receivedAt, payload, mayHold);
        deps.metrics.handedToIngest.inc();
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
  };
}
