/**
 * Driving a load from the parent: start the publisher children, wait until every device is
 * connected, say `go` (the start of the measured interval), and collect their `done` reports.
 */
import path from 'node:path';
import type { Fleet } from './fixtures.js';
import { type Child, spawnChild } from './procs.js';

/** What one publisher child (worker-publisher.ts) is given: its share `from..to` of the devices file. */
export interface PublisherParams {
  mqttUrl: string;
  /** Several broker nodes (cluster): device i of the file connects to `mqttUrls[i mod n]`. */
  mqttUrls?: string[];
  devicesFile: string;
  from: number;
  to: number;
  mode: 'max' | 'rate';
  messagesPerDevice?: number;
  /** Messages per second across this child's devices (mode `rate`). */
  rate?: number;
  durationMs?: number;
  window: number;
  batchSize: number;
  t0: number;
}

export interface LoadSpec extends Omit<PublisherParams, 'from' | 'to'> {
  devices: number;
  /** Publisher processes; devices are split between them. */
  processes: number;
  /** Messages per second across all processes (mode `rate`). */
  rate?: number;
  /** Directory for the children's logs. */
  logDir: string;
}

export interface LoadReport {
  sent: number;
  acked: number;
  failed: number;
  skipped: number;
  readingsAcked: number;
  firstAt: number;
  lastAckAt: number;
}

export interface RunningLoad {
  children: Child[];
  /** Resolves with the summed reports once every publisher is done. */
  go(): { goAt: number; done: Promise<LoadReport> };
  stop(): Promise<void>;
}

export async function startLoad(spec: LoadSpec): Promise<RunningLoad> {
  const per = Math.ceil(spec.devices / spec.processes);
  const children: Child[] = [];
  for (let i = 0; i < spec.processes; i++) {
    const from = i * per;
    const to = Math.min(spec.devices, from + per);
    if (from >= to) break;
    children.push(
      spawnChild(`publisher ${i}`, 'worker-publisher.ts', {
        logFile: path.join(spec.logDir, `publisher-${i}.log`),
        params: {
          mqttUrl: spec.mqttUrl,
          mqttUrls: spec.mqttUrls,
          devicesFile: spec.devicesFile,
          from,
          to,
          mode: spec.mode,
          messagesPerDevice: spec.messagesPerDevice,
          rate: spec.rate === undefined ? undefined : (spec.rate * (to - from)) / spec.devices,
          durationMs: spec.durationMs,
          window: spec.window,
          batchSize: spec.batchSize,
          t0: spec.t0,
        } satisfies PublisherParams,
      }),
    );
  }
  await Promise.all(children.map((c) => c.next('connected', 120_000)));
  return {
    children,
    go() {
      const goAt = Date.now();
      for (const c of children) c.send({ type: 'go' });
      const timeout = (spec.durationMs ?? 0) + 600_000;
      const done = Promise.all(
        children.map((c) => c.next<LoadReport & { type: string }>('done', timeout)),
      ).then((reports) => ({
        sent: sum(reports.map((r) => r.sent)),
        acked: sum(reports.map((r) => r.acked)),
        failed: sum(reports.map((r) => r.failed)),
        skipped: sum(reports.map((r) => r.skipped)),
        readingsAcked: sum(reports.map((r) => r.readingsAcked)),
        firstAt: Math.min(...reports.map((r) => r.firstAt)),
        lastAckAt: Math.max(...reports.map((r) => r.lastAckAt)),
      }));
      return { goAt, done };
    },
    async stop() {
      await Promise.all(children.map((c) => c.stop()));
    },
  };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** The load of a throughput part: devices, messages each, and QoS 1 publishes in flight per device. */
export interface ThroughputSizes {
  devices: number;
  messagesPerDevice: number;
  window: number;
}

/**
 * The load of the throughput parts: every device of `fleet` in one publisher process, each keeping
 * `sizes.window` QoS 1 publishes in flight until it has sent `sizes.messagesPerDevice`.
 */
export function startFullSpeedLoad(opts: {
  mqttUrl: string;
  fleet: Fleet;
  sizes: ThroughputSizes;
  batchSize: number;
  t0: number;
  logDir: string;
}): Promise<RunningLoad> {
  return startLoad({
    mqttUrl: opts.mqttUrl,
    devicesFile: opts.fleet.devicesFile,
    devices: opts.fleet.devices.length,
    processes: 1,
    mode: 'max',
    messagesPerDevice: opts.sizes.messagesPerDevice,
    window: opts.sizes.window,
    batchSize: opts.batchSize,
    t0: opts.t0,
    logDir: opts.logDir,
  });
}
