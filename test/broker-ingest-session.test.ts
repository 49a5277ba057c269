/**
 * Telemetry the broker accepted while no ingest worker ran waits in the spool and is stored (once)
 * when ingest starts; and presence left "online" by a crash is reset at start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  connect,
  createTestRegistry,
  deviceOptions,
  journalRows,
  startTestBroker,
  type TestRegistry,
} from './helpers/broker.js';
import { sharedInflux } from './helpers/influxd.js';
import { pointsOf, startTestIngest, waitUntil } from './helpers/ingest.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('before ingest runs', () => {
  it('stores telemetry accepted while no ingest ran once ingest starts, each reading once', async () => {
    const reg: TestRegistry = await createTestRegistry();
    cleanups.push(() => reg.close());
    const broker = await startTestBroker(reg);
    cleanups.push(() => broker.close());
    const device = await reg.addDevice();
    const client = await connect(broker.address.url, deviceOptions(device));
    for (let i = 0; i < 20; i++) {
      await client.publishAsync(
        `devices/${device.id}/telemetry`,
        JSON.stringify({ ts: 1000 + i, values: { n: i } }),
        { qos: 1 },
      );
    }
    await client.endAsync();
    expect(journalRows(reg.dir)).toHaveLength(20);

    const influx = await sharedInflux();
    const ingest = await startTestIngest(reg, broker.address.url, influx);
    cleanups.push(() => ingest.close());
    const stored = await waitUntil(async () => {
      const points = await pointsOf(influx, reg.pilotId);
      return points.length >= 20 && (await ingest.status()).spooled === 0 ? points : undefined;
    });
    expect(stored?.map((p) => [p.time, p.n])).toEqual(Array.from({ length: 20 }, (_, i) => [1000 + i, i]));
    expect(journalRows(reg.dir)).toEqual([]);
  });

  it('marks devices left online by a crash offline at start', async () => {
    const reg = await createTestRegistry();
    cleanups.push(() => reg.close());
    const device = await reg.addDevice();
    await reg.registry.recordPresence([{ deviceId: device.id, online: true, lastSeenAt: Date.now() }]);
    const before = (await reg.registry.listDevices(reg.pilotId, { limit: 10 })).items[0]!;
    expect(before.status.online).toBe(true);
    const broker = await startTestBroker(reg);
    cleanups.push(() => broker.close());
    const after = (await reg.registry.listDevices(reg.pilotId, { limit: 10 })).items[0]!;
    expect(after.status.online).toBe(false);
    expect(after.status.lastSeenAt).toBe(before.status.lastSeenAt);
  });
});
