/**
 * Part (d): connections. 10,000 devices, registered in the registry with their own secrets, connect
 * to one broker process (the platform's broker alone) from several client processes and stay
 * connected. Reports the connect rate and the broker's RSS per connection (goal: under 20 KB).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { openSqliteRegistry } from '../core/registry/sqlite/index.js';
import {
  type Connectors,
  type ConnectRun,
  connectAll,
  cpuPerConnectUs,
  meteredStorm,
  perConnectionKB,
  type StormRun,
} from './connectors.js';
import { anonymousFleet, type BenchPart, partDir, registerFleet, startPlatformProcess } from './fixtures.js';
import { sleep, spawnChild } from './procs.js';
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

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** The same connections to a bare Aedes (no authentication, memory persistence), then the same storm. */
async function rawAedes(
  dir: string,
  target: number,
  processes: number,
): Promise<{ first: ConnectRun; storm: StormRun }> {
  const startRaw = async (n: number) => {
    const broker = spawnChild('raw aedes', 'worker-raw-broker.ts', {
      logFile: path.join(dir, `raw-broker-${n}.log`),
    });
    const { mqttUrl } = await broker.next<{ type: string; mqttUrl: string }>('ready');
    return { broker, mqttUrl };
  };
  let { broker, mqttUrl } = await startRaw(1);
  let connectors: Connectors | undefined;
  try {
    const fleet = anonymousFleet(dir, target);
    const first = await connectAll(
      dir,
      'raw',
      { mqttUrl, brokerPid: broker.pid, devicesFile: fleet.devicesFile, target, processes },
      async () => {},
    );
    connectors = first.connectors;
    await broker.stop();
    ({ broker, mqttUrl } = await startRaw(2));
    const storm = await meteredStorm(connectors, mqttUrl, broker.pid);
    return { first, storm };
  } finally {
    await connectors?.stop();
    await broker.stop();
  }
}

/** Polls the registry until every connected device is online (or `timeoutMs`); the seconds it took from `since`. */
async function untilOnline(registryFile: string, pilotId: string, connected: number, since: number) {
  let online = 0;
  const deadline = Date.now() + 20_000;
  while (online < connected && Date.now() < deadline) {
    await sleep(100);
    online = await onlineCount(registryFile, pilotId);
  }
  return { online, secs: (Date.now() - since) / 1000 };
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

    const registryFile = path.join(dataDir, 'registry.db');
    let broker = await startPlatformProcess(ctx, { mode: 'broker', dataDir });
    let connectors: Connectors | undefined;
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
              online = await onlineCount(registryFile, fleet.pilotId);
            }
          },
        ),
      );
      connectors = run.connectors;
      // The storm: the broker restarts (its caches are cold) and every device reconnects at once.
      await broker.child.stop(30_000);
      broker = await startPlatformProcess(ctx, { mode: 'broker', dataDir });
      const stormAt = Date.now();
      const storm = await broker.child.whileAlive(meteredStorm(connectors, broker.mqttUrl, broker.child.pid));
      const allOnline = await untilOnline(registryFile, fleet.pilotId, storm.ok, stormAt);
      const stormRate = storm.ok / storm.connectSecs;
      const rawStormRate = raw.storm.ok / raw.storm.connectSecs;
      const stormRatio = stormRate / rawStormRate;
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
          'raw Aedes: connected': raw.first.ok,
          'raw Aedes: connects/s': Math.round(raw.first.ok / raw.first.connectSecs),
          'raw Aedes: RSS per connection (KB)': Math.round(perConnectionKB(raw.first) * 10) / 10,
          'storm, platform: reconnected': storm.ok,
          'storm, platform: failed connects': storm.failed,
          'storm, platform: time to all connected (s)': Math.round(storm.connectSecs * 10) / 10,
          'storm, platform: connects/s': Math.round(stormRate),
          'storm, platform: broker CPU per connect (µs)': cpuPerConnectUs(storm),
          'storm, platform: time to all online in the registry (s)': Math.round(allOnline.secs * 10) / 10,
          'storm, raw Aedes: reconnected': raw.storm.ok,
          'storm, raw Aedes: failed connects': raw.storm.failed,
          'storm, raw Aedes: connects/s': Math.round(rawStormRate),
          'storm, raw Aedes: broker CPU per connect (µs)': cpuPerConnectUs(raw.storm),
          'storm: ratio platform / raw Aedes': Math.round(stormRatio * 100) / 100,
        },
        goals: [
          {
            what: 'broker RSS per connected device',
            target: '< 20 KB',
            actual: `${fmt(perConnection, 1)} KB`,
            met: perConnection < 20 && run.ok === target,
          },
          {
            what: 'reconnect storm: connects/s vs raw Aedes, no failed connect',
            target: '>= 0.8',
            actual: `${stormRatio.toFixed(2)}, ${storm.failed} failed`,
            met: stormRatio >= 0.8 && storm.failed === 0 && storm.ok === target,
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
          lossCheck('storm: devices', storm.ok, target, {
            storedWord: 'reconnected',
            expectedWord: 'registered',
          }),
          lossCheck('storm: presence', allOnline.online, storm.ok, {
            storedWord: 'online in the registry',
            expectedWord: 'reconnected',
          }),
        ],
        notes: [
          'Devices connect with their own id and secret (MQTT 3.1.1, clean: false, keepalive 600 s), ' +
            `100 CONNECTs in flight per client process, ${processes} client process(es). The broker runs alone ` +
            '(broker/index.ts, level persistence) in its own process. RSS from /proc/<pid>/status of the broker ' +
            'process, 1 s before the first connection and 2 s after the last; the difference divided by the ' +
            'connections. Raw Aedes: the same number of connections to a bare `Aedes.createBroker()` ' +
            '(no authentication, memory persistence), for comparison.',
          'Reconnect storm: with every device connected, the broker process is stopped and started again on the ' +
            'same DATA_DIR (cold caches, persistent sessions on disk), and every device sends its CONNECT at once ' +
            `(${fmt(target)} in flight). Time to all online: from the storm's start until the registry lists every ` +
            'reconnected device online (presence is written in batches). Raw Aedes: the same storm to a restarted bare Aedes.',
          ...(run.firstError ? [`First connect error: ${run.firstError}`] : []),
          ...(storm.firstError ? [`First storm connect error: ${storm.firstError}`] : []),
        ],
      };
      return result;
    } finally {
      await connectors?.stop();
      await broker.child.stop(30_000);
    }
  },
};
