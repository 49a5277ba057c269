/** Limits (payload size, topic depth, per-device rate: held not dropped, connect timeout) and metrics. */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../broker/index.js';
import {
  connect,
  createTestRegistry,
  deviceOptions,
  journalRows,
  startTestBroker,
  subackCodes,
  type TestRegistry,
} from './helpers/broker.js';
import { waitFor } from './helpers/poll.js';

let reg: TestRegistry;
let broker: RunningBroker & { metrics: import('prom-client').Registry };

beforeAll(async () => {
  reg = await createTestRegistry();
  broker = await startTestBroker(reg, {
    maxPayloadBytes: 1024,
    maxTopicLevels: 4,
    deviceMaxMessagesPerSecond: 20,
    connectTimeoutMs: 300,
  });
});
afterAll(async () => {
  await broker?.close();
  reg?.close();
});

/** What the broker accepted from this device: its rows in the telemetry journal. */
const fromDevice = (id: string) => journalRows(reg.dir).filter((m) => m.deviceId === id);
const errorsOf = async (id: string) => (await reg.registry.listDeviceErrors(id, { limit: 100 })).items;
async function counter(name: string): Promise<number> {
  return (await broker.metrics.getSingleMetric(name)!.get()).values[0]?.value ?? 0;
}
async function dropped(reason: string): Promise<number> {
  const m = await broker.metrics.getSingleMetric('broker_messages_dropped_total')!.get();
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('limits', () => {
  it('drops a payload over maxPayloadBytes, records it, and keeps the connection', async () => {
    const device = await reg.addDevice();
    const client = await connect(broker.address.url, deviceOptions(device));
    const before = await dropped('payload_too_large');
    await client.publishAsync(`devices/${device.id}/telemetry`, Buffer.alloc(1025, 0x61), { qos: 1 });
    await client.publishAsync(`devices/${device.id}/telemetry`, Buffer.alloc(1024, 0x62), { qos: 1 });
    await waitFor(() => fromDevice(device.id).length === 1);
    expect(fromDevice(device.id)[0]!.payload.length).toBe(1024);
    expect((await dropped('payload_too_large')) - before).toBe(1);
    const errors = await waitFor(
      async () => ((await errorsOf(device.id)).length > 0 ? await errorsOf(device.id) : undefined),
      3000,
    );
    expect(errors[0]!.reason).toMatch(/1025 bytes exceeds the limit of 1024/);
    expect(client.connected).toBe(true);
    await client.endAsync();
  });

  it('drops topics deeper than maxTopicLevels and refuses such subscriptions', async () => {
    const device = await reg.addDevice();
    const client = await connect(broker.address.url, deviceOptions(device));
    const before = await dropped('topic_too_deep');
    await client.publishAsync(`devices/${device.id}/a/b/c`, 'deep', { qos: 1 });
    expect((await dropped('topic_too_deep')) - before).toBe(1);
    expect(
      await subackCodes(client, {
        [`devices/${device.id}/a/b/c`]: { qos: 1 },
        [`devices/${device.id}/a/b`]: { qos: 1 },
      }),
    ).toEqual([128, 1]);
    await waitFor(
      async () => (await errorsOf(device.id)).some((e) => e.reason.includes('more than 4 levels')),
      3000,
    );
    await client.endAsync();
  });

  it('holds publishes over the per-device rate (QoS 1 PUBACKs wait), drops none, notes it once', async () => {
    const device = await reg.addDevice();
    const client = await connect(broker.address.url, deviceOptions(device));
    const throttledBefore = await counter('broker_messages_throttled_total');
    const secondsBefore = await counter('broker_throttled_seconds_total');
    const burst = 60;
    const started = Date.now();
    const ackedAt: number[] = [];
    await Promise.all(
      Array.from({ length: burst }, (_, n) =>
        client
          .publishAsync(`devices/${device.id}/telemetry`, JSON.stringify({ n }), { qos: 1 })
          .then(() => ackedAt.push(Date.now() - started)),
      ),
    );
    // A bucket of 20 goes at once; the other 40 at 20 per second: about 2 s in all, none dropped.
    ackedAt.sort((a, b) => a - b);
    expect(ackedAt[19]).toBeLessThan(1000);
    expect(ackedAt[burst - 1]).toBeGreaterThanOrEqual(1800);
    expect(fromDevice(device.id).map((m) => JSON.parse(m.payload.toString()).n)).toEqual(
      Array.from({ length: burst }, (_, n) => n),
    );
    expect(await counter('broker_messages_throttled_total')).toBeGreaterThanOrEqual(throttledBefore + 35);
    expect(await counter('broker_throttled_seconds_total')).toBeGreaterThanOrEqual(secondsBefore + 1.5);
    const notices = await waitFor(async () => {
      const found = (await errorsOf(device.id)).filter((e) => e.reason.startsWith('slowed down'));
      return found.length > 0 ? found : undefined;
    }, 3000);
    expect(notices).toHaveLength(1); // at most once a minute, not per message
    expect(notices[0]!.reason).toContain('none were dropped');
    expect(client.connected).toBe(true);
    await client.endAsync();
  });

  it('closes a connection that sends no CONNECT within connectTimeoutMs', async () => {
    const socket = net.connect(broker.address.port, '127.0.0.1');
    socket.on('error', () => {});
    const start = Date.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(Date.now() - start).toBeGreaterThanOrEqual(250);
  });

  it('close() ends a silent connection at once instead of waiting for its connect timeout', async () => {
    const other = await startTestBroker(reg, { connectTimeoutMs: 600_000 });
    const socket = net.connect(other.address.port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const gone = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await other.close();
    await gone;
  });
});

describe('metrics', () => {
  it('exports connections, messages in and out, drops by reason and auth failures', async () => {
    const device = await reg.addDevice();
    const client = await connect(broker.address.url, deviceOptions(device));
    // The device watches a topic of its own, so one message is forwarded (messages out).
    const commands = `devices/${device.id}/inbox`;
    let forwarded = 0;
    client.on('message', () => forwarded++);
    await client.subscribeAsync(commands, { qos: 1 });
    await client.publishAsync(commands, 'reboot', { qos: 1 });
    await client.publishAsync(`devices/${device.id}/telemetry`, '{"x": 1}', { qos: 1 });
    expect(fromDevice(device.id)).toHaveLength(1);
    await waitFor(() => forwarded === 1);
    await connect(broker.address.url, deviceOptions({ id: device.id, secret: 'wrong' })).catch(
      () => undefined,
    );
    const text = await broker.metrics.metrics();
    expect(text).toMatch(/^broker_connections 1$/m); // this device
    expect(text).toMatch(/^broker_messages_received_total \d+$/m);
    expect(text).toMatch(/^broker_messages_sent_total [1-9]\d*$/m);
    expect(text).toMatch(/^broker_telemetry_accepted_total [1-9]\d*$/m);
    expect(text).toMatch(/^broker_telemetry_backpressure 0$/m);
    expect(text).not.toMatch(/rate_limited/); // over the rate is held, never a drop
    expect(text).toMatch(/^broker_messages_throttled_total [1-9]\d*$/m);
    expect(text).toMatch(/^broker_throttled_seconds_total [1-9][\d.]*$/m);
    expect(text).toMatch(/^broker_throttled_messages_waiting 0$/m);
    expect(text).toMatch(/^broker_auth_failures_total\{reason="bad_credentials"\} [1-9]\d*$/m);
    await client.endAsync();
  });
});
