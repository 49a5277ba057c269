/**
 * Cluster part (issue 12): the e2e load (QoS 1, one reading per message, until InfluxDB holds every
 * acknowledged reading) against (a) the embedded single process (SQLite journal), (b) a cluster of
 * 1 broker node + 2 ingest workers and (c) 3 broker nodes + 2 ingest workers on Redis and PostgreSQL,
 * in one run on one machine. Where the time goes: Redis commands and bytes per reading (INFO
 * deltas), CPU per process, PostgreSQL transactions per CONNECT. Not in --quick runs (bench/run.ts).
 */
import os from 'node:os';
import path from 'node:path';
import { commandDeltas, startClusterStack } from './cluster-stack.js';
import { measurePresenceWrites, measureStorm } from './cluster-storm.js';
import {
  type BenchContext,
  type BenchPart,
  countPoints,
  newDatabase,
  partDir,
  registerFleet,
  waitForCount,
} from './fixtures.js';
import { startLoad, type ThroughputSizes } from './load.js';
import { runPlatformLoad } from './platform-run.js';
import { cpuSeconds } from './procs.js';
import { defaultT0, payload } from './readings.js';
import { fmt, lossCheck, type PartResult, resultHeader } from './report.js';

const TITLE = 'Cluster mode: end to end on Redis and PostgreSQL vs the embedded process';
/** Devices of the connect storm run after the throughput measurement, on top of the load's. */
const stormDevices = (quick: boolean) => (quick ? 300 : 3000);

const sizes = (quick: boolean): ThroughputSizes =>
  quick
    ? { devices: 10, messagesPerDevice: 300, window: 16 }
    : { devices: 50, messagesPerDevice: 3000, window: 16 };

interface ClusterRun {
  label: string;
  rate: number;
  ackRate: number;
  stored: number;
  acked: number;
  /** Process label -> CPU seconds over the measured interval; and the interval in seconds. */
  cpu: Record<string, number>;
  seconds: number;
  figures: Record<string, number | string>;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** CPU seconds of each process between begin and end. */
function cpuWindow(pids: Record<string, number>) {
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  return () => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid) - start[k]!]));
}

async function runCluster(
  ctx: BenchContext,
  dir: string,
  config: { brokers: number; ingests: number },
  s: ThroughputSizes,
): Promise<ClusterRun> {
  const label = `${config.brokers} broker node${config.brokers > 1 ? 's' : ''} + ${config.ingests} ingest workers`;
  const db = await newDatabase(ctx, `cluster${config.brokers}`);
  const stack = await startClusterStack(ctx, {
    dir: path.join(dir, `cluster-${config.brokers}x${config.ingests}`),
    ...config,
    devices: s.devices + stormDevices(ctx.quick),
    influxDatabase: db.database,
  });
  try {
    const load = await startLoad({
      mqttUrl: stack.mqttUrls[0]!,
      mqttUrls: stack.mqttUrls,
      devicesFile: stack.fleet.devicesFile,
      devices: s.devices,
      processes: 1,
      mode: 'max',
      messagesPerDevice: s.messagesPerDevice,
      window: s.window,
      batchSize: 1,
      t0: defaultT0(),
      logDir: dir,
    });
    const pids: Record<string, number> = {};
    for (const [i, b] of stack.brokers.entries()) pids[`broker node ${i + 1}`] = b.pid;
    for (const [i, w] of stack.ingests.entries()) pids[`ingest worker ${i + 1}`] = w.pid;
    Object.assign(pids, {
      redis: stack.redis.pid,
      influxd: ctx.influx.pid,
      publisher: load.children[0]!.pid,
    });
    const r0 = await stack.redisStats();
    const cpuEnd = cpuWindow(pids);
    const { goAt, done } = load.go();
    const report = await done;
    const stored = await waitForCount(() => countPoints(db, stack.fleet.pilotId), report.readingsAcked);
    const cpu = cpuEnd();
    const r1 = await stack.redisStats();
    await load.stop();
    const storm = await measureStorm(stack, {
      dir,
      from: s.devices,
      to: s.devices + stormDevices(ctx.quick),
    });
    const presence = await measurePresenceWrites(
      stack,
      stack.fleet.devices.map((d) => d.id),
      ctx.quick ? 3 : 20,
    );
    const seconds = (stored.at - goAt) / 1000;
    const n = stored.count;
    const commands = commandDeltas(r0, r1);
    const calls = commands.reduce((a, [, d]) => a + d.calls, 0);
    const usec = commands.reduce((a, [, d]) => a + d.usec, 0);
    return {
      label,
      rate: n / seconds,
      ackRate: report.acked / ((report.lastAckAt - goAt) / 1000),
      stored: n,
      acked: report.readingsAcked,
      cpu,
      seconds,
      figures: {
        'Redis commands per reading': round(calls / n),
        'Redis commands per reading, by command': commands
          .slice(0, 8)
          .map(([name, d]) => `${name} ${round(d.calls / n, 3)}`)
          .join(', '),
        'Redis bytes in per reading (total_net_input_bytes)': Math.round(
          (r1.netInputBytes - r0.netInputBytes) / n,
        ),
        'Redis bytes out per reading (total_net_output_bytes)': Math.round(
          (r1.netOutputBytes - r0.netOutputBytes) / n,
        ),
        'Redis time in commands per reading (µs, commandstats usec)': round(usec / n),
        ...storm,
        ...presence,
      },
    };
  } finally {
    await stack.close();
    await db.client.dropDatabase(db.database).catch(() => {});
  }
}

