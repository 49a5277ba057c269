/**
 * A ceiling on MQTT keepalive: 0 or above MQTT_MAX_KEEPALIVE_SECONDS is treated as the maximum, so a
 * silent client is disconnected after 1.5 times it [MQTT-3.1.2-24] instead of looking online forever.
 * docs/DESIGN.md, "Keepalive, retained messages and persistent sessions".
 */
import type { AedesOptions, ConnectPacket } from 'aedes';

type PreConnect = NonNullable<AedesOptions['preConnect']>;

/** The keepalive (seconds) the broker enforces for one a client asked for. */
export function effectiveKeepalive(asked: number, maxSeconds: number): number {
  return asked === 0 || asked > maxSeconds ? maxSeconds : asked;
}

/** Wraps aedes' preConnect: aedes arms its keepalive timer from this packet after authentication. */
export function withKeepaliveCap(preConnect: PreConnect, maxSeconds: number): PreConnect {
  return (client, packet: ConnectPacket, done) => {
    packet.keepalive = effectiveKeepalive(packet.keepalive ?? 0, maxSeconds);
    preConnect(client, packet, done);
  };
}
