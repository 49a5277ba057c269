/**
 * Simulated devices against a real aedes broker, counted by a real MQTT subscriber: readings taken
 * during an outage are buffered on disk, survive a simulator restart, and arrive exactly once,
 * oldest first, with their original timestamps.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type DeviceCredentials,
  type Fleet,
  OfflineBuffer,
  type Reading,
  startFleet,
} from '../device-sim/index.js';
import { startBroker, startCounter, type TestBroker } from './helpers/sim-broker.js';

const until = async (what: string, done: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

const creds = (ids: string[]): DeviceCredentials[] =>
  ids.map((id) => ({ deviceId: id, username: id, password: 'secret' }));

/** Every generated reading arrived exactly once, per device oldest first, with its own ts and values. */
function expectExactlyOnce(generated: Map<string, Reading[]>, received: Map<string, Reading[]>) {
  expect([...received.keys()].sort()).toEqual([...generated.keys()].sort());
  for (const [deviceId, taken] of generated) {
    const got = received.get(deviceId) ?? [];
    const ts = got.map((r) => r.ts);
    expect(new Set(ts).size, `${deviceId}: no duplicates`).toBe(ts.length);
    expect(ts, `${deviceId}: oldest first`).toEqual([...ts].sort((a, b) => a - b));
    expect(got, `${deviceId}: every reading, original timestamp and values`).toEqual(taken);
  }
}

