/**
 * The servers aedes handles connections of: TCP (MQTT_PORT), and when configured TLS (mqtts),
 * WebSocket (ws) and WebSocket over TLS (wss) on path /mqtt. All feed the same aedes instance, so
 * they share authentication, the ACL, the throttles and sessions. Closing ends every socket, also
 * those that never sent CONNECT.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Aedes } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { MQTT_WS_PATH, type MqttListenersConfig } from '../core/config-listeners.js';
import type { Logger } from '../core/log.js';
import type { TlsMaterial } from './tls-material.js';

export type ListenerKind = 'mqtt' | 'mqtts' | 'ws' | 'wss';

export interface MqttListener {
  /** The TCP listener's port. */
  port: number;
  /** The port of each listener that runs. */
  ports: Partial<Record<ListenerKind, number>>;
  /** Stops accepting, closes aedes (its clients), runs `beforeSockets`, then ends every socket. */
  close(beforeSockets?: () => void): Promise<void>;
}

/**
 * Connections the kernel may hold completed before the broker accepts them (capped by
 * net.core.somaxconn). Node's default of 511 overflows when thousands of devices reconnect at once
 * after a restart: the kernel then drops their handshakes and each device waits out TCP's SYN
 * retransmission (1 s, 3 s, 7 s, ...), or its connect timeout. Brokers built for storms use more
 * (EMQX 1024, HiveMQ 4096+). bench/RESULTS.md, "Connections".
 */
export const MQTT_LISTEN_BACKLOG = 8192;

/**
 * TCP_NODELAY on every MQTT connection. Without it the kernel holds a small write (a 4-byte PUBACK)
 * while an earlier one is unacknowledged (Nagle), and a device's kernel delays that ACK until its next
 * packet or 40+ ms: a device sending faster than that gets each PUBACK one packet late, for good.
 * http(s) servers (ws, wss) set it by default; net and tls servers do not. docs/DESIGN.md, "PUBACKs
 * leave when written".
 */
export const MQTT_SOCKET_OPTIONS = { noDelay: true } as const;

interface Served {
  port: number;
  server: net.Server;
  sockets: Set<net.Socket>;
}

async function serve(server: net.Server, host: string, port: number, logger: Logger): Promise<Served> {
  const sockets = new Set<net.Socket>();
  // TLS servers announce the raw socket on 'connection' too, before the handshake.
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: MQTT_LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'MQTT server error'));
  return { port: (server.address() as net.AddressInfo).port, server, sockets };
}

/** An HTTP(S) server whose WebSocket upgrades on /mqtt become MQTT connections. */
function webSocketServer(aedes: Aedes, server: http.Server): http.Server {
  const wss = new WebSocketServer({ server, path: MQTT_WS_PATH });
  // aedes reads the peer's address from `req` (broker/aedes-internals.ts remoteAddress).
  wss.on('connection', (socket, req) => aedes.handle(createWebSocketStream(socket) as never, req as never));
  wss.on('error', () => {}); // the HTTP server reports its own errors
  server.on('request', (_req, res) => {
    if (res.headersSent || res.writableEnded) return;
    res
      .writeHead(426, { 'content-type': 'text/plain' })
      .end(`MQTT over WebSocket: upgrade on ${MQTT_WS_PATH}\n`);
  });
  return server;
}

export async function listenMqtt(
  aedes: Aedes,
  where: { host: string; port: number },
  logger: Logger,
  extra: { listeners?: MqttListenersConfig | undefined; tls?: TlsMaterial | undefined } = {},
): Promise<MqttListener> {
  const served: Served[] = [];
  const ports: MqttListener['ports'] = {};
  const add = async (kind: ListenerKind, server: net.Server, port: number) => {
    const s = await serve(server, where.host, port, logger);
    served.push(s);
    ports[kind] = s.port;
  };
  try {
    await add('mqtt', net.createServer(MQTT_SOCKET_OPTIONS, aedes.handle), where.port);
    const { listeners, tls: material } = extra;
    const tlsOptions = material
      ? { cert: material.cert, key: material.key, ...MQTT_SOCKET_OPTIONS }
      : undefined;
    if (tlsOptions && listeners?.tlsPort !== undefined) {
      const server = tls.createServer(tlsOptions, aedes.handle);
      // A plain MQTT client on this port: the handshake fails, the socket is closed, nothing else.
      server.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'TLS handshake failed'));
      await add('mqtts', server, listeners.tlsPort);
    }
    if (listeners?.wsPort !== undefined)
      await add('ws', webSocketServer(aedes, http.createServer()), listeners.wsPort);
    if (tlsOptions && listeners?.wssPort !== undefined) {
      const server = webSocketServer(aedes, https.createServer(tlsOptions));
      server.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'TLS handshake failed'));
      await add('wss', server, listeners.wssPort);
    }
  } catch (err) {
    for (const s of served) s.server.close();
    throw err;
  }
  return {
    port: ports.mqtt as number,
    ports,
    async close(beforeSockets) {
      const closed = served.map((s) => new Promise<void>((resolve) => s.server.close(() => resolve())));
      // Closes every client (their disconnects mark devices offline), then the message emitter.
      await closeAedes(aedes);
      beforeSockets?.();
      for (const s of served) for (const socket of s.sockets) socket.destroy();
      await Promise.all(closed);
    },
  };
}

export const closeAedes = (aedes: Aedes) => new Promise<void>((resolve) => aedes.close(() => resolve()));
