/**
 * The platform under load, as the e2e, batched and latency parts run it: the platform in a child
 * process on a database of its own, publisher children driving it over MQTT, and the CPU each
 * process uses meanwhile. `runPlatformLoad` is a whole throughput run: it ends when InfluxDB holds
 * every acknowledged reading.
 */
import type { InfluxConnection } from '../core/influx/client.js';
import {
  type BenchContext,
  countPoints,
  type Fleet,
  newDatabase,
  type PlatformProcess,
  profileDir,
  startPlatformProcess,
  waitForCount,
} from './fixtures.js';
import { type LoadReport, type RunningLoad, startFullSpeedLoad, type ThroughputSizes } from './load.js';
import { CpuMeter } from './procs.js';
import { newestProfile, summariseProfile } from './profile-summary.js';

/**
 * Where a run's readings go when not to the run's influxd (batched-v2: VictoriaMetrics through the
 * v2 backend): the platform's environment for it, how to count a measurement's points there, and
 * the server's process for the CPU figures.
 */
export interface StoreTarget {
  env: Record<string, string>;
  count(measurement: string): Promise<number>;
  cpu: Record<string, number>;
}

/**
 * Runs `fn` with the platform started on `dataDir` and a fresh database named after `database`;
 * stops the platform and drops the database afterwards, whatever `fn` did.
 */
export async function withPlatform<T>(
  ctx: BenchContext,
  opts: { dataDir: string; database: string },
  fn: (p: PlatformProcess, db: InfluxConnection) => Promise<T>,
): Promise<T> {
  const db = await newDatabase(ctx, opts.database);
  const p = await startPlatformProcess(ctx, {
    mode: 'platform',
    dataDir: opts.dataDir,
    database: db.database,
  });
  try {
    return await fn(p, db);
  } finally {
    await p.child.stop(30_000);
    await db.client.dropDatabase(db.database).catch(() => {});
  }
}

/** Measures the platform, influxd and the (single) publisher process, then `more`. */
export function platformCpuMeter(
  ctx: BenchContext,
  p: PlatformProcess,
  load: RunningLoad,
  more: Record<string, number> = {},
): CpuMeter {
  return new CpuMeter({
    platform: p.child.pid,
    influxd: ctx.influx.pid,
    publisher: load.children[0]!.pid,
    ...more,
  });
}

export interface PlatformLoadRun {
  goAt: number;
  report: LoadReport;
  /** Points in InfluxDB at the end. */
  stored: number;
  /** Readings stored per second, from `go` until InfluxDB held them. */
  rate: number;
  cpuShares: Record<string, string>;
}

/** Every device of `fleet` publishes at full speed to the platform; done when InfluxDB holds every acknowledged reading. */
export function runPlatformLoad(
  ctx: BenchContext,
  opts: {
    dir: string;
    dataDir: string;
    fleet: Fleet;
    database: string;
    sizes: ThroughputSizes;
    batchSize: number;
    t0: number;
    store?: StoreTarget;
  },
): Promise<PlatformLoadRun> {
  const { dir, fleet } = opts;
  if (opts.store) return storeLoad(ctx, { ...opts, store: opts.store });
  return withPlatform(ctx, opts, async (p, db) => {
    const load = await startFullSpeedLoad({
      mqttUrl: p.mqttUrl,
      fleet,
      sizes: opts.sizes,
      batchSize: opts.batchSize,
      t0: opts.t0,
      logDir: dir,
    });
    const cpu = platformCpuMeter(ctx, p, load);
    cpu.begin();
    const { goAt, done } = load.go();
    // A crash of the platform ends the part at once instead of leaving publishers waiting for acks.
    const report = await p.child.whileAlive(done);
    const stored = await p.child.whileAlive(
      waitForCount(() => countPoints(db, fleet.pilotId), report.readingsAcked),
    );
    const cpuShares = cpu.end();
    await load.stop();
    const rate = stored.count / ((stored.at - goAt) / 1000);
    return { goAt, report, stored: stored.count, rate, cpuShares };
  });
}

/** runPlatformLoad into another store (`opts.store`) instead of the run's influxd. */
async function storeLoad(
  ctx: BenchContext,
  opts: Parameters<typeof runPlatformLoad>[1] & { store: StoreTarget },
): Promise<PlatformLoadRun> {
  const p = await startPlatformProcess(ctx, { mode: 'platform', dataDir: opts.dataDir, env: opts.store.env });
  try {
    const load = await startFullSpeedLoad({
      mqttUrl: p.mqttUrl,
      fleet: opts.fleet,
      sizes: opts.sizes,
      batchSize: opts.batchSize,
      t0: opts.t0,
      logDir: opts.dir,
    });
    const cpu = new CpuMeter({ platform: p.child.pid, ...opts.store.cpu, publisher: load.children[0]!.pid });
    cpu.begin();
    const { goAt, done } = load.go();
    const report = await p.child.whileAlive(done);
    const stored = await p.child.whileAlive(
      waitForCount(() => opts.store.count(opts.fleet.pilotId), report.readingsAcked),
    );
    const cpuShares = cpu.end();
    await load.stop();
    return {
      goAt,
      report,
      stored: stored.count,
      rate: stored.count / ((stored.at - goAt) / 1000),
      cpuShares,
    };
  } finally {
    await p.child.stop(30_000);
  }
}

/** With --profile: "where the time goes" of the platform process started after `since` (it must have exited). */
export function profileNotes(ctx: BenchContext, since: number): string[] {
  if (!ctx.profile) return [];
  const file = newestProfile(profileDir(ctx), since);
  return file ? [summariseProfile(file)] : [];
}
