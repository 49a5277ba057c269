/**
 * `node --import tsx bench/telemetry-query.ts [--quick]` (also `npm run bench -- telemetry-query`):
 * one day of one device's readings as 1-minute means, through the API (auth, membership, validation,
 * JSON) and as the same InfluxQL straight to InfluxDB, both with autocannon in one run against one
 * influxd; the API in a child process of its own. Prints the ratio, rewrites its RESULTS.md section.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { buildApp } from '../api/app.js';
import { createLocalLiveFeed } from '../api/live/local-feed.js';
import { telemetryRoutes } from '../api/routes/telemetry.js';
import { buildWindowQuery } from '../api/telemetry/query.js';
import { connectInflux } from '../core/influx/client.js';
import { startManagedInfluxd } from '../core/influx/managed.js';
import { silentLogger } from '../core/log.js';
import { openSqliteRegistry } from '../core/registry/sqlite/index.js';
import { generateSecret, hashSecret } from '../core/secrets.js';
import { cpuSeconds, machineCpu } from './procs.js';
import { median, printResult, resultHeader, writeResult } from './report.js';
import { DATABASE, FROM, seed, TO } from './telemetry-seed.js';

interface ServeParams {
  registryFile: string;
  influxUrl: string;
}

/** Child role: the API alone, over the parent's registry and influxd. */
async function serve(p: ServeParams) {
  const registry = openSqliteRegistry(p.registryFile);
  const app = await buildApp({
    registry,
    logger: silentLogger(),
    adminKeyHash: hashSecret(generateSecret()),
    mqttPublicUrl: 'mqtt://127.0.0.1:1883',
    rateLimitPerMinute: 100_000_000,
    plugins: [
      telemetryRoutes({ influx: connectInflux(p.influxUrl, DATABASE), liveFeed: createLocalLiveFeed() }),
    ],
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  process.send?.({ type: 'ready', url });
  process.on('message', async (m: { type?: string }) => {
    if (m?.type === 'stop') {
      await app.close();
      registry.close();
      process.exit(0);
    }
  });
}

async function run(opts: {
  url: string;
  headers?: Record<string, string>;
  seconds: number;
  connections: number;
  pids: Record<string, number>;
}) {
  const cpu0 = cpuNow(opts.pids);
  const machine0 = machineCpu();
  const r = await autocannon({
    url: opts.url,
    headers: opts.headers ?? {},
    duration: opts.seconds,
    connections: opts.connections,
  });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${opts.url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  const cpu = cpuNow(opts.pids);
  const machine1 = machineCpu();
  const n = r.requests.total;
  for (const k of Object.keys(cpu)) cpu[k] = (cpu[k]! - cpu0[k]!) / n;
  const machine = {
    busy: (machine1.busy - machine0.busy) / n,
    idle: (machine1.idle - machine0.idle) / n,
    switches: (machine1.switches - machine0.switches) / n,
  };
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: n, cpu, machine };
}

/** CPU seconds used so far by each process (this one included as "autocannon"). */
function cpuNow(pids: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) out[name] = cpuSeconds(pid);
  const self = process.cpuUsage();
  out.autocannon = (self.user + self.system) / 1e6;
  return out;
}

type Round = Awaited<ReturnType<typeof run>>;

/**
 * Requests/s over all rounds; latency percentiles and CPU per request (ms, per process) of the median
 * round (autocannon gives no raw samples).
 */
function combine(rs: Round[], seconds: number) {
  const mid = median(rs, (r) => r.rps);
  const cpuMs = Object.fromEntries(Object.entries(mid.cpu).map(([k, v]) => [k, v * 1000]));
  return {
    rps: rs.reduce((n, r) => n + r.total, 0) / (rs.length * seconds),
    p50: mid.p50,
    p99: mid.p99,
    cpuMs,
    machine: mid.machine,
  };
}

async function main() {
  const quick = process.argv.includes('--quick');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-telemetry-query-'));
  const influxd = await startManagedInfluxd({ dir: path.join(dir, 'influxd'), auth: false });
  let child: ReturnType<typeof fork> | undefined;
  try {
    const data = await seed(dir, influxd.url);
    child = fork(
      fileURLToPath(import.meta.url),
      ['--serve', JSON.stringify({ registryFile: data.registryFile, influxUrl: influxd.url })],
      { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    const started = child;
    const apiUrl = await new Promise<string>((resolve, reject) => {
      started.once('message', (m: { type?: string; url?: string }) =>
        m?.type === 'ready' ? resolve(m.url!) : reject(),
      );
      started.once('exit', (code) => reject(new Error(`API child exited with ${code}`)));
    });
    const measured = await measure(data, apiUrl, influxd.url, quick, {
      influxd: influxd.pid,
      api: child.pid!,
    });
    const result = report(measured, data.points, quick);
    printResult(result);
    writeResult(result);
  } finally {
    if (child && child.exitCode === null) {
      child.send({ type: 'stop' });
      await new Promise((r) => child!.once('exit', r));
    }
    await influxd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Alternating autocannon rounds against the API and the same InfluxQL straight to InfluxDB. */
async function measure(
  data: Awaited<ReturnType<typeof seed>>,
  apiUrl: string,
  influxUrl: string,
  quick: boolean,
  pids: Record<string, number>,
) {
  const seconds = quick ? 2 : 5;
  const rounds = quick ? 1 : 6;
  const connections = 8;
  const query = `from=${new Date(FROM).toISOString()}&to=${new Date(TO).toISOString()}&keys=temperature,humidity&every=1m&agg=mean`;
  const apiTarget = `${apiUrl}/v1/devices/${data.deviceId}/telemetry?${query}`;
  const influxql = buildWindowQuery({
    pilotId: data.pilotId,
    deviceId: data.deviceId,
    from: FROM,
    to: TO,
    keys: ['temperature', 'humidity'],
    everyMs: 60_000,
    agg: 'mean',
    fill: 'none',
    order: 'asc',
  });
  const influxTarget = `${influxUrl}/query?db=${DATABASE}&epoch=ms&q=${encodeURIComponent(influxql)}`;
  const headers = { authorization: `Bearer ${data.apiKey}` };
  // Sanity: the API answers 1,440 windows.
  const check = (await (await fetch(apiTarget, { headers })).json()) as { items: unknown[] };
  if (check.items.length !== 1440)
    throw new Error(`API returned ${check.items.length} windows, expected 1440`);
  // Warm-up both, then alternating rounds, so a load change on the machine hits both sides alike.
  // A third side for reference: the same InfluxQL asking for MessagePack, as the API asks InfluxDB.
  const packed = { accept: 'application/x-msgpack' };
  await run({ url: influxTarget, seconds: 1, connections, pids });
  await run({ url: apiTarget, headers, seconds: 1, connections, pids });
  await run({ url: influxTarget, headers: packed, seconds: 1, connections, pids });
  const directRounds: Round[] = [];
  const apiRounds: Round[] = [];
  const packedRounds: Round[] = [];
  for (let i = 0; i < rounds; i++) {
    directRounds.push(await run({ url: influxTarget, seconds, connections, pids }));
    apiRounds.push(await run({ url: apiTarget, headers, seconds, connections, pids }));
    packedRounds.push(await run({ url: influxTarget, headers: packed, seconds, connections, pids }));
  }
  const direct = combine(directRounds, seconds);
  const api = combine(apiRounds, seconds);
  const directPacked = combine(packedRounds, seconds);
  const perRound = apiRounds.map((a, i) => a.total / directRounds[i]!.total);
  return { direct, api, directPacked, perRound, influxql, seconds, rounds, connections };
}

function report(m: Awaited<ReturnType<typeof measure>>, points: number, quick: boolean) {
  const { direct, api, directPacked } = m;
  return {
    ...resultHeader(
      {
        command:
          process.env.npm_lifecycle_event === 'bench'
            ? `npm run bench -- telemetry-query${quick ? ' --quick' : ''}`
            : `node --import tsx bench/telemetry-query.ts${quick ? ' --quick' : ''}`,
        quick,
      },
      'telemetry-query',
      'Telemetry query: one day of 1-minute windows, API vs InfluxDB',
    ),
    figures: {
      'readings in the day (2 keys, every 10 s)': points,
      'windows per response': 1440,
      'InfluxDB direct: requests/s': Number(direct.rps.toFixed(1)),
      'InfluxDB direct: latency p50 / p99 (ms)': `${direct.p50} / ${direct.p99}`,
      'API: requests/s': Number(api.rps.toFixed(1)),
      'API: latency p50 / p99 (ms)': `${api.p50} / ${api.p99}`,
      'InfluxDB direct: CPU per request (ms): influxd / autocannon': cpuLine(direct.cpuMs, [
        'influxd',
        'autocannon',
      ]),
      'API: CPU per request (ms): influxd / API / autocannon': cpuLine(api.cpuMs, [
        'influxd',
        'api',
        'autocannon',
      ]),
      'machine per request, InfluxDB direct: busy / idle core-ms, context switches': machineLine(
        direct.machine,
      ),
      'machine per request, API: busy / idle core-ms, context switches': machineLine(api.machine),
      'API / InfluxDB throughput ratio': Number((api.rps / direct.rps).toFixed(2)),
      'API / InfluxDB, each round': m.perRound.map((r) => r.toFixed(2)).join(' / '),
      'for reference, InfluxDB direct asked for MessagePack: requests/s': Number(directPacked.rps.toFixed(1)),
      'for reference, InfluxDB direct asked for MessagePack: CPU per request (ms): influxd / autocannon':
        cpuLine(directPacked.cpuMs, ['influxd', 'autocannon']),
      'for reference, API / InfluxDB direct asked for MessagePack': Number(
        (api.rps / directPacked.rps).toFixed(2),
      ),
      'machine load average (1 min) at the end': Number(os.loadavg()[0]!.toFixed(2)),
    },
    goals: [
      {
        what: 'API requests/s vs the same InfluxQL straight to InfluxDB',
        target: '>= 0.85',
        actual: (api.rps / direct.rps).toFixed(2),
        met: api.rps / direct.rps >= 0.85,
      },
    ],
    lossChecks: [],
    notes: [
      `Load: autocannon, ${m.connections} connections, ${m.rounds} alternating rounds of ${m.seconds} s per side, after a 1 s warm-up; latency of the median round. Same InfluxQL both ways: \`${m.influxql}\`. ` +
        'The API adds bearer-key auth, the membership check (SQLite), parameter validation, the InfluxDB round trip and zod-checked JSON ' +
        'serialisation of 1,440 items with RFC 3339 times; it runs in its own process, InfluxDB in another, autocannon in a third, on the same cores. ' +
        "The goal's baseline is the InfluxQL as a client sends it, answered in JSON, InfluxDB's default. The API asks InfluxDB for MessagePack, " +
        'which costs influxd less CPU; the third side sends the same InfluxQL asking for MessagePack too, for reference. ' +
        '"Machine per request" is the whole machine (/proc/stat) over the median round: core-milliseconds busy (every process, ' +
        'the kernel included) and idle, and context switches; idle is time both cores had nothing to run while requests waited on each other.',
    ],
  };
}

const machineLine = (m: Round['machine']) =>
  `${(m.busy * 1000).toFixed(2)} / ${(m.idle * 1000).toFixed(2)}, ${m.switches.toFixed(0)}`;

const cpuLine = (cpuMs: Record<string, number>, names: string[]) =>
  names.map((n) => (cpuMs[n] ?? Number.NaN).toFixed(2)).join(' / ');

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  await serve(JSON.parse(process.argv[serveAt + 1] ?? '{}') as ServeParams);
} else {
  await main();
}
