/**
 * Fault test: the broker (`main/broker.ts`, a real child process) is SIGKILLed mid-stream of QoS 1
 * readings and started again on the same DATA_DIR and port. Devices and the ingest worker reconnect
 * on their own. Every reading the broker acknowledged must be in InfluxDB exactly once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { InfluxConnection } from '../core/influx/client.js';
import { freePort } from '../core/influx/managed.js';
import type { IngestHandle } from '../ingest/index.js';
import { createTestRegistry, SERVICE_SECRET, type TestRegistry } from './helpers/broker.js';
import { sharedInflux } from './helpers/influxd.js';
import {
  compareSets,
  countPoints,
  runFleet,
  startTestIngest,
  storedKeys,
  waitUntil,
} from './helpers/ingest.js';

const DEVICES = 10;
const PER_DEVICE = 1000;
const TOTAL = DEVICES * PER_DEVICE;

let reg: TestRegistry;
let influx: InfluxConnection;
let port: number;
let broker: ChildProcess | undefined;
let ingest: IngestHandle | undefined;

function startBrokerProcess(): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join('main', 'broker.ts')], {
    env: {
      ...process.env,
      DATA_DIR: reg.dir,
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(port),
      SERVICE_SECRET,
      BROKER_PERSISTENCE: 'level',
      DEVICE_MAX_MESSAGES_PER_SECOND: '100000',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      if (out.includes('MQTT broker listening')) resolve(proc);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`broker exited early (${code}): ${out}`)));
  });
}

beforeAll(async () => {
  reg = await createTestRegistry();
  influx = await sharedInflux();
  port = await freePort();
  broker = await startBrokerProcess();
  ingest = await startTestIngest(reg, `mqtt://127.0.0.1:${port}`, influx, { flushMs: 20 });
});

afterAll(async () => {
  await ingest?.close();
  broker?.kill('SIGKILL');
  reg?.close();
});

it('loses and duplicates nothing when the broker is SIGKILLed mid-stream', { timeout: 180_000 }, async () => {
  const devices = await Promise.all(Array.from({ length: DEVICES }, () => reg.addDevice()));
  let ackedSoFar = 0;
  const killer = (async () => {
    await waitUntil(() => ackedSoFar >= TOTAL * 0.4, 120_000, 5);
    const victim = broker!;
    const gone = new Promise((r) => victim.once('exit', r));
    victim.kill('SIGKILL');
    await gone;
    await new Promise((r) => setTimeout(r, 500));
    broker = await startBrokerProcess();
  })();
  const fleet = await runFleet(`mqtt://127.0.0.1:${port}`, devices, PER_DEVICE, {
    ratePerDevice: 200,
    reconnect: true,
    onAck: (total) => {
      ackedSoFar = total;
    },
  });
  await killer;
  expect(fleet.failed).toBe(0);
  expect(fleet.acked.size).toBe(TOTAL);

  await waitUntil(async () => (await countPoints(influx, reg.pilotId)) >= TOTAL, 60_000, 250);
  await waitUntil(async () => (await ingest!.status()).spooled === 0, 30_000, 100);
  const stored = await storedKeys(influx, reg.pilotId);
  const diff = compareSets(fleet.acked, stored.keys);
  expect(diff.missing.slice(0, 10), `missing ${diff.missing.length}`).toEqual([]);
  expect(diff.extra.slice(0, 10)).toEqual([]);
  expect(stored.points).toBe(TOTAL);
});
