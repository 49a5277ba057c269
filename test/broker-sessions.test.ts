/**
 * Issue 19, item 6: what one client can hold on the broker. Keepalive is capped (silent clients are
 * dropped), retained messages are bounded per device, telemetry is never retained, and failed
 * CONNECTs from one address are slowed down without locking anyone out.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnectThrottle } from '../broker/connect-throttle.js';
import type { RunningBroker } from '../broker/index.js';
import { effectiveKeepalive } from '../broker/keepalive.js';
import { addressKey } from '../core/address-key.js';
import { generateSecret } from '../core/secrets.js';
import {
  connackCode,
  connect,
  createTestRegistry,
  deviceOptions,
  journalRows,
  startTestBroker,
  type TestRegistry,
  waitFor,
} from './helpers/broker.js';

type TestBroker = RunningBroker & { metrics: import('prom-client').Registry };
let reg: TestRegistry;
let brief: TestBroker;
let quota: TestBroker;
const clients: MqttClient[] = [];

beforeAll(async () => {
  reg = await createTestRegistry();
  brief = await startTestBroker(reg, { maxKeepaliveSeconds: 2 });
  quota = await startTestBroker(reg, {
    retainedMaxPerDevice: 3,
    retainedMaxBytesPerDevice: 1000,
    authFailureMaxDelayMs: 1000,
  });
});
afterAll(async () => {
  for (const c of clients) c.end(true);
  await brief?.close();
  await quota?.close();
  reg?.close();
});

async function client(url: string, device: { id: string; secret: string }, extra = {}) {
  const c = await connect(url, deviceOptions(device, extra));
  clients.push(c);
  return c;
}
const whenClosed = (c: MqttClient) =>
  new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('still connected after 8 s')), 8000);
    c.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now());
    });
  });
const errorsOf = async (id: string) =>
  (await reg.registry.listDeviceErrors(id, { limit: 100 })).items.map((e) => e.reason);
const onlineOf = async (id: string) =>
  (await reg.registry.listDevices(reg.pilotId, { limit: 1000 })).items.find((d) => d.id === id)?.status
    .online;
async function metric(b: TestBroker, name: string, reason?: string): Promise<number> {
  const m = await b.metrics.getSingleMetric(name)!.get();
  return m.values.find((v) => reason === undefined || v.labels.reason === reason)?.value ?? 0;
}

describe('keepalive', () => {
  it('treats 0 and anything above the maximum as the maximum', async () => {
    expect([0, 1, 2, 3, 65_535].map((k) => effectiveKeepalive(k, 2))).toEqual([2, 1, 2, 2, 2]);
  });

  it('drops a silent client with keepalive 0 or a huge keepalive after 1.5 x the maximum; a pinging one stays', async () => {
    const [silent, huge, pinging] = [await reg.addDevice(), await reg.addDevice(), await reg.addDevice()];
    const start = Date.now();
    // mqtt.js sends no PINGREQ with keepalive 0, and one per 3600 s with 3600: both go silent.
    const a = await client(brief.address.url, silent, { keepalive: 0 });
    const b = await client(brief.address.url, huge, { keepalive: 3600 });
    const c = await client(brief.address.url, pinging, { keepalive: 2 });
    await waitFor(async () => (await onlineOf(silent.id)) === true, 3000);
    const [closedA, closedB] = await Promise.all([whenClosed(a), whenClosed(b)]);
    for (const at of [closedA, closedB]) {
      expect(at - start).toBeGreaterThanOrEqual(2900);
      expect(at - start).toBeLessThan(6000);
    }
    // The silent device no longer looks online; the pinging one is still connected after 5 s.
    await waitFor(async () => (await onlineOf(silent.id)) === false, 3000);
    await new Promise((r) => setTimeout(r, Math.max(0, start + 5000 - Date.now())));
    expect(c.connected).toBe(true);
    expect(await onlineOf(pinging.id)).toBe(true);
  });
});

describe('retained messages', () => {
  const retain = (c: MqttClient, topic: string, bytes: number) =>
    c.publishAsync(topic, Buffer.alloc(bytes, 0x61), { qos: 1, retain: true });

  /** The retained messages a fresh subscriber gets under `filter`: topic -> payload bytes. */
  async function retainedUnder(device: { id: string; secret: string }, filter: string) {
    const c = await client(quota.address.url, device, { clientId: `${device.id}-reader`, clean: true });
    const got = new Map<string, number>();
    c.on('message', (topic, payload, packet) => {
      if (packet.retain) got.set(topic, payload.length);
    });
    await c.subscribeAsync(filter, { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    await c.endAsync();
    return got;
  }

  it('keeps at most N messages and B bytes per device; past that a device error; others unaffected', async () => {
    const [attacker, other] = [await reg.addDevice(), await reg.addDevice()];
    const c = await client(quota.address.url, attacker);
    const refusedBefore = await metric(quota, 'broker_messages_dropped_total', 'retained_quota');
    const state = (n: number) => `devices/${attacker.id}/state/${n}`;
    for (let n = 0; n < 3; n++) await retain(c, state(n), 100);
    await retain(c, state(3), 100); // a fourth message: over the count
    await retain(c, state(0), 200); // replacing one: same count, 400 bytes
    await retain(c, state(1), 800); // 200 + 800 + 100 bytes: over the bytes
    await retain(c, state(2), 0); // an empty payload clears one...
    await retain(c, state(4), 100); // ...which makes room
    expect(c.connected).toBe(true);
    expect(await retainedUnder(attacker, `devices/${attacker.id}/state/#`)).toEqual(
      new Map([
        [state(0), 200],
        [state(1), 100],
        [state(4), 100],
      ]),
    );
    expect((await metric(quota, 'broker_messages_dropped_total', 'retained_quota')) - refusedBefore).toBe(2);
    const reasons = await waitFor(async () =>
      (await errorsOf(attacker.id)).length >= 2 ? await errorsOf(attacker.id) : undefined,
    );
    expect(reasons).toHaveLength(2);
    for (const r of reasons) expect(r).toMatch(/retained message refused: .*MQTT_RETAINED_MAX_PER_DEVICE/);
    expect(reasons.join('\n')).toMatch(/would make 4 messages and 400 bytes/);
    expect(reasons.join('\n')).toMatch(/would make 3 messages and 1100 bytes/);

    // Another device has its own quota.
    const o = await client(quota.address.url, other);
    for (let n = 0; n < 3; n++) await retain(o, `devices/${other.id}/state/${n}`, 300);
    expect((await retainedUnder(other, `devices/${other.id}/#`)).size).toBe(3);
    expect(await errorsOf(other.id)).toEqual([]);
  });

  it('stores a retained reading but does not keep it as retained', async () => {
    const device = await reg.addDevice();
    const c = await client(quota.address.url, device);
    const topic = `devices/${device.id}/telemetry`;
    await c.publishAsync(topic, JSON.stringify({ temperature: 21.5 }), { qos: 1, retain: true });
    expect(journalRows(reg.dir).filter((m) => m.deviceId === device.id)).toHaveLength(1);
    expect((await retainedUnder(device, topic)).size).toBe(0);
  });

  it('rebuilds the quota from the broker persistence after a restart', async () => {
    const own = await createTestRegistry();
    try {
      const start = () =>
        startTestBroker(own, {
          persistence: 'level',
          retainedMaxPerDevice: 2,
          retainedMaxBytesPerDevice: 1000,
        });
      const device = await own.addDevice();
      let b = await start();
      let c = await connect(b.address.url, deviceOptions(device));
      await retain(c, `devices/${device.id}/a`, 10);
      await retain(c, `devices/${device.id}/b`, 10);
      await c.endAsync();
      await b.close();
      b = await start();
      c = await connect(b.address.url, deviceOptions(device));
      await retain(c, `devices/${device.id}/c`, 10);
      await c.endAsync();
      await b.close();
      expect((await own.registry.listDeviceErrors(device.id, { limit: 10 })).items[0]?.reason).toMatch(
        /would make 3 messages and 30 bytes/,
      );
    } finally {
      await own.close();
    }
  });
});

