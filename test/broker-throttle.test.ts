/**
 * Over DEVICE_MAX_MESSAGES_PER_SECOND a device is slowed down, never dropped (issue 11): the broker
 * holds its messages and stops reading its connection. Real broker, real ingest, real influxd; the
 * fast device is a real mqtt.js client in a child process (test/helpers/publisher-process.ts), so
 * this process's memory is the broker's (and ingest's), not the device's backlog.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningBroker } from '../broker/index.js';
import type { InfluxConnection } from '../core/influx/client.js';
import type { IngestHandle } from '../ingest/index.js';
import {
  connect,
  createTestRegistry,
  deviceOptions,
  journalRows,
  startTestBroker,
  type TestRegistry,
} from './helpers/broker.js';
import { sharedInflux } from './helpers/influxd.js';
import { influxQuery, startTestIngest, waitUntil } from './helpers/ingest.js';
import { spawnPublisher } from './helpers/publisher-process.js';

const RATE = 200;
let reg: TestRegistry;
let broker: RunningBroker & { metrics: import('prom-client').Registry };
let influx: InfluxConnection;
let ingest: IngestHandle | undefined;

beforeAll(async () => {
  reg = await createTestRegistry();
  broker = await startTestBroker(reg, { deviceMaxMessagesPerSecond: RATE });
  influx = await sharedInflux();
});
afterAll(async () => {
  await ingest?.close();
  await broker?.close();
  reg?.close();
});

const metric = async (name: string) =>
  (await broker.metrics.getSingleMetric(name)!.get()).values[0]?.value ?? 0;

/** Samples the broker's held-message gauge and this process's heap every 50 ms. */
function sampleBroker() {
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let maxWaiting = 0;
  let maxHeap = heapBefore;
  const timer = setInterval(async () => {
    maxWaiting = Math.max(maxWaiting, await metric('broker_throttled_messages_waiting'));
    maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
  }, 50);
  return () => {
    clearInterval(timer);
    return { maxWaiting, heapGrowthMb: (maxHeap - heapBefore) / 2 ** 20 };
  };
}

/** Stored points of a device: how many, and how many distinct `n` (InfluxDB merges equal ts). */
async function storedOf(deviceId: string): Promise<{ points: number; maxN: number }> {
  const series = await influxQuery(
    influx,
    `SELECT COUNT("n"), MAX("n") FROM "${reg.pilotId}" WHERE "device" = '${deviceId}'`,
  );
  const row = series[0]?.values[0];
  return { points: Number(row?.[1] ?? 0), maxN: Number(row?.[2] ?? -1) };
}

it('stores all 5,000 QoS 1 readings of a device sending as fast as it can, once each; memory stays bounded', {
  timeout: 120_000,
}, async () => {
  ingest = await startTestIngest(reg, broker.address.url, influx);
  const device = await reg.addDevice();
  const acceptedBefore = await metric('broker_telemetry_accepted_total');
  const sampled = sampleBroker();
  const publisher = spawnPublisher({
    url: broker.address.url,
    deviceId: device.id,
    secret: device.secret,
    mode: 'burst',
    count: 5000,
    tsBase: 1_700_000_000_000,
  });
  const result = await publisher.result;
  const { maxWaiting, heapGrowthMb } = sampled();
  console.info(
    `5,000 QoS 1 at ${RATE}/s: ${result.ms} ms, at most ${maxWaiting} held, heap +${heapGrowthMb.toFixed(1)} MB`,
  );
  expect(result.acked).toBe(5000);
  // Slowed, not dropped: 200 at once, then 200 per second.
  expect(result.ms).toBeGreaterThan(((5000 - RATE) / RATE) * 1000 * 0.9);
  // Committed to the spool exactly once each.
  expect((await metric('broker_telemetry_accepted_total')) - acceptedBefore).toBe(5000);
  // Read one socket read at a time (up to about 80 KB of ~80-byte packets), not the whole backlog.
  expect(maxWaiting).toBeGreaterThan(0);
  expect(maxWaiting).toBeLessThan(3000);
  expect(heapGrowthMb).toBeLessThan(64);
  const stored = await waitUntil(async () => {
    const s = await storedOf(device.id);
    return s.points >= 5000 ? s : undefined;
  }, 30_000);
  expect(stored).toEqual({ points: 5000, maxN: 4999 });
  expect((await reg.registry.listDeviceErrors(device.id, { limit: 10 })).items.map((e) => e.reason)).toEqual([
    expect.stringMatching(/^slowed down: more than 200 messages per second/),
  ]);
  await ingest.close();
  ingest = undefined;
});

