/**
 * Telemetry the broker accepted while no ingest worker ran waits in the journal and is stored (once)
 * when ingest starts; and presence left "online" by a crash is reset at start.
 */
import { describe, expect, it } from 'vitest';
import {
  connect,
  createTestRegistry,
  deviceOptions,
  journalRows,
  startTestBroker,
  type TestRegistry,
} from './helpers/broker.js';
import { sharedInflux } from './helpers/influxd.js';
import { pointsOf, startTestIngest } from './helpers/ingest.js';
import { waitFor } from './helpers/poll.js';

describe('before ingest runs', () => {
  it('stores telemetry accepted while no ingest ran once ingest starts, each reading once', async () => {
    const reg: TestRegistry = await createTestRegistry();
    const broker = await startTestBroker(reg);
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
    const stored = await waitFor(async () => {
      const points = await pointsOf(influx, reg.pilotId);
      return points.length >= 20 && (await ingest.status()).backlog === 0 ? points : undefined;
    });
    expect(stored?.map((p) => [p.time, p.n])).toEqual(Array.from({ length: 20 }, (_, i) => [1000 + i, i]));
    expect(journalRows(reg.dir)).toEqual([]);
  });

  it('marks devices left online by a crash offline at start', async () => {
    const reg = await createTestRegistry();
    const device = await reg.addDevice();
    await reg.registry.recordPresence([{ deviceId: device.id, online: true, lastSeenAt: Date.now() }]);
    const before = (await reg.registry.listDevices(reg.pilotId, { limit: 10 })).items[0]!;
    expect(before.status.online).toBe(true);
    await startTestBroker(reg); // closed when the test finishes
    const after = (await reg.registry.listDevices(reg.pilotId, { limit: 10 })).items[0]!;
    expect(after.status.online).toBe(false);
    expect(after.status.lastSeenAt).toBe(before.status.lastSeenAt);
  });
});
