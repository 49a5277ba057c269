/**
 * Part (a): end to end, QoS 1, one reading per message. The same load (devices x messages, each
 * device keeping a window of publishes in flight) goes first to a bare Aedes whose only subscriber
 * counts, then to the whole platform, where it counts as done when InfluxDB holds every
 * acknowledged reading. Goal (issue 18): the platform stores at least as fast as raw Aedes forwards.
 */
import path from 'node:path';
import { compareWithBaseline } from './compare.js';
import { anonymousFleet, type BenchPart, partDir, registerFleet } from './fixtures.js';
import { startFullSpeedLoad, type ThroughputSizes } from './load.js';
import { runPlatformLoad } from './platform-run.js';
import { CpuMeter, spawnChild } from './procs.js';
import { defaultT0 } from './readings.js';
import { fmt, lossCheck, type PartResult, resultHeader } from './report.js';

const TITLE = 'End to end, QoS 1, one reading per message';

const sizes = (quick: boolean): ThroughputSizes =>
  quick
    ? { devices: 10, messagesPerDevice: 500, window: 16 }
    : { devices: 50, messagesPerDevice: 3000, window: 16 };

/** Raw Aedes: publishers -> bare broker -> one counting subscriber. Returns messages/s. */
async function rawAedes(dir: string, s: ThroughputSizes) {
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
    const load = await startFullSpeedLoad({
      mqttUrl,
      fleet,
      sizes: s,
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

export const e2ePart: BenchPart = {
  id: 'e2e',
  title: TITLE,
  async run(ctx) {
    const s = sizes(ctx.quick);
    const dir = partDir(ctx, 'e2e');
    const result: PartResult = {
      ...resultHeader(ctx, 'e2e', TITLE),
      figures: { 'messages (= readings)': s.devices * s.messagesPerDevice },
      goals: [],
      lossChecks: [],
      notes: [
        `Load: ${s.devices} devices in one publisher process, each keeping ${s.window} QoS 1 publishes in flight, ` +
          `${fmt(s.messagesPerDevice)} messages each. Raw Aedes: a bare \`Aedes.createBroker()\` (memory persistence, ` +
          'no hooks) forwarding to one QoS 1 subscriber that only counts; the interval ends at the last message counted. ' +
          'Platform: broker + ingest + API in one process, InfluxDB in its own; the interval ends when ' +
          'InfluxDB holds every acknowledged reading (its count polled every 10 ms once 90% is stored).',
      ],
    };
    return compareWithBaseline(ctx, result, {
      name: 'raw Aedes',
      baseline: async (round) => {
        const raw = await rawAedes(partDir(ctx, `e2e/raw-${round}`), s);
        return {
          rate: raw.rate,
          cpuShares: raw.cpuShares,
          figures: { 'raw Aedes: messages forwarded/s': Math.round(raw.rate) },
          loss: lossCheck('raw Aedes (received by the subscriber)', raw.count, raw.report.acked),
        };
      },
      goal: { what: 'stored/s vs raw Aedes forwarding', min: 1.0 },
      acknowledged: 'publishes',
      run: async (round) => {
        const dataDir = path.join(dir, `data-${round}`);
        const fleet = await registerFleet(dataDir, s.devices);
        return runPlatformLoad(ctx, {
          dir: partDir(ctx, `e2e/platform-${round}`),
          dataDir,
          fleet,
          database: 'e2e',
          sizes: s,
          batchSize: 1,
          t0: defaultT0(),
        });
      },
    });
  },
};
