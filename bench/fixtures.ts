/**
 * What the parts share: a run directory under .bench-tmp/, one private influxd per run (each part
 * uses databases of its own on it), devices registered straight into the registry file the platform
 * will open, the platform (or the broker alone) in a child process, and exact point counts.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connectInflux, type InfluxConnection } from '../core/influx/client.js';
import { type ManagedInfluxd, startManagedInfluxd } from '../core/influx/managed.js';
import { openSqliteRegistry } from '../core/registry/sqlite/index.js';
import type { RegistryStore } from '../core/registry/types.js';
import { generateSecret, hashSecret } from '../core/secrets.js';
import { type Child, spawnChild } from './procs.js';
import { BENCH_DIR } from './report.js';

export interface BenchContext {
  quick: boolean;
  /** Write a V8 CPU profile of the platform process (bench/profile-summary.ts reads it). */
  profile: boolean;
  /** Keep the run directory (logs, data) instead of removing it. */
  keep: boolean;
  /** Temp dir of this run; removed at the end. */
  dir: string;
  influx: ManagedInfluxd;
  /** The exact command line, for the results. */
  command: string;
}

export async function openContext(opts: {
  quick: boolean;
  profile: boolean;
  keep: boolean;
  command: string;
}): Promise<BenchContext> {
  const dir = path.join(BENCH_DIR, '..', '.bench-tmp', `run-${Date.now()}-${randomBytes(3).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  // Auth off: the run's own loopback server, shared by the baselines and the platform (INFLUX_URL).
  const influx = await startManagedInfluxd({ dir: path.join(dir, 'influxd'), auth: false });
  return { ...opts, dir, influx };
}

export async function closeContext(ctx: BenchContext): Promise<void> {
  await ctx.influx.stop();
  if (ctx.keep) process.stdout.write(`kept ${ctx.dir}\n`);
  else rmSync(ctx.dir, { recursive: true, force: true });
}

/** A fresh subdirectory of the run for one part (DATA_DIR, logs, device files). */
export function partDir(ctx: BenchContext, name: string): string {
  const dir = path.join(ctx.dir, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function newDatabase(ctx: BenchContext, name: string): Promise<InfluxConnection> {
  const conn = connectInflux(ctx.influx.url, `${name}_${randomBytes(3).toString('hex')}`);
  await conn.ensureDatabase();
  return conn;
}

export interface BenchDevice {
  id: string;
  password: string;
}

export interface Fleet {
  pilotId: string;
  partnerApiKey: string;
  devices: BenchDevice[];
  /** JSON file with `devices`, read by load-generator children. */
  devicesFile: string;
}

/**
 * Registers a partner, a pilot and `count` devices directly in DATA_DIR/registry.db (the file
 * platform/start.ts opens), as the API would: secrets stored only as hashes. With `store` (the cluster's
 * PostgreSQL registry), there instead; the caller closes it.
 */
export async function registerFleet(dataDir: string, count: number, store?: RegistryStore): Promise<Fleet> {
  mkdirSync(dataDir, { recursive: true });
  const registry = store ?? openSqliteRegistry(path.join(dataDir, 'registry.db'));
  try {
    const partnerApiKey = generateSecret();
    const partner = await registry.createPartner(
      { name: 'Bench', country: 'DE', kind: 'both' },
      hashSecret(partnerApiKey),
    );
    const pilot = await registry.createPilot({ name: 'bench', memberIds: [partner.id] });
    const devices: BenchDevice[] = [];
    for (let i = 0; i < count; i++) {
      const password = generateSecret();
      const device = await registry.createDevice(pilot.id, { name: `bench-${i}` }, hashSecret(password));
      devices.push({ id: device.id, password });
    }
    const devicesFile = path.join(dataDir, '..', `devices-${pilot.id}.json`);
    writeFileSync(devicesFile, JSON.stringify(devices));
    return { pilotId: pilot.id, partnerApiKey, devices, devicesFile };
  } finally {
    if (!store) await registry.close();
  }
}

/** Devices without registration, for the raw-broker baseline (it checks no credentials). */
export function anonymousFleet(dir: string, count: number): Fleet {
  const devices = Array.from({ length: count }, (_, i) => ({ id: `dev_raw${i}`, password: 'unused' }));
  const devicesFile = path.join(dir, `devices-raw-${count}.json`);
  writeFileSync(devicesFile, JSON.stringify(devices));
  return { pilotId: 'raw', partnerApiKey: '', devices, devicesFile };
}

/** Exact number of points with field `field` in `measurement` (InfluxQL count()). */
export async function countPoints(
  conn: InfluxConnection,
  measurement: string,
  field = 'temperature',
): Promise<number> {
  const q = `SELECT count("${field}") FROM "${measurement.replaceAll('"', '\\"')}"`;
  const res = await fetch(
    `${conn.url}/query?db=${encodeURIComponent(conn.database)}&q=${encodeURIComponent(q)}`,
  );
  if (!res.ok) throw new Error(`count query failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as {
    results: { series?: { values: [string, number][] }[]; error?: string }[];
  };
  const r = body.results[0];
  if (r?.error) throw new Error(`count query failed: ${r.error}`);
  return r?.series?.[0]?.values[0]?.[1] ?? 0;
}

/**
 * Polls the count until it reaches `expected` or stops growing for `stallMs`. Returns the count and
 * when it was first seen at its final value (the end of the measured interval).
 */
export async function waitForCount(
  read: () => Promise<number>,
  expected: number,
  opts: { stallMs?: number; pollMs?: number } = {},
): Promise<{ count: number; at: number }> {
  const stallMs = opts.stallMs ?? 15_000;
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const before = Date.now();
    const count = await read();
    if (count !== last) {
      last = count;
      lastChange = before;
    }
    // The reading reflects the database at the time the query started, so that is the end time.
    if (count >= expected) return { count, at: before };
    if (Date.now() - lastChange > stallMs) return { count, at: lastChange };
    // Near the end every 10 ms: the interval ends at the first poll that sees the last point, and a
    // 100 ms step put up to 100 ms (2% of a 5 s e2e run) of polling on the platform's side.
    const pollMs = opts.pollMs ?? (count > expected * 0.9 ? 10 : 500);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Where platform processes write CPU profiles (kept after the run, under .bench-tmp/). */
export const profileDir = (ctx: BenchContext) => path.join(ctx.dir, '..', 'profiles');

export interface PlatformProcess {
  child: Child;
  mqttUrl: string;
  apiUrl: string | undefined;
}

/**
 * Starts the platform (`mode: 'platform'`, platform/start.ts) or the broker alone (`mode: 'broker'`)
 * in a child process on `dataDir`, with free ports, the run's influxd and `database`.
 */
export async function startPlatformProcess(
  ctx: BenchContext,
  opts: { mode: 'platform' | 'broker'; dataDir: string; database?: string; env?: Record<string, string> },
): Promise<PlatformProcess> {
  const profiles = profileDir(ctx);
  if (ctx.profile) mkdirSync(profiles, { recursive: true });
  const child = spawnChild(`platform (${opts.mode})`, 'worker-platform.ts', {
    params: { mode: opts.mode },
    logFile: path.join(opts.dataDir, '..', `${opts.mode}.log`),
    nodeArgs: ctx.profile ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : [],
    env: {
      DATA_DIR: opts.dataDir,
      INFLUX_URL: ctx.influx.url,
      INFLUX_DATABASE: opts.database ?? 'telemetry',
      HTTP_PORT: '0',
      MQTT_PORT: '0',
      ADMIN_API_KEY: generateSecret(),
      LOG_LEVEL: 'warn',
      SIM_DEVICES: '0',
      // The benchmarks push one device far past a real device's rate; the per-device limit would
      // slow it down to that rate (it holds, never drops) and measure the limit instead of the
      // platform. bench/RESULTS.md states this value. The burst defaults to one second's worth.
      DEVICE_MAX_MESSAGES_PER_SECOND: '1000000',
      API_RATE_LIMIT_PER_MINUTE: '1000000',
      ...opts.env,
    },
  });
  const ready = await child.next<{ type: 'ready'; mqttUrl: string; apiUrl?: string }>('ready', 90_000);
  return { child, mqttUrl: ready.mqttUrl, apiUrl: ready.apiUrl };
}

/** One benchmark part: `npm run bench -- <id>` runs it alone. */
export interface BenchPart {
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<import('./report.js').PartResult>;
}