/** "x% of a core" per process, and CPU µs per stored reading over the platform's own processes. */
function cpuFigures(run: ClusterRun): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  const byRole = { 'broker nodes': 0, 'ingest workers': 0, Redis: 0 };
  for (const [name, secs] of Object.entries(run.cpu)) {
    out[`CPU: ${name}`] = `${Math.round((secs / run.seconds) * 100)}% of a core`;
    if (name.startsWith('broker')) byRole['broker nodes'] += secs;
    if (name.startsWith('ingest')) byRole['ingest workers'] += secs;
    if (name === 'redis') byRole.Redis += secs;
  }
  const perReading = (secs: number) => round((secs / run.stored) * 1e6, 1);
  const all = Object.values(byRole).reduce((a, b) => a + b, 0);
  out['CPU per reading, brokers + ingest workers + Redis (µs)'] = perReading(all);
  out['CPU per reading, split (µs)'] = Object.entries(byRole)
    .map(([role, secs]) => `${role} ${perReading(secs)}`)
    .join(', ');
  return out;
}

export const clusterPart: BenchPart = {
  id: 'cluster',
  title: TITLE,
  async run(ctx) {
    const s = sizes(ctx.quick);
    const dir = partDir(ctx, 'cluster');
    const loadAtStart = os.loadavg()[0]!;
    const dataDir = path.join(dir, 'embedded');
    const fleet = await registerFleet(dataDir, s.devices);
    const t0 = defaultT0();
    const embedded = await runPlatformLoad(ctx, {
      dir,
      dataDir,
      fleet,
      database: 'embedded',
      sizes: s,
      batchSize: 1,
      t0,
    });
    const share = Number.parseFloat(embedded.cpuShares['CPU: platform'] ?? '');
    const result: PartResult = {
      ...resultHeader(ctx, 'cluster', TITLE),
      figures: {
        'messages (= readings) per configuration': s.devices * s.messagesPerDevice,
        '(a) embedded: readings stored/s': Math.round(embedded.rate),
        ...Object.fromEntries(Object.entries(embedded.cpuShares).map(([k, v]) => [`(a) embedded, ${k}`, v])),
        '(a) embedded, CPU per reading, platform process (µs)': round((share / 100 / embedded.rate) * 1e6, 1),
      },
      goals: [],
      lossChecks: [
        lossCheck('(a) embedded (points in InfluxDB)', embedded.stored, embedded.report.readingsAcked),
      ],
      notes: [],
    };
    const configs = [
      { key: '(b)', brokers: 1, ingests: 2 },
      { key: '(c)', brokers: 3, ingests: 2 },
    ];
    for (const c of configs) {
      const run = await runCluster(ctx, dir, c, s);
      const prefix = `${c.key} ${run.label}`;
      Object.assign(result.figures, {
        [`${prefix}: readings stored/s`]: Math.round(run.rate),
        [`${prefix}: publishes acknowledged/s`]: Math.round(run.ackRate),
        [`${prefix}: ratio stored/s vs (a)`]: round(run.rate / embedded.rate),
        ...Object.fromEntries(
          Object.entries({ ...run.figures, ...cpuFigures(run) }).map(([k, v]) => [`${prefix}, ${k}`, v]),
        ),
      });
      result.lossChecks.push(lossCheck(`${prefix} (points in InfluxDB)`, run.stored, run.acked));
    }
    // Other work on the machine shows here first: the rates move with it, CPU per reading much less.
    result.figures['machine load average (1 min), at the start / at the end'] =
      `${loadAtStart.toFixed(1)} / ${os.loadavg()[0]!.toFixed(1)}`;
    const mqttBytes = payload(t0, 0, 1).length + `devices/${fleet.devices[0]!.id}/telemetry`.length;
    result.notes.push(
      `Load, the same for the three: ${s.devices} devices in one publisher process (device i connects to broker ` +
        `node i mod n), each keeping ${s.window} QoS 1 publishes in flight, ${fmt(s.messagesPerDevice)} messages ` +
        'each; the interval runs from `go` until InfluxDB holds every acknowledged reading. (a) is the e2e ' +
        "part's platform process (broker + ingest + API, SQLite journal). (b) and (c): main/broker.ts and " +
        'main/ingest.ts processes with REDIS_URL and DATABASE_URL (no API replica), a private redis-server ' +
        '(AOF, appendfsync everysec) and PostgreSQL 15 (default durability), all on this machine with the ' +
        "publisher and the run's influxd: more processes than cores, so the cluster figures show its cost per " +
        'reading here, not what it scales to on more machines.',
      `Redis figures are deltas of \`INFO commandstats\` and \`INFO stats\` over the measured interval, divided by ` +
        `the readings stored; they include the workers' stream reads and acknowledgements, mqemitter-redis' ` +
        `PUBLISH of every message (Redis passes it on only to nodes subscribed to its topic), and background metrics publishes. A reading's MQTT topic + ` +
        `payload is ${mqttBytes} bytes. Storm: after the throughput run, ${fmt(stormDevices(ctx.quick))} registered devices that never ` +
        'connected (every credential cache misses) send their CONNECT at once, spread over the nodes (one ' +
        'connector process per node, clean: false); PostgreSQL figures are `pg_stat_database` deltas of the ' +
        "platform's database read 11 s after the last CONNACK (backends report when idle), Redis figures " +
        'INFO deltas over the same window; both less the idle rate measured over the 11 s just before.',
      'Not measured here: publish -> queryable latency in cluster mode (the latency part measures it for the ' +
        "embedded process only); PostgreSQL's own CPU (its backends are not counted).",
    );
    return result;
  },
};
