/**
 * The packages cluster mode builds MQTT on (issue 12) fit aedes 1.2, on a real Redis: two plain aedes
 * nodes with mqemitter-redis and aedes-persistence-redis 12 (the peer range aedes 1.2 declares is
 * ^11, so package.json overrides it). A publish on one node reaches a subscriber on the other; a
 * persistent session made on node 1 gets the QoS 1 message queued while it was offline from node 2;
 * a retained message is seen through the other node.
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import aedesPersistenceRedis from 'aedes-persistence-redis';
import mqemitterRedis from 'mqemitter-redis';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startTestRedis, type TestRedis } from './helpers/redis.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.dispose());

async function node(id: string): Promise<string> {
  const mq = mqemitterRedis({ connectionString: redis.url });
  const persistence = aedesPersistenceRedis({ ...redisOptions(redis.url) });
  const broker = await Aedes.createBroker({ id, mq, persistence: persistence as never });
  const server = net.createServer(broker.handle);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  });
  return `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** ioredis options from our URL (aedes-persistence-redis takes options, not a URL). */
function redisOptions(url: string) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port), password: decodeURIComponent(u.password) };
}

async function client(url: string, options: mqtt.IClientOptions = {}) {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
  onTestFinished(() => c.endAsync(true));
  return c;
}

function nextMessage(c: mqtt.MqttClient): Promise<{ topic: string; payload: string; retain: boolean }> {
  return new Promise((resolve) =>
    c.once('message', (topic, payload, packet) =>
      resolve({ topic, payload: payload.toString(), retain: packet.retain }),
    ),
  );
}

describe('aedes 1.2 with mqemitter-redis and aedes-persistence-redis', () => {
  it('a QoS 1 publish on node 1 reaches a subscriber on node 2', async () => {
    const [one, two] = [await node('n1'), await node('n2')];
    const sub = await client(two);
    await sub.subscribeAsync('devices/d1/#', { qos: 1 });
    const got = nextMessage(sub);
    const pub = await client(one);
    await pub.publishAsync('devices/d1/telemetry', '{"t":1}', { qos: 1 });
    expect(await got).toMatchObject({ topic: 'devices/d1/telemetry', payload: '{"t":1}' });
  });

  it('a persistent session from node 1 gets, on node 2, what was queued while it was offline', async () => {
    const [one, two] = [await node('n1'), await node('n2')];
    const first = await client(one, { clientId: 'dev-session', clean: false });
    await first.subscribeAsync('devices/d2/commands', { qos: 1 });
    await first.endAsync();
    const pub = await client(one);
    await pub.publishAsync('devices/d2/commands', 'reboot', { qos: 1 });
    // Resuming on the other node: the queued message arrives right after CONNACK.
    const resumed = mqtt.connect(two, { clientId: 'dev-session', clean: false, reconnectPeriod: 0 });
    onTestFinished(() => resumed.endAsync(true));
    const got = await nextMessage(resumed);
    expect(got).toMatchObject({ topic: 'devices/d2/commands', payload: 'reboot' });
  });

  it('a retained message set through node 1 is given to a new subscriber on node 2', async () => {
    const [one, two] = [await node('n1'), await node('n2')];
    const pub = await client(one);
    await pub.publishAsync('devices/d3/state', 'on', { qos: 1, retain: true });
    const sub = await client(two);
    const got = nextMessage(sub);
    await sub.subscribeAsync('devices/d3/state', { qos: 1 });
    expect(await got).toMatchObject({ payload: 'on', retain: true });
  });
});
