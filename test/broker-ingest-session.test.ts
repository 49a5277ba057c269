/**
 * The broker creates the ingest session's subscription at its first start, so readings accepted
 * before the ingest worker ever connected wait for it; and presence left "online" by a crash is
 * reset at start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { INGEST_CLIENT_ID } from '../core/topics.js';
import {
  connect,
  createTestRegistry,
  deviceOptions,
  serviceOptions,
  startTestBroker,
  type TestRegistry,
  waitFor,
} from './helpers/broker.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the ingest session', () => {
  for (const persistence of ['memory', 'level'] as const) {
    it(`queues telemetry accepted before ingest first connected (${persistence})`, async () => {
      const reg: TestRegistry = createTestRegistry();
      cleanups.push(() => reg.close());
      const broker = await startTestBroker(reg, { persistence });
      cleanups.push(() => broker.close());
      const device = reg.addDevice();
      const client = await connect(broker.address.url, deviceOptions(device));
      for (let i = 0; i < 20; i++) {
        await client.publishAsync(
          `devices/${device.id}/telemetry`,
          JSON.stringify({ ts: 1000 + i, values: { n: i } }),
          { qos: 1 },
        );
      }
      await client.endAsync();

      const received: string[] = [];
      const ingest = await connect(
        broker.address.url,
        serviceOptions('ingest', { clientId: INGEST_CLIENT_ID, clean: false }),
      );
      cleanups.push(() => ingest.endAsync());
      ingest.on('message', (_topic, payload) => received.push(payload.toString()));
      await waitFor(() => received.length >= 20);
      expect(received.map((p) => JSON.parse(p).values.n)).toEqual([...Array(20).keys()]);
    });
  }

  it('marks devices left online by a crash offline at start', async () => {
    const reg = createTestRegistry();
    cleanups.push(() => reg.close());
    const device = reg.addDevice();
    reg.registry.recordPresence([{ deviceId: device.id, online: true, lastSeenAt: Date.now() }]);
    const before = reg.registry.listDevices(reg.pilotId, { limit: 10 }).items[0]!;
    expect(before.status.online).toBe(true);
    const broker = await startTestBroker(reg);
    cleanups.push(() => broker.close());
    const after = reg.registry.listDevices(reg.pilotId, { limit: 10 }).items[0]!;
    expect(after.status.online).toBe(false);
    expect(after.status.lastSeenAt).toBe(before.status.lastSeenAt);
  });
});
