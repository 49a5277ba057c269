/**
 * Fault test: the ingest worker (`main/ingest.ts`, a real child process) is SIGKILLed twice while
 * 20,000 QoS 1 readings stream in through the real broker, and restarted each time. Every reading
 * the broker acknowledged must be in InfluxDB exactly once: 0 lost, 0 extra.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningBroker } from '../broker/index.js';
import type { InfluxConnection } from '../core/influx/client.js';
import { journalFile } from '../core/journal/sqlite.js';
import { createTestRegistry, SERVICE_SECRET, startTestBroker, type TestRegistry } from './helpers/broker.js';
import { sharedInflux } from './helpers/influxd.js';
import { compareSets, countPoints, runFleet, storedKeys, waitUntil } from './helpers/ingest.js';

const DEVICES = 20;
const PER_DEVICE = 1000;
const TOTAL = DEVICES * PER_DEVICE;

let reg: TestRegistry;
let broker: RunningBroker;
let influx: InfluxConnection;
let child: ChildProcess | undefined;

beforeAll(async () => {
  reg = await createTestRegistry();
  broker = await startTestBroker(reg, { deviceMaxMessagesPerSecond: 1_000_000 });
  influx = await sharedInflux();
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await broker?.close();
  reg?.close();
});

/** Starts `main/ingest.ts` and resolves when it reports that it runs. */
function startWorker(): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join('main', 'ingest.ts')], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: {
      ...process.env,
      DATA_DIR: reg.dir,
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(broker.address.port),
      INFLUX_URL: influx.url,
      INFLUX_DATABASE: influx.database,
      SERVICE_SECRET,
      LOG_LEVEL: 'warn',
      // Small batches, many in flight: a kill is likely to land between a write and its spool delete.
      INGEST_BATCH_SIZE: '500',
      INGEST_FLUSH_MS: '20',
      INGEST_MAX_IN_FLIGHT: '4',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    proc.stdout?.on('data', (d) => {
      if (String(d).includes('ingest running')) resolve(proc);
    });
    proc.on('exit', (code) => reject(new Error(`ingest exited early (${code}): ${stderr}`)));
  });
}

const exited = (proc: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
    proc.once('exit', (code) => resolve(code));
  });

function spooledRows(): number {
  const db = new Database(journalFile(reg.dir), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

it('loses and duplicates nothing when the worker is SIGKILLed mid-stream', { timeout: 180_000 }, async () => {
  const devices = await Promise.all(Array.from({ length: DEVICES }, () => reg.addDevice()));
  child = await startWorker();

  // Kill at 30 % and 65 % of the acknowledged stream, one at a time (restart before the next kill).
  let ackedSoFar = 0;
  const spooledAtKill: number[] = [];
  const killer = (async () => {
    for (const at of [Math.floor(TOTAL * 0.3), Math.floor(TOTAL * 0.65)]) {
      await waitUntil(() => ackedSoFar >= at, 120_000, 5);
      const victim = child!;
      victim.kill('SIGKILL');
      await exited(victim);
      spooledAtKill.push(spooledRows());
      child = await startWorker();
    }
  })();
  // About 3,000 readings/s: the stream lasts ~7 s, so both kills land while it flows.
  const fleet = await runFleet(broker.address.url, devices, PER_DEVICE, {
    ratePerDevice: 150,
    onAck: (total) => {
      ackedSoFar = total;
    },
  });
  await killer;

  expect(fleet.failed).toBe(0);
  expect(fleet.acked.size).toBe(TOTAL);
  expect(spooledAtKill).toHaveLength(2);

  const counted = await waitUntil(async () => (await countPoints(influx, reg.pilotId)) >= TOTAL, 90_000, 250);
  expect(counted, `stored ${await countPoints(influx, reg.pilotId)} of ${TOTAL}`).toBe(true);
  // Let anything still spooled (re-written duplicates) land before the exact comparison.
  await waitUntil(() => spooledRows() === 0, 30_000, 100);
  const stored = await storedKeys(influx, reg.pilotId);
  const diff = compareSets(fleet.acked, stored.keys);
  expect(diff.missing.slice(0, 10)).toEqual([]);
  expect(diff.extra.slice(0, 10)).toEqual([]);
  expect(stored.points).toBe(TOTAL);
  expect(await countPoints(influx, reg.pilotId)).toBe(TOTAL);
  expect((await reg.registry.listDeviceErrors(devices[0]!.id, { limit: 10 })).items).toEqual([]);
  console.info(
    `spool rows left by the kills: ${spooledAtKill.join(', ')}; acknowledged: ${fleet.acked.size}`,
  );

  // A clean stop: SIGTERM ends the worker with exit code 0.
  const last = child!;
  last.kill('SIGTERM');
  expect(await exited(last)).toBe(0);
  child = undefined;
});
