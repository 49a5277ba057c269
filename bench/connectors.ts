/**
 * The connections part's clients (bench/connections.ts): connector processes holding devices of the
 * devices file (worker-connector.ts), a fleet's connect with the broker's RSS before and after, and a
 * reconnect storm with the broker's CPU time over it; the raw Aedes baseline's connections and storms.
 */
import path from 'node:path';
import mqtt from 'mqtt';
import { anonymousFleet } from './fixtures.js';
import { type Child, cpuSeconds, rssBytes, sleep, spawnChild } from './procs.js';

export interface ConnectRun {
  ok: number;
  failed: number;
  connectSecs: number;
  rssBefore: number;
  rssAfter: number;
  firstError: string | undefined;
}

export type ConnectReport = { type: string; ok: number; failed: number; firstError?: string; endAt: number };

/** What a storm measured: every device connecting at once to a restarted broker. */
export interface StormRun {
  ok: number;
  failed: number;
  /** From the storm's start to the last CONNACK. */
  connectSecs: number;
  firstError: string | undefined;
  /** The broker's CPU seconds (user + system) from the storm's start to the last CONNACK. */
  brokerCpuSecs?: number;
}

/** The storm, with the broker process's CPU time over it (steadier than a rate on a busy machine). */
export async function meteredStorm(
  connectors: Connectors,
  mqttUrl: string,
  brokerPid: number,
): Promise<StormRun> {
  const cpu0 = cpuSeconds(brokerPid);
  const storm = await connectors.storm(mqttUrl);
  return { ...storm, brokerCpuSecs: cpuSeconds(brokerPid) - cpu0 };
}

export const cpuPerConnectUs = (s: StormRun) =>
  Math.round(((s.brokerCpuSecs ?? Number.NaN) / Math.max(1, s.ok)) * 1e6);

/** Client processes holding devices `0..target` of the devices file, CONNECTs sent on command. */
export function startConnectors(
  dir: string,
  label: string,
  opts: { mqttUrl: string; devicesFile: string; target: number; processes: number },
) {
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
  const all = async (type: string, reply: string, extra: Record<string, unknown> = {}) => {
    const goAt = Date.now();
    for (const c of connectors) c.send({ type, ...extra });
    const reports = await Promise.all(connectors.map((c) => c.next<ConnectReport>(reply, 300_000)));
    return {
      ok: reports.reduce((n, r) => n + r.ok, 0),
      failed: reports.reduce((n, r) => n + r.failed, 0),
      connectSecs: (Math.max(...reports.map((r) => r.endAt)) - goAt) / 1000,
      firstError: reports.find((r) => r.firstError)?.firstError,
    };
  };
  return {
    ready: () => Promise.all(connectors.map((c) => c.next('ready'))),
    /** 100 CONNECTs in flight per process, as a fleet coming online. */
    connect: () => all('go', 'connected'),
    /** Every device of every process at once, to `mqttUrl`, after dropping the old connections. */
    async storm(mqttUrl: string): Promise<StormRun> {
      await Promise.all(connectors.map((c) => c.send({ type: 'drop' })));
      await Promise.all(connectors.map((c) => c.next('dropped', 60_000)));
      return all('storm', 'stormed', { mqttUrl });
    },
    stop: () => Promise.all(connectors.map((c) => c.stop())).then(() => {}),
  };
}
export type Connectors = ReturnType<typeof startConnectors>;

/**
 * Connects devices `0..target` to the broker at `mqttUrl` (process `brokerPid`) from `processes`
 * client processes; `settle` runs before the memory is read again. The connectors stay for a storm.
 */
export async function connectAll(
  dir: string,
  label: string,
  opts: { mqttUrl: string; brokerPid: number; devicesFile: string; target: number; processes: number },
  settle: (ok: number) => Promise<void>,
): Promise<ConnectRun & { connectors: Connectors }> {
  await sleep(1000);
  const rssBefore = rssBytes(opts.brokerPid);
  const connectors = startConnectors(dir, label, opts);
  try {
    await connectors.ready();
    const r = await connectors.connect();
    await settle(r.ok);
    // Let allocations settle before reading the broker's memory.
    await sleep(2000);
    return { ...r, rssBefore, rssAfter: rssBytes(opts.brokerPid), connectors };
  } catch (err) {
    await connectors.stop();
    throw err;
  }
}

export const perConnectionKB = (r: ConnectRun) => (r.rssAfter - r.rssBefore) / Math.max(1, r.ok) / 1024;

/**
 * The same connections to a bare Aedes (no authentication, memory persistence), kept open; `storm()`
 * restarts the broker and reconnects them all at once.
 */
export async function startRawAedes(dir: string, target: number, processes: number) {
  let starts = 0;
  const startRaw = async () => {
    const broker = spawnChild('raw aedes', 'worker-raw-broker.ts', {
      logFile: path.join(dir, `raw-broker-${++starts}.log`),
    });
    const { mqttUrl } = await broker.next<{ type: string; mqttUrl: string }>('ready');
    return { broker, mqttUrl };
  };
  let { broker, mqttUrl } = await startRaw();
  try {
    const fleet = anonymousFleet(dir, target);
    const first = await connectAll(
      dir,
      'raw',
      { mqttUrl, brokerPid: broker.pid, devicesFile: fleet.devicesFile, target, processes },
      async () => {},
    );
    return {
      first,
      async storm(): Promise<StormRun> {
        await broker.stop();
        ({ broker, mqttUrl } = await startRaw());
        return meteredStorm(first.connectors, mqttUrl, broker.pid);
      },
      async stop() {
        await first.connectors.stop();
        await broker.stop();
      },
    };
  } catch (err) {
    await broker.stop();
    throw err;
  }
}

/** A CONNECT with a wrong secret is refused. */
export async function wrongSecretRefused(mqttUrl: string, deviceId: string): Promise<boolean> {
  return mqtt
    .connectAsync(mqttUrl, { clientId: deviceId, username: deviceId, password: 'wrong', reconnectPeriod: 0 })
    .then(
      async (c) => {
        await c.endAsync(true);
        return false;
      },
      () => true,
    );
}
