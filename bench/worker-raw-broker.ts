/**
 * Child process: the baseline broker. A bare Aedes with its defaults (in-memory persistence, no
 * authentication, no hooks) on a free port: what the platform's broker costs is measured against it.
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import { stopOnParent, tell } from './procs.js';

const broker = await Aedes.createBroker();
const server = net.createServer(broker.handle);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as net.AddressInfo;
stopOnParent(
  () =>
    new Promise<void>((resolve) => {
      server.close();
      broker.close(() => resolve());
    }),
);
tell({ type: 'ready', mqttUrl: `mqtt://127.0.0.1:${port}` });
