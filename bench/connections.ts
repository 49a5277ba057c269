/**
 * Part (d): connections. 10,000 devices, registered in the registry with their own secrets, connect
 * to one broker process (the platform's broker alone) from several client processes and stay
 * connected. Reports the connect rate and the broker's RSS per connection (goal: under 20 KB).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { openSqliteRegistry } from '../core/registry/sqlite/index.js';
import { roundsFor } from './compare.js';
import {
  type Connectors,
  connectAll,
  cpuPerConnectUs,
  meteredStorm,
  perConnectionKB,
  type StormRun,
  startRawAedes,
  wrongSecretRefused,
} from './connectors.js';
import {
  type BenchPart,
  type PlatformProcess,
  partDir,
  registerFleet,
  startPlatformProcess,
} from './fixtures.js';
import { sleep } from './procs.js';
import { fmt, lossCheck, median, type PartResult, resultHeader } from './report.js';

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

    const rounds = roundsFor(ctx);
    const raw = await startRawAedes(dir, target, processes);
    const registryFile = path.join(dataDir, 'registry.db');
    let broker: PlatformProcess | undefined;
    let connectors: Connectors | undefined;
    try {
      broker = await startPlatformProcess(ctx, { mode: 'broker', dataDir });
      const refused = await wrongSecretRefused(broker.mqttUrl, fleet.devices[0]!.id);
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
          async (ok) => {
            for (let i = 0; i < 20 && online < ok; i++) {
              await sleep(500);
              online = await onlineCount(registryFile, fleet.pilotId);
            }
          },
        ),
      );
      connectors = run.connectors;
      // Alternating storms: raw Aedes restarted, then the platform's broker restarted on its DATA_DIR.
      const storms: { raw: StormRun; platform: StormRun; allOnline: { online: number; secs: number } }[] = [];
      for (let round = 0; round < rounds; round++) {
        const rawStorm = await raw.storm();
        await broker.child.stop(30_000);
        broker = await startPlatformProcess(ctx, { mode: 'broker', dataDir });
        const stormAt = Date.now();
        const platform = await broker.child.whileAlive(
          meteredStorm(connectors, broker.mqttUrl, broker.child.pid),
        );
        const allOnline = await untilOnline(registryFile, fleet.pilotId, platform.ok, stormAt);
        storms.push({ raw: rawStorm, platform, allOnline });
      }
      const rate = (st: StormRun) => st.ok / st.connectSecs;
      const ratioOf = (r: (typeof storms)[number]) => rate(r.platform) / rate(r.raw);
      const mid = median(storms, ratioOf);
      const { platform: storm, allOnline } = mid;
      const stormRatio = ratioOf(mid);
      const failedStorms = storms.reduce((n, r) => n + r.platform.failed, 0);
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
          'storm, platform: failed connects (all rounds)': failedStorms,
          'storm, platform: time to all connected (s)': Math.round(storm.connectSecs * 10) / 10,
          'storm, platform: connects/s': Math.round(rate(storm)),
          'storm, platform: broker CPU per connect (µs)': cpuPerConnectUs(storm),
          'storm, platform: time to all online in the registry (s)': Math.round(allOnline.secs * 10) / 10,
          'storm, raw Aedes: reconnected': mid.raw.ok,
          'storm, raw Aedes: failed connects': mid.raw.failed,
          'storm, raw Aedes: connects/s': Math.round(rate(mid.raw)),
          'storm, raw Aedes: broker CPU per connect (µs)': cpuPerConnectUs(mid.raw),
          'storm: ratio platform / raw Aedes': Math.round(stormRatio * 100) / 100,
          ...(rounds > 1
            ? {
                'storm: ratio per round (broker CPU per connect, µs: raw Aedes -> platform)': storms
                  .map(
                    (r) =>
                      `${ratioOf(r).toFixed(2)} (${cpuPerConnectUs(r.raw)} -> ${cpuPerConnectUs(r.platform)})`,
                  )
                  .join('; '),
              }
            : {}),
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
            actual: `${stormRatio.toFixed(2)}, ${failedStorms} failed`,
            met: stormRatio >= 0.8 && failedStorms === 0 && storms.every((r) => r.platform.ok === target),
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
          ...storms.flatMap((r, i) => {
            const which = rounds > 1 ? `storm ${i + 1}` : 'storm';
            return [
              lossCheck(`${which}: devices`, r.platform.ok, target, {
                storedWord: 'reconnected',
                expectedWord: 'registered',
              }),
              lossCheck(`${which}: presence`, r.allOnline.online, r.platform.ok, {
                storedWord: 'online in the registry',
                expectedWord: 'reconnected',
              }),
            ];
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
            'reconnected device online (presence is written in batches). Raw Aedes: the same storm to a restarted bare Aedes. ' +
            (rounds > 1
              ? `${rounds} storms per side, alternating (raw Aedes, then the platform); the storm figures are the median ` +
                "round's by ratio, and no storm of any round may fail a connect."
              : ''),
          ...(run.firstError ? [`First connect error: ${run.firstError}`] : []),
          ...(storm.firstError ? [`First storm connect error: ${storm.firstError}`] : []),
        ],
      };
      return result;
    } finally {
      await connectors?.stop();
      await broker?.child.stop(30_000);
      await raw.stop();
    }
  },
};
