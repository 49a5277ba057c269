/**
 * Part (a): end to end, QoS 1, one reading per message. The same load (devices x messages, each
 * device keeping a window of publishes in flight) goes first to a bare Aedes whose only subscriber
 * counts, then to the whole platform, where it counts as done when InfluxDB holds every
 * acknowledged reading. Goal: the platform stores at least 0.7 of what raw Aedes forwards.
 */
import path from 'node:path';
import {
  anonymousFleet,
  type BenchContext,
  type BenchPart,
  countPoints,
  newDatabase,
  partDir,
  profileDir,
  registerFleet,
  startPlatformProcess,
  waitForCount,
} from './fixtures.js';
import { startLoad } from './load.js';
import { CpuMeter, spawnChild } from './procs.js';
import { newestProfile, summariseProfile } from './profile-summary.js';
import { defaultT0 } from './readings.js';
import { fmt, lossCheck, machineInfo, type PartResult } from './report.js';

const TITLE = 'End to end, QoS 1, one reading per message';

interface Sizes {
  devices: number;
  messagesPerDevice: number;
  window: number;
}

const sizes = (quick: boolean): Sizes =>
  quick
    ? { devices: 10, messagesPerDevice: 500, window: 16 }
    : { devices: 50, messagesPerDevice: 3000, window: 16 };

/** Raw Aedes: publishers -> bare broker -> one counting subscriber. Returns messages/s. */
async function rawAedes(dir: string, s: Sizes) {
  const expected = s.devices * s.messagesPerDevice;
  const broker = spawnChild('raw aedes', 'worker-raw-broker.ts', {
    logFile: path.join(dir, 'raw-broker.log'),
  });
  const { mqttUrl } = await broker.next<{ type: string; mqttUrl: string }>('ready');
  const counter = spawnChild('counter', 'worker-counter.ts', {
    logFile: path.join(dir, 'counter.log'),
    params: { mqttUrl, topic: 'devices/+/telemetry', expected },
  });
  try {
    await counter.next('subscribed');
    const fleet = anonymousFleet(dir, s.devices);
    const load = await startLoad({
      mqttUrl,
      devicesFile: fleet.devicesFile,
      devices: s.devices,
      processes: 1,
      mode: 'max',
      messagesPerDevice: s.messagesPerDevice,
      window: s.window,
      batchSize: 1,
      t0: defaultT0(),
      logDir: dir,
    });
    const cpu = new CpuMeter({
      'raw broker': broker.pid,
      counter: counter.pid,
      publisher: load.children[0]!.pid,
    });
    cpu.begin();
    const { goAt, done } = load.go();
    const report = await done;
    const reached = await counter
      .next<{ type: string; at: number }>('reached', 120_000)
      .catch(() => undefined);
    const cpuShares = cpu.end();
    counter.send({ type: 'report' });
    const { count } = await counter.next<{ type: string; count: number }>('count');
    await load.stop();
    const endAt = reached?.at ?? Date.now();
    return { rate: count / ((endAt - goAt) / 1000), count, report, cpuShares };
  } finally {
    await counter.stop();
    await broker.stop();
  }
}

async function platform(ctx: BenchContext, dir: string, s: Sizes) {
  const dataDir = path.join(dir, 'data');
  const fleet = registerFleet(dataDir, s.devices);
  const db = await newDatabase(ctx, 'e2e');
  const p = await startPlatformProcess(ctx, { mode: 'platform', dataDir, database: db.database });
  try {
    const load = await startLoad({
      mqttUrl: p.mqttUrl,
      devicesFile: fleet.devicesFile,
      devices: s.devices,
      processes: 1,
      mode: 'max',
      messagesPerDevice: s.messagesPerDevice,
      window: s.window,
      batchSize: 1,
      t0: defaultT0(),
      logDir: dir,
    });
    const cpu = new CpuMeter({
      platform: p.child.pid,
      influxd: ctx.influx.pid,
      publisher: load.children[0]!.pid,
    });
    cpu.begin();
    const { goAt, done } = load.go();
    // A crash of the platform ends the part at once instead of leaving publishers waiting for acks.
    const report = await p.child.whileAlive(done);
    const stored = await p.child.whileAlive(
      waitForCount(() => countPoints(db, fleet.pilotId), report.readingsAcked),
    );
    const cpuShares = cpu.end();
    await load.stop();
    return {
      rate: stored.count / ((stored.at - goAt) / 1000),
      ackRate: report.acked / ((report.lastAckAt - goAt) / 1000),
      stored: stored.count,
      report,
      cpuShares,
    };
  } finally {
    await p.child.stop(30_000);
    await db.client.dropDatabase(db.database).catch(() => {});
  }
}

export const e2ePart: BenchPart = {
  id: 'e2e',
  title: TITLE,
  async run(ctx) {
    const s = sizes(ctx.quick);
    const dir = partDir(ctx, 'e2e');
    const raw = await rawAedes(dir, s);
    const since = Date.now();
    const notes: string[] = [
      `Load: ${s.devices} devices in one publisher process, each keeping ${s.window} QoS 1 publishes in flight, ` +
        `${fmt(s.messagesPerDevice)} messages each. Raw Aedes: a bare \`Aedes.createBroker()\` (memory persistence, ` +
        'no hooks) forwarding to one QoS 1 subscriber that only counts; the interval ends at the last message counted. ' +
        'Platform: broker + ingest + API in one process, InfluxDB in its own; the interval ends when ' +
        'InfluxDB holds every acknowledged reading (polled count).',
    ];
    const result: PartResult = {
      id: 'e2e',
      title: TITLE,
      date: new Date().toISOString(),
      machine: machineInfo(),
      command: ctx.command,
      quick: ctx.quick,
      figures: {
        'messages (= readings)': s.devices * s.messagesPerDevice,
        'raw Aedes: messages forwarded/s': Math.round(raw.rate),
      },
      goals: [],
      lossChecks: [lossCheck('raw Aedes (received by the subscriber)', raw.count, raw.report.acked)],
      notes,
    };
    let plat: Awaited<ReturnType<typeof platform>>;
    try {
      plat = await platform(ctx, dir, s);
    } catch (err) {
      result.figures['platform: readings stored/s'] = 'not measured: the platform run failed';
      result.goals.push({
        what: 'stored/s vs raw Aedes forwarding',
        target: '>= 0.7',
        actual: 'n/a',
        met: false,
      });
      notes.push(`Platform run failed: ${(err as Error).message.split('\n').slice(0, 6).join(' / ')}`);
      return result;
    }
    const ratio = plat.rate / raw.rate;
    Object.assign(result.figures, {
      'platform: readings stored/s': Math.round(plat.rate),
      'platform: publishes acknowledged/s': Math.round(plat.ackRate),
      'ratio platform / raw Aedes': Math.round(ratio * 100) / 100,
      ...Object.fromEntries(Object.entries(raw.cpuShares).map(([k, v]) => [`raw run, ${k}`, v])),
      ...Object.fromEntries(Object.entries(plat.cpuShares).map(([k, v]) => [`platform run, ${k}`, v])),
    });
    result.goals.push({
      what: 'stored/s vs raw Aedes forwarding',
      target: '>= 0.7',
      actual: ratio.toFixed(2),
      met: ratio >= 0.7,
    });
    result.lossChecks.push(
      lossCheck('platform (points in InfluxDB)', plat.stored, plat.report.readingsAcked),
    );
    if (ctx.profile) {
      const file = newestProfile(profileDir(ctx), since);
      if (file) notes.push(summariseProfile(file));
    }
    return result;
  },
};
