/**
 * Part (b): batched, 100 readings per message. The same points go once straight to InfluxDB
 * (node-influx writePoints, 5,000 per request, 4 in flight, precision 'ms') and once through the
 * platform over MQTT (QoS 1), where the interval ends when InfluxDB holds every acknowledged reading.
 * Goal: the platform stores at least 0.8 of the raw write rate.
 */
import path from 'node:path';
import {
  type BenchContext,
  type BenchPart,
  countPoints,
  type Fleet,
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

const TITLE = 'Batched, 100 readings per message';
const READINGS_PER_MESSAGE = 100;

interface Sizes {
  devices: number;
  messagesPerDevice: number;
  window: number;
}

const sizes = (quick: boolean): Sizes =>
  quick
    ? { devices: 5, messagesPerDevice: 40, window: 4 }
    : { devices: 20, messagesPerDevice: 500, window: 4 };

async function rawInflux(ctx: BenchContext, dir: string, s: Sizes, fleet: Fleet, t0: number) {
  const db = await newDatabase(ctx, 'batched_raw');
  const writer = spawnChild('influx writer', 'worker-influx-writer.ts', {
    logFile: path.join(dir, 'influx-writer.log'),
    params: {
      influxUrl: ctx.influx.url,
      database: db.database,
      measurement: fleet.pilotId,
      devicesFile: fleet.devicesFile,
      messagesPerDevice: s.messagesPerDevice,
      readingsPerMessage: READINGS_PER_MESSAGE,
      pointsPerWrite: 5000,
      inFlight: 4,
      t0,
    },
  });
  try {
    await writer.next('ready');
    const cpu = new CpuMeter({ writer: writer.pid, influxd: ctx.influx.pid });
    cpu.begin();
    writer.send({ type: 'go' });
    const done = await writer.next<{ type: string; points: number; startAt: number; endAt: number }>(
      'done',
      600_000,
    );
    const cpuShares = cpu.end();
    const stored = await countPoints(db, fleet.pilotId);
    return {
      rate: done.points / ((done.endAt - done.startAt) / 1000),
      written: done.points,
      stored,
      cpuShares,
    };
  } finally {
    await writer.stop();
    await db.client.dropDatabase(db.database).catch(() => {});
  }
}

async function platform(ctx: BenchContext, dir: string, s: Sizes, fleet: Fleet, dataDir: string, t0: number) {
  const db = await newDatabase(ctx, 'batched');
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
      batchSize: READINGS_PER_MESSAGE,
      t0,
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
      ackRate: report.readingsAcked / ((report.lastAckAt - goAt) / 1000),
      stored: stored.count,
      report,
      cpuShares,
    };
  } finally {
    await p.child.stop(30_000);
    await db.client.dropDatabase(db.database).catch(() => {});
  }
}

export const batchedPart: BenchPart = {
  id: 'batched',
  title: TITLE,
  async run(ctx) {
    const s = sizes(ctx.quick);
    const dir = partDir(ctx, 'batched');
    const dataDir = path.join(dir, 'data');
    const fleet = registerFleet(dataDir, s.devices);
    const t0 = defaultT0();
    const readings = s.devices * s.messagesPerDevice * READINGS_PER_MESSAGE;
    const raw = await rawInflux(ctx, dir, s, fleet, t0);
    const result: PartResult = {
      id: 'batched',
      title: TITLE,
      date: new Date().toISOString(),
      machine: machineInfo(),
      command: ctx.command,
      quick: ctx.quick,
      figures: {
        readings,
        'raw InfluxDB writes: points/s': Math.round(raw.rate),
      },
      goals: [],
      lossChecks: [lossCheck('raw InfluxDB writes', raw.stored, raw.written)],
      notes: [
        `Load: ${s.devices} devices in one publisher process, ${fmt(s.messagesPerDevice)} messages each of ` +
          `${READINGS_PER_MESSAGE} readings (2 numeric values), ${s.window} QoS 1 publishes in flight per device. ` +
          'Raw: the same points, in the same order, written by one process with node-influx writePoints ' +
          '(5,000 points per request, 4 requests in flight, precision ms) to the same influxd; the interval ends ' +
          'when the last write is answered. Platform: the interval ends when InfluxDB holds every acknowledged reading.',
      ],
    };
    const since = Date.now();
    let plat: Awaited<ReturnType<typeof platform>>;
    try {
      plat = await platform(ctx, dir, s, fleet, dataDir, t0);
    } catch (err) {
      result.figures['platform: readings stored/s'] = 'not measured: the platform run failed';
      result.goals.push({
        what: 'stored/s vs raw InfluxDB writes',
        target: '>= 0.8',
        actual: 'n/a',
        met: false,
      });
      result.notes.push(`Platform run failed: ${(err as Error).message.split('\n').slice(0, 6).join(' / ')}`);
      return result;
    }
    const ratio = plat.rate / raw.rate;
    Object.assign(result.figures, {
      'platform: readings stored/s': Math.round(plat.rate),
      'platform: readings acknowledged/s': Math.round(plat.ackRate),
      'ratio platform / raw InfluxDB': Math.round(ratio * 100) / 100,
      ...Object.fromEntries(Object.entries(raw.cpuShares).map(([k, v]) => [`raw run, ${k}`, v])),
      ...Object.fromEntries(Object.entries(plat.cpuShares).map(([k, v]) => [`platform run, ${k}`, v])),
    });
    result.goals.push({
      what: 'stored/s vs raw InfluxDB writes',
      target: '>= 0.8',
      actual: ratio.toFixed(2),
      met: ratio >= 0.8,
    });
    result.lossChecks.push(
      lossCheck('platform (points in InfluxDB)', plat.stored, plat.report.readingsAcked),
    );
    if (ctx.profile) {
      const file = newestProfile(profileDir(ctx), since);
      if (file) result.notes.push(summariseProfile(file));
    }
    return result;
  },
};
