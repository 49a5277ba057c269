/**
 * Part (c): latency from publish to queryable through the API, under a steady background load of
 * 5,000 readings/s (one reading per message, QoS 1) from other devices of the same pilot.
 * Goal (issue 18): p99 under 100 ms.
 */
import path from 'node:path';
import { type BenchPart, countPoints, partDir, registerFleet, waitForCount } from './fixtures.js';
import { startLoad } from './load.js';
import { platformCpuMeter, profileNotes, withPlatform } from './platform-run.js';
import { spawnChild } from './procs.js';
import { defaultT0 } from './readings.js';
import { fmt, lossCheck, type PartResult, resultHeader } from './report.js';

const TITLE = 'Latency, publish to queryable through the API, at 5,000 readings/s';
const RATE = 5000;

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export const latencyPart: BenchPart = {
  id: 'latency',
  title: TITLE,
  async run(ctx) {
    const durationMs = ctx.quick ? 5000 : 30_000;
    const devices = 50;
    const dir = partDir(ctx, 'latency');
    const dataDir = path.join(dir, 'data');
    // The last device is the probe; the others carry the background load.
    const fleet = await registerFleet(dataDir, devices + 1);
    const probeDevice = fleet.devices[devices]!;
    const since = Date.now();
    return withPlatform(ctx, { dataDir, database: 'latency' }, async (p, db) => {
      const load = await startLoad({
        mqttUrl: p.mqttUrl,
        devicesFile: fleet.devicesFile,
        devices,
        processes: 1,
        mode: 'rate',
        rate: RATE,
        durationMs,
        // 20 in flight per device (1,000 in all) is twice what 5,000/s needs at 100 ms of latency;
        // a platform that cannot keep up shows as skipped messages, not as an ever-growing queue.
        window: 20,
        batchSize: 1,
        t0: defaultT0(),
        logDir: dir,
      });
      const probe = spawnChild('probe', 'worker-probe.ts', {
        logFile: path.join(dir, 'probe.log'),
        params: {
          mqttUrl: p.mqttUrl,
          apiUrl: p.apiUrl,
          apiKey: fleet.partnerApiKey,
          device: probeDevice,
          // Probes start after a second of background load and stop before it does.
          durationMs: durationMs - (ctx.quick ? 1500 : 3000),
          intervalMs: 50,
          pollMs: 5,
          timeoutMs: 10_000,
        },
      });
      await probe.next('connected');
      const cpu = platformCpuMeter(ctx, p, load, { probe: probe.pid });
      cpu.begin();
      const { goAt, done } = load.go();
      setTimeout(() => probe.send({ type: 'go' }), 1000);
      // A crash of the platform ends the part at once instead of leaving the load waiting for acks.
      const probed = await p.child.whileAlive(probe.next<ProbeReport>('done', durationMs + 60_000));
      const report = await p.child.whileAlive(done);
      const cpuShares = cpu.end();
      const stored = await p.child.whileAlive(
        waitForCount(() => countPoints(db, fleet.pilotId), report.readingsAcked),
      );
      const probesStored = await countPoints(db, fleet.pilotId, 'probe');
      await probe.stop();
      await load.stop();

      const result = latencyResult(ctx, {
        durationMs,
        devices,
        goAt,
        report,
        probed,
        stored,
        probesStored,
        cpuShares,
      });
      if (ctx.profile) {
        // The profile is written when the platform process exits.
        await p.child.stop(30_000);
        result.notes.push(...profileNotes(ctx, since));
      }
      return result;
    });
  },
};

type ProbeReport = { type: string; latencies: number[]; acked: number; timeouts: number; lastError?: string };

function latencyResult(
  ctx: Parameters<BenchPart['run']>[0],
  m: {
    durationMs: number;
    devices: number;
    goAt: number;
    report: { readingsAcked: number; lastAckAt: number; skipped: number };
    probed: ProbeReport;
    stored: { count: number };
    probesStored: number;
    cpuShares: Record<string, string | number>;
  },
): PartResult {
  const { durationMs, devices, goAt, report, probed, stored, probesStored, cpuShares } = m;
  const sorted = [...probed.latencies].sort((a, b) => a - b);
  const p99 = percentile(sorted, 0.99);
  const achieved = report.readingsAcked / (durationMs / 1000);
  return {
    ...resultHeader(ctx, 'latency', TITLE),
    figures: {
      'background load: target readings/s': RATE,
      'background load: readings acknowledged per second of load': Math.round(achieved),
      'background load: last ack after the load stopped (ms)': Math.max(
        0,
        report.lastAckAt - goAt - durationMs,
      ),
      'background load: messages skipped (every device at its window)': report.skipped,
      'probes measured': sorted.length,
      'probes not queryable within 10 s': probed.timeouts,
      'latency p50 (ms)': percentile(sorted, 0.5),
      'latency p95 (ms)': percentile(sorted, 0.95),
      'latency p99 (ms)': p99,
      'latency max (ms)': sorted.at(-1) ?? Number.NaN,
      ...cpuShares,
    },
    goals: [
      {
        what: 'p99 publish -> queryable',
        target: '< 100 ms',
        actual: Number.isNaN(p99) ? 'n/a' : `${fmt(p99)} ms`,
        met: p99 < 100 && probed.timeouts === 0,
      },
      {
        what: 'background load sustained',
        target: `>= 95% of ${fmt(RATE)}/s`,
        actual: `${fmt(achieved)}/s`,
        met: achieved >= RATE * 0.95,
      },
    ],
    lossChecks: [
      lossCheck('background readings (points in InfluxDB)', stored.count, report.readingsAcked),
      lossCheck('probe readings (points in InfluxDB)', probesStored, probed.acked),
    ],
    notes: [
      `Background: ${devices} devices, ${fmt(RATE)} messages/s of one reading each (QoS 1) for ${durationMs / 1000} s. ` +
        'Probe: one more device of the same pilot publishes a reading stamped with the current time every 50 ms ' +
        '(one at a time) and polls `GET /v1/devices/{id}/telemetry/latest` every 5 ms until that timestamp appears; ' +
        'latency = first poll that sees it - publish time (so it includes up to one poll interval and the HTTP round trip).',
      ...(probed.lastError ? [`Last probe error: ${probed.lastError}`] : []),
    ],
  };
}