describe('simulated devices against a real broker', () => {
  let broker: TestBroker;
  let bufferDir: string;
  const fleets: Fleet[] = [];
  let generated: Map<string, Reading[]>;
  const onReading = (deviceId: string, r: Reading) =>
    generated.set(deviceId, [...(generated.get(deviceId) ?? []), r]);

  beforeEach(async () => {
    broker = await startBroker();
    bufferDir = await mkdtemp(path.join(os.tmpdir(), 'sim-device-'));
    generated = new Map();
  });
  afterEach(async () => {
    for (const f of fleets.splice(0)) await f.close();
    await broker.close();
    await rm(bufferDir, { recursive: true, force: true });
  });

  it('buffers during a scheduled outage, survives a simulator restart, then flushes exactly once', async () => {
    const counter = await startCounter(broker.serviceUrl);
    const options = {
      brokerUrl: broker.url,
      credentials: creds(['dev_a', 'dev_b']),
      bufferDir,
      seed: 11,
      intervalMs: 20,
      jitterMs: 5,
      onReading,
    };
    const first = await startFleet({
      ...options,
      outages: { schedule: [{ startMs: 300, durationMs: 600_000 }] },
    });
    fleets.push(first);
    await until('the outage with readings buffered', () =>
      first.devices.every((d) => d.isOffline && d.counters.readingsAcked > 0 && d.buffered >= 10),
    );
    expect(first.stats().connected).toBe(0);

    // Restart while offline: the first simulator stops, its buffer stays on disk.
    await first.close();
    const left = first.stats().buffered;
    expect(left).toBeGreaterThanOrEqual(20);
    const arrivedBeforeRestart = counter.count();

    const second = await startFleet({ ...options, flushBatchSize: 7 });
    fleets.push(second);
    await second.waitConnected();
    await until('the buffer to drain and live readings to follow', () =>
      second.devices.every(
        (d) => d.buffered === 0 && d.counters.readingsFlushed >= 10 && d.counters.messagesAcked > 5,
      ),
    );
    await second.close();
    const total = [...generated.values()].reduce((n, r) => n + r.length, 0);
    await until('the subscriber to count every reading', () => counter.count() >= total);
    await new Promise((r) => setTimeout(r, 200)); // a late duplicate would show up here

    expect(counter.count()).toBe(total);
    expect(counter.count() - arrivedBeforeRestart).toBeGreaterThanOrEqual(left);
    expect(counter.batches).toBeGreaterThan(0);
    expect(second.stats().readingsFlushed).toBeGreaterThanOrEqual(left);
    expectExactlyOnce(generated, counter.received);
    await counter.close();
  });

  it('rides out the broker going away and coming back on the same port', async () => {
    const counter = await startCounter(broker.serviceUrl);
    const fleet = await startFleet({
      brokerUrl: broker.url,
      credentials: creds(['dev_c', 'dev_d', 'dev_e']),
      bufferDir,
      seed: 5,
      intervalMs: 15,
      reconnectPeriodMs: 100,
      profiles: ['door', 'energy-meter'],
      onReading,
    });
    fleets.push(fleet);
    await fleet.waitConnected();
    await until('some live readings', () => fleet.devices.every((d) => d.counters.readingsAcked >= 3));
    // Cut when nothing is in flight, so no PUBACK is lost (which would make QoS 1 deliver twice).
    await until('a quiet moment', () => fleet.stats().inFlight === 0);
    broker.cut();

    await until('readings buffered while the broker is away', () =>
      fleet.devices.every((d) => !d.connected && d.buffered >= 10),
    );
    expect(fleet.stats().connectErrors).toBeGreaterThan(0);
    await broker.resume();
    await fleet.waitConnected();
    await until('the buffers to drain', () =>
      fleet.devices.every((d) => d.buffered === 0 && d.counters.readingsFlushed >= 10),
    );
    await fleet.close();
    const total = [...generated.values()].reduce((n, r) => n + r.length, 0);
    await until('the subscriber to count every reading', () => counter.count() >= total);
    await new Promise((r) => setTimeout(r, 200));

    expect(counter.count()).toBe(total);
    expect(fleet.stats().disconnects).toBeGreaterThanOrEqual(3);
    expectExactlyOnce(generated, counter.received);
    await counter.close();
  });

  it('load mode "max" keeps a window in flight and every acknowledged reading arrives', async () => {
    const counter = await startCounter(broker.serviceUrl);
    const acked: Reading[] = [];
    const fleet = await startFleet({
      brokerUrl: broker.url,
      credentials: creds(['dev_f', 'dev_g']),
      bufferDir,
      load: { mode: 'max', window: 4, batchSize: 5 },
      onReading,
      onAck: (_id, readings) => acked.push(...readings),
    });
    fleets.push(fleet);
    await until('500 messages acknowledged', () => fleet.stats().messagesAcked >= 500);
    await fleet.close();
    const stats = fleet.stats();
    expect(stats.inFlight).toBe(0);
    expect(stats.readingsAcked).toBe(acked.length);
    expect(stats.readingsAcked).toBe(stats.messagesAcked * 5);
    expect(stats.errors).toBe(0);
    await until('the subscriber to count every acknowledged reading', () => counter.count() >= acked.length);
    expect(counter.count()).toBe(acked.length);
    expect(counter.batches).toBe(counter.messages); // batchSize 5: every message is an array
    await counter.close();
  });

  it('load mode "rate" never exceeds the configured rate', async () => {
    const fleet = await startFleet({
      brokerUrl: broker.url,
      credentials: creds(['dev_h', 'dev_i', 'dev_j']),
      bufferDir,
      load: { mode: 'rate', rate: 200 },
    });
    fleets.push(fleet);
    await fleet.waitConnected();
    await until('100 messages acknowledged', () => fleet.stats().messagesAcked >= 100);
    const stats = fleet.stats();
    expect(stats.messagesSent).toBeLessThanOrEqual(Math.ceil((200 * stats.elapsedMs) / 1000) + 1);
    // Spread round-robin over the fleet.
    for (const d of fleet.devices) expect(d.counters.messagesSent).toBeGreaterThan(10);
  });
});

describe('clean exit', () => {
  it('puts readings the broker never acknowledged into the disk buffer', async () => {
    // A broker that accepts publishes but never answers them: QoS 1 PUBACKs never come.
    const stuck: (() => void)[] = [];
    const broker = await startBroker({
      authorizePublish: (_client, _packet, cb) => void stuck.push(() => cb(null)),
    });
    const bufferDir = await mkdtemp(path.join(os.tmpdir(), 'sim-exit-'));
    const generated: Reading[] = [];
    try {
      const fleet = await startFleet({
        brokerUrl: broker.url,
        credentials: creds(['dev_k']),
        bufferDir,
        intervalMs: 20,
        closeTimeoutMs: 200,
        onReading: (_id, r) => generated.push(r),
      });
      await fleet.waitConnected();
      await until('readings in flight', () => fleet.stats().inFlight >= 5);
      await fleet.close();
      expect(fleet.stats().messagesAcked).toBe(0);
      expect(fleet.stats().inFlight).toBe(0);
      const kept = await (await OfflineBuffer.open(bufferDir, 'dev_k')).peek(1e6);
      expect(kept).toEqual(generated);
    } finally {
      await broker.close();
      await rm(bufferDir, { recursive: true, force: true });
    }
  });
});
