/**
 * Every use of aedes' private state, in one place, checked against aedes 1.2.0 (the functions named
 * below, and those docs/DESIGN.md cites). test/aedes-internals.test.ts fails when the installed
 * version changes: re-read them, then update AEDES_CHECKED_VERSION.
 */
import type { Aedes, AuthenticateError, Client, PublishPacket, Subscription } from 'aedes';

export const AEDES_CHECKED_VERSION = '1.2.0';

/** The parts of the persistence `listen()` sets on the broker that we use (not in aedes' types). */
export interface BrokerPersistence {
  /** QoS 2: a PUBLISH already stored and not yet released (PUBREL). */
  incomingGetPacket(client: Client, packet: PublishPacket): Promise<unknown>;
  createRetainedStream(pattern: string): AsyncIterable<{ topic: string; payload: Buffer | string }>;
}

export function persistenceOf(broker: Aedes): BrokerPersistence {
  return (broker as unknown as { persistence: BrokerPersistence }).persistence;
}

/** CONNACK return codes (MQTT 3.1.1 3.2.2.3); aedes' `AuthErrorCode` is a const enum absent at run time. */
export const CONNACK = {
  serverUnavailable: 3,
  identifierRejected: 2,
  badCredentials: 4,
  notAuthorized: 5,
} as const;

/** An authenticate error aedes answers with this CONNACK return code (handleConnect's `negate`). */
export function connackError(
  message: string,
  code: (typeof CONNACK)[keyof typeof CONNACK],
): AuthenticateError {
  const err = new Error(message) as AuthenticateError;
  // biome-ignore lint/suspicious/noExplicitAny: the wire value of the const enum
  err.returnCode = code as any;
  return err;
}

/**
 * aedes keys a client's session, takeover [MQTT-3.1.4-2] and queued messages by `client.id`, which its
 * types declare read-only; set in authenticate, before handleConnect registers the client.
 */
export function setSessionId(client: Client, id: string): void {
  (client as { id: string }).id = id;
}

/**
 * The peer's address: `client.conn` is the TCP or TLS socket; over WebSocket it is a stream without
 * one, and the upgrade request aedes keeps as `client.req` has the socket.
 */
export function remoteAddress(client: Client): string {
  const req = (client as unknown as { req?: { socket?: { remoteAddress?: string } } }).req;
  return (client.conn as { remoteAddress?: string }).remoteAddress ?? req?.socket?.remoteAddress ?? 'unknown';
}

/** The keepalive timer handleConnect's setKeepAlive arms; refreshed while a throttled client waits. */
export function keepaliveTimerOf(client: Client): NodeJS.Timeout | null | undefined {
  return (client as unknown as { _keepaliveTimer?: NodeJS.Timeout | null })._keepaliveTimer;
}

/**
 * storeSubscriptions (handlers/subscribe.js) stores *all* filters of a persistent session's SUBSCRIBE
 * once one is granted, refused ones too, as the objects authorizeSubscribe saw. Pointing a refused
 * one at a topic nobody publishes to keeps it from queueing other clients' messages on disk.
 */
export function neutraliseRefusedFilter(sub: Subscription, deadTopic: string): void {
  sub.topic = deadTopic;
  sub.qos = 0;
}

/** Publishes a message of the broker's own (no client), e.g. a retained state or metrics. */
export function publishOwn(
  broker: Aedes,
  topic: string,
  payload: string | Buffer,
  opts: { qos?: 0 | 1; retain?: boolean } = {},
): Promise<void> {
  const packet = {
    cmd: 'publish' as const,
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    qos: opts.qos ?? 0,
    retain: opts.retain ?? false,
    dup: false,
  };
  return new Promise((resolve, reject) =>
    broker.publish(packet as PublishPacket, (err?: Error) => (err ? reject(err) : resolve())),
  );
}

/** The filters a client is subscribed to now (`client.subscriptions`, set by handleSubscribe's addSubs). */
export function subscriptionFiltersOf(client: Client): string[] {
  return Object.keys((client as unknown as { subscriptions?: Record<string, unknown> }).subscriptions ?? {});
}
