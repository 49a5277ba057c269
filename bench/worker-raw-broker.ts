/**
 * Child process: the baseline broker. A bare Aedes with its defaults (in-memory persistence, no
 * authentication, no hooks) on a free port: what the platform's broker costs is measured against it.
 * Its listen backlog and TCP_NODELAY are the platform's (socket settings, not work the broker does),
 * so a reconnect storm compares the brokers, not Node's default backlog of 511, nor Nagle's delays.
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import { MQTT_LISTEN_BACKLOG, MQTT_SOCKET_OPTIONS } from '../broker/listener.js';
import { stopOnParent, tell } from './procs.js';

const broker = await Aedes.createBroker();
const server = net.createServer(MQTT_SOCKET_OPTIONS, broker.handle);
await new Promise<void>((resolve) =>
  server.listen({ port: 0, host: '127.0.0.1', backlog: MQTT_LISTEN_BACKLOG }, resolve),
);
const { port } = server.address() as net.AddressInfo;
stopOnParent(
  () =>
    new Promise<void>((resolve) => {
      server.close();
      broker.close(() => resolve());
    }),
);
tell({ type: 'ready', mqttUrl: `mqtt://127.0.0.1:${port}` });
