/**
 * The simulator with several broker URLs (a cluster's nodes): devices spread over them, and when a
 * device's broker goes away it fails over to another and keeps getting its readings acknowledged.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';
import { expect, it, onTestFinished } from 'vitest';
import { brokerTargets } from '../device-sim/brokers.js';
import { startFleet } from '../device-sim/index.js';
import { waitFor } from './helpers/poll.js';

async function plainBroker() {
  const broker = await Aedes.createBroker({});
  const clients = new Set<string>();
  broker.on('client', (c) => clients.add(c.id));
  broker.on('clientDisconnect', (c) => clients.delete(c.id));
  const server = net.createServer(broker.handle);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  };
  onTestFinished(close);
  return { url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`, clients, close };
}

it('spreads devices over the URLs of a list, each starting on its own', () => {
  const list = 'mqtt://a:1883,mqtt://b:1884,mqtt://c:1885';
  const firsts = new Set(
    ['dev_1', 'dev_2', 'dev_3', 'dev_4', 'dev_5', 'dev_6'].map((d) => brokerTargets(list, d).url),
  );
  expect(firsts.size).toBeGreaterThan(1);
  const t = brokerTargets(list, 'dev_1');
  expect(t.servers).toHaveLength(3);
  expect(`mqtt://${t.servers![0]!.host}:${t.servers![0]!.port}`).toBe(t.url);
  expect(brokerTargets('mqtt://a:1883', 'dev_1')).toEqual({ url: 'mqtt://a:1883' });
});

it('fails over to the next broker when its broker goes away', async () => {
  const brokers = [await plainBroker(), await plainBroker()];
  const bufferDir = await mkdtemp(path.join(os.tmpdir(), 'sim-failover-'));
  onTestFinished(() => rm(bufferDir, { recursive: true, force: true }));
  const fleet = await startFleet({
    brokerUrl: brokers.map((b) => b.url).join(','),
    credentials: [{ deviceId: 'dev_f', username: 'dev_f', password: 'x' }],
    bufferDir,
    intervalMs: 20,
    reconnectPeriodMs: 100,
  });
  onTestFinished(() => fleet.close());
  await fleet.waitConnected();
  const first = brokers.findIndex((b) => b.clients.has('dev_f'));
  expect(first).toBeGreaterThanOrEqual(0);
  const device = fleet.devices[0]!;
  await waitFor(() => device.counters.messagesAcked > 3, 10_000);
  await brokers[first]!.close();
  const other = brokers[1 - first]!;
  await waitFor(() => other.clients.has('dev_f'), 10_000, 'the device on the other broker');
  const acked = device.counters.messagesAcked;
  await waitFor(() => device.counters.messagesAcked > acked + 3, 10_000, 'acks from the other broker');
  expect(device.counters.connects).toBeGreaterThanOrEqual(2);
});