/** Devices publishing QoS 1 one at a time; each publish-to-PUBACK time goes to `latencies`. */
function probe(clients: MqttClient[], ids: string[]) {
  let running = true;
  const latencies: number[] = [];
  const loops = clients.map(async (client, i) => {
    let n = 0;
    while (running) {
      const t = performance.now();
      await client.publishAsync(`devices/${ids[i]}/telemetry`, JSON.stringify({ p: n++ }), { qos: 1 });
      latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
  });
  return {
    take: () => latencies.splice(0),
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] ?? Infinity;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One round: idle 5 s, a 20x QoS 0 flood for 10 s from a fresh device, idle 5 s again. */
async function floodRound(probes: ReturnType<typeof probe>) {
  const flooder = await reg.addDevice();
  const sampled = sampleBroker();
  await sleep(5000);
  const idleBefore = p99(probes.take());
  const flood = spawnPublisher({
    url: broker.address.url,
    deviceId: flooder.id,
    secret: flooder.secret,
    mode: 'flood',
    ratePerSecond: RATE * 20,
    seconds: 10,
    tsBase: 1_700_000_000_000,
  });
  await flood.started;
  probes.take();
  const result = await flood.result;
  const samples = probes.take();
  const memory = sampled();
  // The broker would go on reading the flood from the sockets' buffers at the device's rate for
  // minutes; deleting the device drops its connection (revocation), and what was held is let go.
  await reg.registry.deleteDevice(flooder.id);
  const released = await waitUntil(
    async () => (await metric('broker_throttled_messages_waiting')) === 0,
    3000,
  );
  await sleep(5000);
  const idleAfter = p99(probes.take());
  const round = {
    flooderId: flooder.id,
    result,
    ...memory,
    released,
    idleBefore,
    idleAfter,
    flooded: p99(samples),
  };
  console.info(
    `p99 publish-to-PUBACK: idle ${idleBefore.toFixed(2)} / ${idleAfter.toFixed(2)} ms, flooded ` +
      `${round.flooded.toFixed(2)} ms (${samples.length} samples); flood sent ${result.sent}, at most ` +
      `${memory.maxWaiting} held, heap +${memory.heapGrowthMb.toFixed(1)} MB`,
  );
  return round;
}

it('a device flooding QoS 0 at 20x its rate for 10 s does not slow the others down', {
  timeout: 240_000,
}, async () => {
  // Broker only (this process): the probes measure the broker, not ingest's InfluxDB writes.
  const others = await Promise.all(Array.from({ length: 4 }, () => reg.addDevice()));
  const clients = await Promise.all(others.map((d) => connect(broker.address.url, deviceOptions(d))));
  const probes = probe(
    clients,
    others.map((d) => d.id),
  );
  await sleep(1000); // warm-up
  probes.take();
  // The idle baseline is the mean of the idle p99s right before and right after the flood. Other
  // work on this shared machine can only make a window slower: a round whose two idle p99s differ by
  // more than 2x had no stable baseline, and a round over 2x may have had its flood window disturbed;
  // either is measured again, at most three rounds. A broker that slows the others down fails every one.
  let round = await floodRound(probes);
  const stable = (r: typeof round) =>
    Math.max(r.idleBefore, r.idleAfter) <= 2 * Math.min(r.idleBefore, r.idleAfter);
  const idle = (r: typeof round) => (r.idleBefore + r.idleAfter) / 2;
  const within = (r: typeof round) => r.flooded <= 2 * idle(r);
  for (let n = 1; n < 3 && !(stable(round) && within(round)); n++) round = await floodRound(probes);
  await probes.stop();

  expect(stable(round), 'no stable idle baseline in three rounds: the machine is too busy').toBe(true);
  expect(round.flooded).toBeLessThanOrEqual(2 * idle(round));
  expect(round.result.sent).toBeGreaterThan(RATE * 20 * 10 * 0.9);
  expect(round.result.connectedAtEnd).toBe(true); // slowed, not disconnected
  expect(round.maxWaiting).toBeLessThan(3000);
  expect(round.released).toBe(true); // nothing stays held once the connection is gone
  expect(round.heapGrowthMb).toBeLessThan(64);
  for (const c of clients) expect(c.connected).toBe(true);
  // What the broker read of the flood is in the spool in order and without a gap: held, never dropped.
  const ns = journalRows(reg.dir)
    .filter((m) => m.deviceId === round.flooderId)
    .map((m) => (JSON.parse(m.payload.toString()) as { values: { n: number } }).values.n);
  expect(ns.length).toBeGreaterThan(RATE * 10 * 0.8);
  expect(ns.length).toBeLessThan(round.result.sent);
  expect(ns).toEqual(Array.from({ length: ns.length }, (_, i) => i));
  await Promise.all(clients.map((c) => c.endAsync()));
});