describe('failed CONNECTs', () => {
  it('delay grows per address with each recent failure, up to the cap; IPv6 counts per /64', async () => {
    let t = 0;
    const throttle = createConnectThrottle({ maxDelayMs: 1000, now: () => t });
    const delays = Array.from({ length: 8 }, () => throttle.failed('10.0.0.1'));
    expect(delays).toEqual([0, 100, 200, 400, 800, 1000, 1000, 1000]);
    expect(throttle.failed('10.0.0.2')).toBe(0);
    t += 61_000; // forgotten after a minute without failures
    expect(throttle.failed('10.0.0.1')).toBe(0);
    expect(addressKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2::bbbb'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
  });

  it('slows a wrong-password storm from one address; the right device still connects at once', async () => {
    const device = await reg.addDevice();
    const wrong = deviceOptions({ id: device.id, secret: generateSecret() }, { clientId: `${device.id}-x` });
    const delayedBefore = await metric(quota, 'broker_connacks_delayed_total');
    const latencies: number[] = [];
    const codes: number[] = [];
    const attempt = async () => {
      const t0 = Date.now();
      codes.push(await connackCode(quota.address.url, wrong));
      latencies.push(Date.now() - t0);
    };
    // 8 attackers in parallel, 5 attempts each, all from 127.0.0.1.
    const storm = Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 5; i++) await attempt();
      }),
    );
    await waitFor(() => latencies.length >= 12, 10_000);
    // Mid-storm, from the same address: the device with its secret is not held back.
    const t0 = Date.now();
    const c = await client(quota.address.url, device);
    const connectMs = Date.now() - t0;
    await c.publishAsync(`devices/${device.id}/telemetry`, JSON.stringify({ temperature: 5 }), { qos: 1 });
    await storm;

    expect(codes).toEqual(Array(40).fill(4)); // slowed, never another answer, never no answer
    expect(connectMs).toBeLessThan(500);
    expect(journalRows(reg.dir).filter((m) => m.deviceId === device.id)).toHaveLength(1);
    // The first failure is answered at once; the later ones wait about the cap (1 s).
    expect(Math.min(...latencies)).toBeLessThan(300);
    expect(latencies.slice(-8).every((ms) => ms >= 900 && ms < 3000)).toBe(true);
    expect((await metric(quota, 'broker_connacks_delayed_total')) - delayedBefore).toBeGreaterThanOrEqual(38);
  });
});
