/**
 * The second half of a part that measures a baseline first and then the platform under the same
 * load (e2e against raw Aedes, batched against raw InfluxDB writes): the platform's figures, the
 * ratio goal, the loss check and, with --profile, where the platform's time went. A failed platform
 * run is reported as such, after the baseline's figures.
 */
import type { BenchContext } from './fixtures.js';
import { type PlatformLoadRun, profileNotes } from './platform-run.js';
import { lossCheck, type PartResult } from './report.js';

const prefixed = (prefix: string, shares: Record<string, string>) =>
  Object.fromEntries(Object.entries(shares).map(([k, v]) => [`${prefix}, ${k}`, v]));

export async function compareWithBaseline(
  ctx: BenchContext,
  /** The result so far, with the baseline's figures and loss check. */
  result: PartResult,
  opts: {
    /** e.g. "raw Aedes", as in "ratio platform / raw Aedes". */
    baseline: { name: string; rate: number; cpuShares: Record<string, string> };
    goal: { what: string; min: number };
    /** The acknowledgement rate shown: of MQTT publishes or of the readings they carry. */
    acknowledged: 'publishes' | 'readings';
    run: () => Promise<PlatformLoadRun>;
  },
): Promise<PartResult> {
  const since = Date.now();
  const target = `>= ${opts.goal.min}`;
  let plat: PlatformLoadRun;
  try {
    plat = await opts.run();
  } catch (err) {
    result.figures['platform: readings stored/s'] = 'not measured: the platform run failed';
    result.goals.push({ what: opts.goal.what, target, actual: 'n/a', met: false });
    result.notes.push(`Platform run failed: ${(err as Error).message.split('\n').slice(0, 6).join(' / ')}`);
    return result;
  }
  const { report, goAt } = plat;
  const acked = opts.acknowledged === 'publishes' ? report.acked : report.readingsAcked;
  const ratio = plat.rate / opts.baseline.rate;
  Object.assign(result.figures, {
    'platform: readings stored/s': Math.round(plat.rate),
    [`platform: ${opts.acknowledged} acknowledged/s`]: Math.round(acked / ((report.lastAckAt - goAt) / 1000)),
    [`ratio platform / ${opts.baseline.name}`]: Math.round(ratio * 100) / 100,
    ...prefixed('raw run', opts.baseline.cpuShares),
    ...prefixed('platform run', plat.cpuShares),
  });
  // CPU time per reading: far steadier than a rate when other work shares the machine.
  const share = Number.parseFloat(plat.cpuShares['CPU: platform'] ?? '');
  if (Number.isFinite(share)) {
    result.figures['platform run, platform CPU per reading (µs)'] =
      Math.round((share / 100 / plat.rate) * 1e7) / 10;
  }
  result.goals.push({ what: opts.goal.what, target, actual: ratio.toFixed(2), met: ratio >= opts.goal.min });
  result.lossChecks.push(lossCheck('platform (points in InfluxDB)', plat.stored, report.readingsAcked));
  result.notes.push(...profileNotes(ctx, since));
  return result;
}
