/**
 * For the simulator's tests: a bare aedes broker with a device listener that can be cut and resumed
 * on the same port and a service listener that is never cut, and a counting QoS 1 subscriber.
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { MQTT_SOCKET_OPTIONS } from '../../broker/listener.js';
import type { Reading } from '../../device-sim/index.js';
import { listenTracked } from './plain-broker.js';

export interface TestBroker {
  /** Devices connect here. */
  url: string;
  /**
   * A second listener on the same broker that is never cut, for the counting subscriber: cutting
   * the subscriber too would make the broker redeliver to it (its PUBACKs lost), which counts the
   * subscriber's leg twice, not the device's.
   */
  serviceUrl: string;
  /** Stops the device listener and drops its connections (the broker's state lives on). */
  cut(): void;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function startBroker(
  options: Parameters<typeof Aedes.createBroker>[0] = {},
): Promise<TestBroker> {
  const broker = await Aedes.createBroker(options);
  // TCP_NODELAY as our broker sets it: with Nagle on, a device publishing every 15 ms gets each PUBACK
  // only with its next packet, so it never has nothing in flight (broker/listener.ts).
  const { server, sockets, port } = await listenTracked(net.createServer(MQTT_SOCKET_OPTIONS, broker.handle));
  const service = await listenTracked(net.createServer(MQTT_SOCKET_OPTIONS, broker.handle));
  return {
    url: `mqtt://127.0.0.1:${port}`,
    serviceUrl: `mqtt://127.0.0.1:${service.port}`,
    cut() {
      server.close();
      for (const s of sockets) s.destroy();
    },
    resume: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => service.server.close(() => resolve()));
    },
  };
}

/** A real QoS 1 subscriber with a persistent session. */
export async function startCounter(url: string) {
  const received = new Map<string, Reading[]>();
  let messages = 0;
  let batches = 0;
  const client: MqttClient = await mqtt.connectAsync(url, {
    clientId: 'counter',
    clean: false,
    reconnectPeriod: 100,
  });
  client.on('message', (topic, payload) => {
    const deviceId = topic.split('/')[1]!;
    const body = JSON.parse(payload.toString()) as Reading | Reading[];
    const readings = Array.isArray(body) ? body : [body];
    if (Array.isArray(body)) batches++;
    messages++;
    received.set(deviceId, [...(received.get(deviceId) ?? []), ...readings]);
  });
  await client.subscribeAsync('devices/+/telemetry', { qos: 1 });
  return {
    received,
    get messages() {
      return messages;
    },
    get batches() {
      return batches;
    },
    count: () => [...received.values()].reduce((n, r) => n + r.length, 0),
    close: () => client.endAsync(true),
  };
}
