/**
 * Part (d): connections. 10,000 devices, registered in the registry with their own secrets, connect
 * to one broker process (the platform's broker alone) from several client processes and stay
 * connected. Reports the connect rate and the broker's RSS per connection (goal: under 20 KB).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { openSqliteRegistry } from '../core/registry/sqlite/index.js';
import { anonymousFleet, type BenchPart, partDir, registerFleet, startPlatformProcess } from './fixtures.js';
import { type Child, rssBytes, sleep, spawnChild } from './procs.js';
import { fmt, lossCheck, type PartResult, resultHeader } from './report.js';

const TITLE = 'Connections: authenticated devices on one broker process';

/** The soft limit on open files of this process (children inherit it). */
function openFilesLimit(): number {
  const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return !m || m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
}

function ephemeralPorts(): number {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    return hi! - lo! + 1;
  } catch {
    return Number.NaN;
  }
}

/** Devices the broker has marked online in the registry (it batches presence writes). */
async function onlineCount(registryFile: string, pilotId: string): Promise<number> {
  const registry = openSqliteRegistry(registryFile);
  try {
    let online = 0;
    let cursor: string | undefined;
    do {
      const page = await registry.listDevices(pilotId, { limit: 1000, cursor });
      online += page.items.filter((d) => d.status.online).length;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return online;
  } finally {
    registry.close();
  }
}

interface ConnectRun {
  ok: number;
  failed: number;
  connectSecs: number;
  rssBefore: number;
  rssAfter: number;
  firstError: string | undefined;
}

/**
 * Connects devices `0..target` of the devices file to the broker at `mqttUrl` (process `brokerPid`)
 * from `processes` client processes; `settle` runs before the memory is read again.
 */
async function connectAll(
  dir: string,
  label: string,
  opts: { mqttUrl: string; brokerPid: number; devicesFile: string; target: number; processes: number },
  settle: (ok: number) => Promise<void>,
): Promise<ConnectRun & { stop(): Promise<void> }> {
  await sleep(1000);
  const rssBefore = rssBytes(opts.brokerPid);
  const connectors: Child[] = [];
  const per = Math.ceil(opts.target / opts.processes);
  for (let i = 0; i < opts.processes; i++) {
    connectors.push(
      spawnChild(`connector ${i}`, 'worker-connector.ts', {
        logFile: path.join(dir, `${label}-connector-${i}.log`),
        params: {
          mqttUrl: opts.mqttUrl,
          devicesFile: opts.devicesFile,
          from: i * per,
          to: Math.min(opts.target, (i + 1) * per),
          concurrency: 100,
        },
      }),
    );
  }
  const stop = () => Promise.all(connectors.map((c) => c.stop())).then(() => {});
  try {
    await Promise.all(connectors.map((c) => c.next('ready')));
    const goAt = Date.now();
    for (const c of connectors) c.send({ type: 'go' });
    const reports = await Promise.all(
      connectors.map((c) =>
        c.next<{ type: string; ok: number; failed: number; firstError?: string; endAt: number }>(
          'connected',
          300_000,
        ),
      ),
    );
    const ok = reports.reduce((s, r) => s + r.ok, 0);
    await settle(ok);
    // Let allocations settle before reading the broker's memory.
    await sleep(2000);
    return {
      ok,
      failed: reports.reduce((s, r) => s + r.failed, 0),
      connectSecs: (Math.max(...reports.map((r) => r.endAt)) - goAt) / 1000,
      rssBefore,
      rssAfter: rssBytes(opts.brokerPid),
      firstError: reports.find((r) => r.firstError)?.firstError,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

const perConnectionKB = (r: ConnectRun) => (r.rssAfter - r.rssBefore) / Math.max(1, r.ok) / 1024;
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** The same connections to a bare Aedes (no authentication, memory persistence), for comparison. */
async function rawAedes(dir: string, target: number, processes: number): Promise<ConnectRun> {
  const broker = spawnChild('raw aedes', 'worker-raw-broker.ts', {
    logFile: path.join(dir, 'raw-broker.log'),
  });
  try {
    const { mqttUrl } = await broker.next<{ type: string; mqttUrl: string }>('ready');
    const fleet = anonymousFleet(dir, target);
    const run = await connectAll(
      dir,
      'raw',
      { mqttUrl, brokerPid: broker.pid, devicesFile: fleet.devicesFile, target, processes },
      async () => {},
    );
    await run.stop();
    return run;
  } finally {
    await broker.stop();
  }
}

export const connectionsPart: BenchPart = {
  id: 'connections',
  title: TITLE,
  async run(ctx) {
    const target = ctx.quick ? 1000 : 10_000;
    const processes = ctx.quick ? 1 : 2;
    const limit = openFilesLimit();
    if (limit < target + 1000) {
      throw new Error(
        `open files limit is ${limit}; ${target} connections need more: run \`ulimit -n ${target * 2}\` first`,
      );
    }
    const ports = ephemeralPorts();
    if (ports < target + 1000) {
      throw new Error(
        `only ${ports} ephemeral ports (net.ipv4.ip_local_port_range); ${target} connections need more`,
      );
    }
    const dir = partDir(ctx, 'connections');
    const dataDir = path.join(dir, 'data');
    const registerStart = performance.now();
    const fleet = await registerFleet(dataDir, target);
    const registerSecs = (performance.now() - registerStart) / 1000;

    const raw = await rawAedes(dir, target, processes);

    const broker = await startPlatformProcess(ctx, { mode: 'broker', dataDir });
    try {
      // A wrong secret must be refused, or this would measure an open door (CONNACK 4 or 5).
      const refused = await mqtt
        .connectAsync(broker.mqttUrl, {
          clientId: fleet.devices[0]!.id,
          username: fleet.devices[0]!.id,
          password: 'wrong',
          reconnectPeriod: 0,
        })
        .then(
          async (c) => {
            await c.endAsync(true);
            return false;
          },
          () => true,
        );
      let online = 0;
      const run = await broker.child.whileAlive(
        connectAll(
          dir,
          'platform',
          {
            mqttUrl: broker.mqttUrl,
            brokerPid: broker.child.pid,
            devicesFile: fleet.devicesFile,
            target,
            processes,
          },
          // The broker writes presence in batches: wait until the registry lists every device online.
          async (ok) => {
            for (let i = 0; i < 20 && online < ok; i++) {
              await sleep(500);
              online = await onlineCount(path.join(dataDir, 'registry.db'), fleet.pilotId);
            }
          },
        ),
      );
      await run.stop();
      const perConnection = perConnectionKB(run);
      const result: PartResult = {
        ...resultHeader(ctx, 'connections', TITLE),
        figures: {
          'devices registered (registry, direct)': target,
          'registration time (s)': Math.round(registerSecs * 10) / 10,
          'client processes': processes,
          'platform broker: connected': run.ok,
          'platform broker: connect failures': run.failed,
          'platform broker: connect time (s)': Math.round(run.connectSecs * 10) / 10,
          'platform broker: connects/s': Math.round(run.ok / run.connectSecs),
          'platform broker: RSS before (MiB)': mib(run.rssBefore),
          'platform broker: RSS with all connected (MiB)': mib(run.rssAfter),
          'platform broker: RSS per connection (KB)': Math.round(perConnection * 10) / 10,
          'platform broker: wrong secret refused': refused ? 'yes' : '**NO**',
          'raw Aedes: connected': raw.ok,
          'raw Aedes: connects/s': Math.round(raw.ok / raw.connectSecs),
          'raw Aedes: RSS per connection (KB)': Math.round(perConnectionKB(raw) * 10) / 10,
        },
        goals: [
          {
            what: 'broker RSS per connected device',
            target: '< 20 KB',
            actual: `${fmt(perConnection, 1)} KB`,
            met: perConnection < 20 && run.ok === target,
          },
        ],
        lossChecks: [
          lossCheck('platform broker: devices', run.ok, target, {
            storedWord: 'connected',
            expectedWord: 'registered',
          }),
          lossCheck('platform broker: presence', online, run.ok, {
            storedWord: 'online in the registry',
            expectedWord: 'connected',
          }),
        ],
        notes: [
          'Devices connect with their own id and secret (MQTT 3.1.1, clean: false, keepalive 600 s), ' +
            `100 CONNECTs in flight per client process, ${processes} client process(es). The broker runs alone ` +
            '(broker/index.ts, level persistence) in its own process. RSS from /proc/<pid>/status of the broker ' +
            'process, 1 s before the first connection and 2 s after the last; the difference divided by the ' +
            'connections. Raw Aedes: the same number of connections to a bare `Aedes.createBroker()` ' +
            '(no authentication, memory persistence), for comparison.',
          ...(run.firstError ? [`First connect error: ${run.firstError}`] : []),
        ],
      };
      return result;
    } finally {
      await broker.child.stop(30_000);
    }
  },
};
