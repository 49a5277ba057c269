/**
 * A ceiling on MQTT keepalive, which also bounds how long a silent client stays connected.
 *
 * MQTT 3.1.1 lets the server disconnect a client that sends nothing for 1.5 times its keepalive
 * [MQTT-3.1.2-24], and keepalive 0 turns that off: a client that goes silent (a dead NAT mapping,
 * a frozen device) would stay connected, and look online, forever. 3.1.1 has no way to tell a client
 * to use a shorter keepalive (MQTT 5's Server Keep Alive does), and refusing the CONNECT (mosquitto's
 * `max_keepalive` does, with return code 2) would lock such devices out. So, as AWS IoT Core does,
 * the broker caps instead: keepalive 0 or above the maximum is treated as the maximum. aedes then
 * closes the connection after 1.5 times that without any packet; a device that really pings that
 * rarely reconnects and goes on.
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
