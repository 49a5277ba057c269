/**
 * Fault test: InfluxDB stops for 10 s while 20,000 QoS 1 readings stream in, then starts again.
 * The broker keeps committing to the spool and acknowledging, ingest retries with backoff, the broker
 * holds PUBACKs once the spool is past its bound (devices wait at their in-flight windows) and, once
 * InfluxDB is back, every acknowledged reading is stored exactly once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningBroker } from '../broker/index.js';
import type { InfluxConnection } from '../core/influx/client.js';
import type { IngestHandle, IngestStatus } from '../ingest/index.js';
import { createTestRegistry, startTestBroker, type TestRegistry } from './helpers/broker.js';
import { type PrivateInflux, privateInflux } from './helpers/influxd.js';
import {
  compareSets,
  countPoints,
  runFleet,
  startTestIngest,
  storedKeys,
  waitUntil,
} from './helpers/ingest.js';

const DEVICES = 20;
const PER_DEVICE = 1000;
const TOTAL = DEVICES * PER_DEVICE;
const SPOOL_MAX = 3000;

let reg: TestRegistry;
let broker: RunningBroker;
let server: PrivateInflux;
let influx: InfluxConnection;
let ingest: IngestHandle | undefined;

beforeAll(async () => {
  reg = await createTestRegistry();
  broker = await startTestBroker(
    reg,
    { deviceMaxMessagesPerSecond: 1_000_000 },
    { spoolMaxMessages: SPOOL_MAX },
  );
  server = await privateInflux();
  influx = await server.connect();
});

afterAll(async () => {
  await ingest?.close();
  await broker?.close();
  await server?.dispose();
  reg?.close();
});

it('stores every acknowledged reading exactly once across a 10 s InfluxDB outage', {
  timeout: 180_000,
}, async () => {
  const devices = await Promise.all(Array.from({ length: DEVICES }, () => reg.addDevice()));
  ingest = await startTestIngest(reg, broker.address.url, influx, {
    batchSize: 1000,
    flushMs: 20,
  });
  const handle = ingest;

  // Watch the worker and the broker during the outage.
  const seen: (IngestStatus & { held: boolean })[] = [];
  const watch = setInterval(
    async () => seen.push({ ...(await handle.status()), held: broker.telemetryHeld() }),
    50,
  );

  let ackedSoFar = 0;
  const outage = (async () => {
    await waitUntil(() => ackedSoFar >= TOTAL * 0.25, 60_000, 5);
    await server.stop();
    const stoppedAt = Date.now();
    // Readiness sees it: writes fail and are retried, the backlog grows.
    expect(await waitUntil(async () => !(await handle.status()).influxHealthy, 10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 10_000 - (Date.now() - stoppedAt)));
    await server.restart();
  })();
  // About 2,000 readings/s for ~10 s, so the stream runs across the outage.
  const fleet = await runFleet(broker.address.url, devices, PER_DEVICE, {
    ratePerDevice: 100,
    onAck: (total) => {
      ackedSoFar = total;
    },
  });
  await outage;

  expect(fleet.failed).toBe(0);
  expect(fleet.acked.size).toBe(TOTAL);
  const stored = await waitUntil(async () => (await countPoints(influx, reg.pilotId)) >= TOTAL, 90_000, 250);
  expect(stored, `stored ${await countPoints(influx, reg.pilotId)} of ${TOTAL}`).toBe(true);
  await waitUntil(
    async () => (await handle.status()).spooled === 0 && !(await handle.status()).writing,
    30_000,
  );
  clearInterval(watch);

  const keys = await storedKeys(influx, reg.pilotId);
  const diff = compareSets(fleet.acked, keys.keys);
  expect(diff.missing.slice(0, 10)).toEqual([]);
  expect(diff.extra.slice(0, 10)).toEqual([]);
  expect(keys.points).toBe(TOTAL);
  expect(await countPoints(influx, reg.pilotId)).toBe(TOTAL);

  // During the outage the backlog was visible, bounded by the broker's backpressure, and the broker
  // accepted again after.
  const maxSpooled = Math.max(...seen.map((s) => s.spooled));
  expect(seen.some((s) => !s.influxHealthy && s.lastError)).toBe(true);
  expect(seen.some((s) => s.held)).toBe(true);
  expect(maxSpooled).toBeGreaterThanOrEqual(SPOOL_MAX);
  // The bound is checked after each group commit, so it may be passed by one commit's messages (at
  // most each device's in-flight window).
  expect(maxSpooled).toBeLessThan(SPOOL_MAX + DEVICES * 50);
  const end = await handle.status();
  expect(end).toMatchObject({ spooled: 0, influxHealthy: true });
  expect(broker.telemetryHeld()).toBe(false);
  expect(end.messagesDone).toBeGreaterThanOrEqual(TOTAL);
  console.info(`max spooled during the outage: ${maxSpooled}`);
});
