/**
 * Nothing acknowledged is lost: a device's QoS 1 PUBACK comes only after the message is queued on disk
 * for the ingest worker's persistent session (see broker/publish.ts), so the queue survives a broker
 * restart, also a SIGKILL right after the last PUBACK, with the broker's receive stamps unchanged.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { INGEST_TOPIC_FILTER, parseIngestTopic } from '../core/topics.js';
import {
  connect,
  createTestRegistry,
  deviceOptions,
  SERVICE_SECRET,
  serviceOptions,
  startTestBroker,
  subackCodes,
  type TestRegistry,
  waitFor,
} from './helpers/broker.js';

const INGEST_CLIENT_ID = 'ingest-durable';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The ingest worker's session: persistent, QoS 1. Subscribes once, then goes offline. */
async function registerIngestSessionAndLeave(url: string) {
  const ingest = await connect(url, serviceOptions('ingest', { clientId: INGEST_CLIENT_ID, clean: false }));
  expect(await subackCodes(ingest, { [INGEST_TOPIC_FILTER]: { qos: 1 } })).toEqual([1]);
  await ingest.endAsync();
}

/** Reconnects the ingest session and collects until `count` distinct messages arrived. */
async function drainIngestSession(url: string, count: number) {
  const received: { deviceId: string; receivedAt: number; n: number }[] = [];
  const ingest: MqttClient = await connect(
    url,
    serviceOptions('ingest', { clientId: INGEST_CLIENT_ID, clean: false }),
  );
  ingest.on('message', (topic, payload) => {
    const parsed = parseIngestTopic(topic)!;
    received.push({ ...parsed, n: (JSON.parse(payload.toString()) as { n: number }).n });
  });
  expect(ingest.connected).toBe(true);
  await waitFor(() => new Set(received.map((r) => r.n)).size >= count, 15_000).catch(() => undefined);
  await ingest.endAsync();
  return received;
}

describe('durable hand-off to ingest', () => {
  it('keeps queued QoS 1 messages and retained messages across a broker restart (same DATA_DIR)', async () => {
    const reg = createTestRegistry();
    cleanups.push(() => reg.close());
    const device = reg.addDevice();
    let broker = await startTestBroker(reg, { persistence: 'level' });
    cleanups.push(() => broker.close());
    await registerIngestSessionAndLeave(broker.address.url);

    const N = 100;
    const client = await connect(broker.address.url, deviceOptions(device));
    const sentFrom = Date.now();
    for (let n = 0; n < N; n++) {
      await client.publishAsync(`devices/${device.id}/telemetry`, JSON.stringify({ n }), { qos: 1 }); // resolves on PUBACK
    }
    const sentUntil = Date.now();
    await client.publishAsync(`devices/${device.id}/status`, 'online', { qos: 1, retain: true });
    await client.endAsync();

    await broker.close();
    await new Promise((r) => setTimeout(r, 20)); // a re-stamp after the restart would be later than sentUntil
    broker = await startTestBroker(reg, { persistence: 'level' });

    const received = await drainIngestSession(broker.address.url, N);
    expect(new Set(received.map((r) => r.n))).toEqual(new Set(Array.from({ length: N }, (_, n) => n)));
    for (const r of received) {
      expect(r.deviceId).toBe(device.id);
      expect(r.receivedAt).toBeGreaterThanOrEqual(sentFrom);
      expect(r.receivedAt).toBeLessThanOrEqual(sentUntil);
    }

    const again = await connect(broker.address.url, deviceOptions(device));
    const retained = new Promise<string>((resolve) =>
      again.once('message', (_t, p) => resolve(p.toString())),
    );
    await again.subscribeAsync(`devices/${device.id}/status`, { qos: 1 });
    expect(await retained).toBe('online');
    await again.endAsync();
  });

  it('loses no acknowledged message when the broker process is SIGKILLed right after the last PUBACK', async () => {
    const reg = createTestRegistry();
    cleanups.push(() => reg.close());
    const device = reg.addDevice();

    let child = await spawnBroker(reg);
    cleanups.push(() => void child.process.kill('SIGKILL'));
    await registerIngestSessionAndLeave(child.url);

    const N = 300;
    const client = await connect(child.url, deviceOptions(device));
    client.on('error', () => {});
    const sentFrom = Date.now();
    // All in flight at once: the broker's hand-offs overlap, as under load.
    await Promise.all(
      Array.from({ length: N }, (_, n) =>
        client.publishAsync(`devices/${device.id}/telemetry`, JSON.stringify({ n }), { qos: 1 }),
      ),
    );
    const sentUntil = Date.now();
    child.process.kill('SIGKILL');
    await child.exited;
    client.end(true);

    child = await spawnBroker(reg);
    const received = await drainIngestSession(child.url, N);
    expect(new Set(received.map((r) => r.n)).size).toBe(N);
    for (const r of received) {
      expect(r.receivedAt).toBeGreaterThanOrEqual(sentFrom);
      expect(r.receivedAt).toBeLessThanOrEqual(sentUntil);
    }
  });
});

/** `npm run broker` as a child process on DATA_DIR = the registry's dir, on a free port. */
async function spawnBroker(
  reg: TestRegistry,
): Promise<{ process: ChildProcess; url: string; exited: Promise<void> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join('main', 'broker.ts')], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: {
      ...process.env,
      DATA_DIR: reg.dir,
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: '0',
      SERVICE_SECRET,
      LOG_LEVEL: 'warn',
      // The default (200/s) would rightly drop part of this test's burst of 300.
      DEVICE_MAX_MESSAGES_PER_SECOND: '100000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let stderr = '';
  proc.stderr!.on('data', (d) => {
    stderr += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (mqtt:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`broker exited with ${code}: ${stderr}`)));
    setTimeout(() => reject(new Error(`broker did not start: ${stderr}`)), 20_000).unref();
  });
  return { process: proc, url, exited };
}
