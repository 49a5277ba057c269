/** aedes' events: connection gauge, presence (connect, disconnect, PINGREQ) and logging. */
import type { EventEmitter } from 'node:events';
import type { Aedes } from 'aedes';
import type { Logger } from '../core/log.js';
import type { Authenticator } from './auth.js';
import type { BrokerMetrics } from './metrics.js';
import type { PresenceTracker } from './presence.js';

export function trackClients(
  aedes: Aedes,
  deps: {
    auth: Authenticator;
    presence: PresenceTracker;
    metrics: BrokerMetrics;
    logger: Logger;
    now: () => number;
  },
): void {
  const { auth, presence, metrics, logger, now } = deps;
  const deviceOf = (client: Parameters<Authenticator['identityOf']>[0]) => {
    const identity = auth.identityOf(client);
    return identity?.kind === 'device' ? identity.deviceId : undefined;
  };
  // 'client' and 'clientDisconnect' pair up one to one (aedes registerClient/unregisterClient), so
  // the gauge and presence counts cannot drift.
  aedes.on('client', (client) => {
    metrics.connections.inc();
    const deviceId = deviceOf(client);
    if (deviceId) presence.connected(deviceId, now());
  });
  aedes.on('clientDisconnect', (client) => {
    metrics.connections.dec();
    const deviceId = deviceOf(client);
    if (deviceId) presence.disconnected(deviceId, now());
  });
  aedes.on('ping', (_packet, client) => {
    const deviceId = deviceOf(client);
    if (deviceId) presence.seen(deviceId, now());
  });
  aedes.on('clientError', (client, err) =>
    logger.debug({ clientId: client.id, err: err.message }, 'client error'),
  );
  aedes.on('connectionError', (_client, err) => logger.debug({ err: err.message }, 'connection error'));
  // Persistence failures surface here; without a listener EventEmitter would throw.
  (aedes as EventEmitter).on('error', (err: Error) => logger.error({ err }, 'broker error'));
}
