/**
 * Part batched-v2: the batched load (100 readings per message) through the platform's v2 API backend
 * (the official client's write API, core/influx/v2-writer.ts) into VictoriaMetrics, which accepts the
 * InfluxDB v2 write API, against the official client writing the same points straight to it, in the
 * same run. Both intervals end when VictoriaMetrics can count every point (it answers 204 before a
 * point is searchable, so "the last write answered" would favour the baseline); the baseline's "writes
 * answered" rate is shown as well.
 */
import path from 'node:path';
import { startVictoria, type Victoria } from '../test/helpers/victoria.js';
import { compareWithBaseline } from './compare.js';
import { type BenchPart, type Fleet, partDir, registerFleet, waitForCount } from './fixtures.js';
import type { ThroughputSizes } from './load.js';
import { runPlatformLoad } from './platform-run.js';
import { CpuMeter, spawnChild } from './procs.js';
import { defaultT0 } from './readings.js';
import { fmt, lossCheck, type PartResult, resultHeader } from './report.js';

const TITLE = 'Batched, 100 readings per message, into VictoriaMetrics through the v2 write API';
const READINGS_PER_MESSAGE = 100;
const V2 = { token: 'bench-token', org: 'bench', bucket: 'bench' };

const sizes = (quick: boolean): ThroughputSizes =>
  quick
    ? { devices: 5, messagesPerDevice: 40, window: 4 }
    : { devices: 20, messagesPerDevice: 500, window: 4 };

/** Points of `measurement` in VictoriaMetrics (its `temperature` samples over the load's time span). */
const counter = (vm: Victoria, t0: number, s: ThroughputSizes) => (measurement: string) =>
  vm.countSamples(`${measurement}_temperature`, t0, t0 + s.messagesPerDevice * READINGS_PER_MESSAGE);

async function officialClient(vm: Victoria, dir: string, s: ThroughputSizes, fleet: Fleet, t0: number) {
  const measurement = `raw_${fleet.pilotId}`;
  const writer = spawnChild('v2 writer', 'worker-v2-writer.ts', {
    logFile: path.join(dir, 'v2-writer.log'),
    params: {
      url: vm.url,
      ...V2,
      measurement,
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
    const cpu = new CpuMeter({ writer: writer.pid, victoria: vm.pid });
    cpu.begin();
    writer.send({ type: 'go' });
    const done = await writer.next<{ points: number; startAt: number; endAt: number; type: string }>(
      'done',
      600_000,
    );
    const stored = await waitForCount(() => counter(vm, t0, s)(measurement), done.points);
    const cpuShares = cpu.end();
    return {
      rate: stored.count / ((stored.at - done.startAt) / 1000),
      answeredRate: done.points / ((done.endAt - done.startAt) / 1000),
      written: done.points,
      stored: stored.count,
      cpuShares,
    };
  } finally {
    await writer.stop();
  }
}

export const batchedV2Part: BenchPart = {
  id: 'batched-v2',
  title: TITLE,
  async run(ctx) {
    const s = sizes(ctx.quick);
    const dir = partDir(ctx, 'batched-v2');
    const t0 = defaultT0();
    // -search.disableCache: counts are polled while they grow.
    const vm = await startVictoria({ dir: path.join(dir, 'victoria'), extraArgs: ['-search.disableCache'] });
    try {
      const result: PartResult = {
        ...resultHeader(ctx, 'batched-v2', TITLE),
        figures: { readings: s.devices * s.messagesPerDevice * READINGS_PER_MESSAGE },
        goals: [],
        lossChecks: [],
        notes: [
          `Load: ${s.devices} devices in one publisher process, ${fmt(s.messagesPerDevice)} messages each of ` +
            `${READINGS_PER_MESSAGE} readings (2 numeric values), ${s.window} QoS 1 publishes in flight per device. ` +
            'Baseline: the same points, in the same order, written by one process with @influxdata/influxdb-client ' +
            '(Point objects, WriteApi, precision ms, gzip above 1 KB as by default; 5,000 points per request, ' +
            '4 requests in flight). Platform: INFLUX_URL/TOKEN/ORG/BUCKET pointing at the same VictoriaMetrics ' +
            '(Debian victoria-metrics, -dedup.minScrapeInterval=1ms). Both intervals end when VictoriaMetrics ' +
            'counts every point (PromQL count_over_time after /internal/force_flush).',
        ],
      };
      // Each round's fleet is its own, so each round's points are counted apart.
      const fleets: Fleet[] = [];
      const roundDir = (round: number) => partDir(ctx, `batched-v2/round-${round}`);
      return await compareWithBaseline(ctx, result, {
        name: 'official client',
        baseline: async (round) => {
          fleets[round] = await registerFleet(path.join(roundDir(round), 'data'), s.devices);
          const raw = await officialClient(vm, roundDir(round), s, fleets[round]!, t0);
          return {
            rate: raw.rate,
            cpuShares: raw.cpuShares,
            figures: {
              'official client: points/s stored (countable)': Math.round(raw.rate),
              'official client: points/s written (answered)': Math.round(raw.answeredRate),
            },
            loss: lossCheck('official client writes', raw.stored, raw.written),
          };
        },
        goal: { what: 'stored/s vs the official client writing straight to it', min: 0.8 },
        acknowledged: 'readings',
        run: (round) =>
          runPlatformLoad(ctx, {
            dir: roundDir(round),
            dataDir: path.join(roundDir(round), 'data'),
            fleet: fleets[round]!,
            database: 'batched_v2',
            sizes: s,
            batchSize: READINGS_PER_MESSAGE,
            t0,
            store: {
              env: {
                INFLUX_URL: vm.url,
                INFLUX_TOKEN: V2.token,
                INFLUX_ORG: V2.org,
                INFLUX_BUCKET: V2.bucket,
              },
              count: counter(vm, t0, s),
              cpu: { victoria: vm.pid },
            },
          }),
      });
    } finally {
      await vm.stop();
    }
  },
};
