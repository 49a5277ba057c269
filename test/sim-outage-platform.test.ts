/**
 * The simulator against the whole platform (real broker, ingest, InfluxDB, API): a fleet goes
 * offline for a few seconds, the simulator is stopped while offline and started again on the same
 * buffer directory, the devices reconnect and flush what they buffered. Every reading taken is
 * stored exactly once, with its original timestamp and values.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFleet } from '../device-sim/fleet.js';
import type { DeviceCredentials, Reading } from '../device-sim/types.js';
import { provision, startTestPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/poll.js';

let platform: TestPlatform;
const bufferDir = mkdtempSync(path.join(os.tmpdir(), 'sim-outage-'));
beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.dispose();
  rmSync(bufferDir, { recursive: true, force: true });
});

it('stores every reading of an outage and a simulator restart exactly once', {
  timeout: 120_000,
}, async () => {
  const { apiKey, devices } = await provision(platform, 3, 'Outage Co');
  const credentials: DeviceCredentials[] = devices.map((d) => ({
    deviceId: d.deviceId,
    username: d.deviceId,
    password: d.password,
    mqttUrl: d.mqttUrl,
  }));
  const taken = new Map<string, Map<number, Reading['values']>>(devices.map((d) => [d.deviceId, new Map()]));
  const onReading = (deviceId: string, reading: Reading) =>
    taken.get(deviceId)!.set(reading.ts, reading.values);
  const common = { credentials, bufferDir, intervalMs: 50, jitterMs: 0, reconnectPeriodMs: 200, onReading };

  // First run: online for 1 s, then offline; stopped while still offline.
  const first = await startFleet({
    ...common,
    seed: 7,
    outages: { schedule: [{ startMs: 1000, durationMs: 60_000 }] },
  });
  await first.waitConnected(10_000);
  await waitFor(
    async () => (first.stats().offline === 3 && first.stats().buffered >= 30 ? true : undefined),
    15_000,
  );
  await first.close();
  const takenInFirst = [...taken.values()].reduce((n, m) => n + m.size, 0);

  // Second run on the same buffer: reconnects, flushes the buffer oldest first, keeps sampling.
  const second = await startFleet({ ...common, seed: 8 });
  await second.waitConnected(10_000);
  await new Promise((r) => setTimeout(r, 1500));
  await second.close();
  const total = [...taken.values()].reduce((n, m) => n + m.size, 0);
  expect(total).toBeGreaterThan(takenInFirst);
  expect(second.stats().buffered).toBe(0);

  for (const [deviceId, readings] of taken) {
    const from = Math.min(...readings.keys());
    const stored = await waitFor(
      async () => {
        const res = await platform.api(`/v1/devices/${deviceId}/telemetry?from=${from}&limit=10000`, {
          key: apiKey,
        });
        const body = (await res.json()) as { items: { ts: string; values: Reading['values'] }[] };
        return body.items.length >= readings.size ? body.items : undefined;
      },
      20_000,
      `${readings.size} readings of ${deviceId}`,
    );
    // Exactly the readings taken: same timestamps (each once) and same values.
    expect(stored.map((i) => Date.parse(i.ts))).toEqual([...readings.keys()].sort((a, b) => a - b));
    for (const item of stored) expect(item.values).toEqual(readings.get(Date.parse(item.ts)));
  }
});
