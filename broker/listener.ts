/** The TCP server aedes handles connections of; closing it ends sockets that never sent CONNECT too. */
import net from 'node:net';
import type { Aedes } from 'aedes';
import type { Logger } from '../core/log.js';

export interface MqttListener {
  port: number;
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

export async function listenMqtt(
  aedes: Aedes,
  where: { host: string; port: number },
  logger: Logger,
): Promise<MqttListener> {
  const server = net.createServer(aedes.handle);
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: where.port, host: where.host, backlog: MQTT_LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'MQTT server error'));
  return {
    port: (server.address() as net.AddressInfo).port,
    async close(beforeSockets) {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Closes every client (their disconnects mark devices offline), then the message emitter.
      await closeAedes(aedes);
      beforeSockets?.();
      for (const socket of sockets) socket.destroy();
      await serverClosed;
    },
  };
}

export const closeAedes = (aedes: Aedes) => new Promise<void>((resolve) => aedes.close(() => resolve()));
