/**
 * Part (b): batched, 100 readings per message. The same points go once straight to InfluxDB
 * (node-influx writePoints, 5,000 per request, 4 in flight, precision 'ms') and once through the
 * platform over MQTT (QoS 1), where the interval ends when InfluxDB holds every acknowledged reading.
 * Goal: the platform stores at least 0.8 of the raw write rate.
 */
import path from 'node:path';
import { compareWithBaseline } from './compare.js';
import {
  type BenchContext,
  type BenchPart,
  countPoints,
  type Fleet,
  newDatabase,
  partDir,
  registerFleet,
} from './fixtures.js';
import type { ThroughputSizes } from './load.js';
import { runPlatformLoad } from './platform-run.js';
import { CpuMeter, spawnChild } from './procs.js';
import { defaultT0 } from './readings.js';
import { fmt, lossCheck, type PartResult, resultHeader } from './report.js';

const TITLE = 'Batched, 100 readings per message';
const READINGS_PER_MESSAGE = 100;

const sizes = (quick: boolean): ThroughputSizes =>
  quick
    ? { devices: 5, messagesPerDevice: 40, window: 4 }
    : { devices: 20, messagesPerDevice: 500, window: 4 };

async function rawInflux(ctx: BenchContext, dir: string, s: ThroughputSizes, fleet: Fleet, t0: number) {
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

export const batchedPart: BenchPart = {
  id: 'batched',
  title: TITLE,
  async run(ctx) {
    const s = sizes(ctx.quick);
    const t0 = defaultT0();
    const result: PartResult = {
      ...resultHeader(ctx, 'batched', TITLE),
      figures: { readings: s.devices * s.messagesPerDevice * READINGS_PER_MESSAGE },
      goals: [],
      lossChecks: [],
      notes: [
        `Load: ${s.devices} devices in one publisher process, ${fmt(s.messagesPerDevice)} messages each of ` +
          `${READINGS_PER_MESSAGE} readings (2 numeric values), ${s.window} QoS 1 publishes in flight per device. ` +
          'Raw: the same points, in the same order, written by one process with node-influx writePoints ' +
          '(5,000 points per request, 4 requests in flight, precision ms) to the same influxd; the interval ends ' +
          'when the last write is answered. Platform: the interval ends when InfluxDB holds every acknowledged reading.',
      ],
    };
    // Each round's fleet (registry, broker state) is its own; the raw side writes the same pilot's points.
    const fleets: Fleet[] = [];
    const roundDir = (round: number) => partDir(ctx, `batched/round-${round}`);
    return compareWithBaseline(ctx, result, {
      name: 'raw InfluxDB',
      baseline: async (round) => {
        fleets[round] = await registerFleet(path.join(roundDir(round), 'data'), s.devices);
        const raw = await rawInflux(ctx, roundDir(round), s, fleets[round]!, t0);
        return {
          rate: raw.rate,
          cpuShares: raw.cpuShares,
          figures: { 'raw InfluxDB writes: points/s': Math.round(raw.rate) },
          loss: lossCheck('raw InfluxDB writes', raw.stored, raw.written),
        };
      },
      goal: { what: 'stored/s vs raw InfluxDB writes', min: 0.8 },
      acknowledged: 'readings',
      run: (round) =>
        runPlatformLoad(ctx, {
          dir: roundDir(round),
          dataDir: path.join(roundDir(round), 'data'),
          fleet: fleets[round]!,
          database: 'batched',
          sizes: s,
          batchSize: READINGS_PER_MESSAGE,
          t0,
        }),
    });
  },
};
