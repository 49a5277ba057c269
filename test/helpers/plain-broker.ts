/**
 * A plain aedes broker on a free port that admits only the platform's service logins (any
 * `svc:*` user with the given secret), for tests of the API's MQTT hand-offs without our broker's
 * ACLs. Sockets are tracked so `close()` also works while clients stay connected.
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import { closeAfterTest } from './teardown.js';

export interface PlainBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startPlainBroker(serviceSecret: string): Promise<PlainBroker> {
  const broker = await Aedes.createBroker({
    authenticate: (_client, username, password, done) => {
      const ok =
        typeof username === 'string' && username.startsWith('svc:') && password?.toString() === serviceSecret;
      if (ok) return done(null, true);
      done(Object.assign(new Error('bad credentials'), { returnCode: 4 }) as never, false);
    },
  });
  const { server, sockets, port } = await listenTracked(net.createServer(broker.handle));
  return closeAfterTest({
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  });
}

/** `server` on a free loopback port, with its open sockets tracked so a close need not wait for clients. */
export async function listenTracked(
  server: net.Server,
): Promise<{ server: net.Server; sockets: Set<net.Socket>; port: number }> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, sockets, port: (server.address() as net.AddressInfo).port };
}
