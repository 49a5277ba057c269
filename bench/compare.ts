/**
 * A part that measures a baseline and the platform under the same load (e2e against raw Aedes,
 * batched against raw InfluxDB writes): alternating rounds (baseline, platform, baseline, ...), so a
 * change in the machine's load hits both sides alike, and the goal is the median round's ratio. Adds
 * the figures, the loss checks of every round and, with --profile, where the platform's time went. A
 * failed platform run is reported as such, after the baseline's figures.
 */
import type { BenchContext } from './fixtures.js';
import { type PlatformLoadRun, profileNotes } from './platform-run.js';
import { type LossCheck, lossCheck, median, type PartResult } from './report.js';

/** Rounds per side: three in a full run, one in a --quick smoke run. */
export const roundsFor = (ctx: BenchContext) => (ctx.quick ? 1 : 3);

export interface BaselineRun {
  /** Readings (or messages) per second. */
  rate: number;
  cpuShares: Record<string, string>;
  /** Figures of the baseline's own, e.g. "raw Aedes: messages forwarded/s"; of the median round. */
  figures: Record<string, number | string>;
  loss: LossCheck;
}

const prefixed = (prefix: string, shares: Record<string, string>) =>
  Object.fromEntries(Object.entries(shares).map(([k, v]) => [`${prefix}, ${k}`, v]));

export async function compareWithBaseline(
  ctx: BenchContext,
  /** The result so far: header, figures describing the load, notes. */
  result: PartResult,
  opts: {
    /** e.g. "raw Aedes", as in "ratio platform / raw Aedes". */
    name: string;
    /** One baseline run; `round` counts from 0. */
    baseline: (round: number) => Promise<BaselineRun>;
    goal: { what: string; min: number };
    /** The acknowledgement rate shown: of MQTT publishes or of the readings they carry. */
    acknowledged: 'publishes' | 'readings';
    /** One platform run, after the baseline run of the same round. */
    run: (round: number) => Promise<PlatformLoadRun>;
  },
): Promise<PartResult> {
  const rounds = roundsFor(ctx);
  const target = `>= ${opts.goal.min}`;
  const pairs: { base: BaselineRun; plat: PlatformLoadRun; ratio: number }[] = [];
  let lastBase: BaselineRun | undefined;
  let failure: Error | undefined;
  const since = Date.now();
  for (let round = 0; round < rounds && !failure; round++) {
    const base = await opts.baseline(round);
    lastBase = base;
    result.lossChecks.push(roundLoss(base.loss, round, rounds));
    try {
      const plat = await opts.run(round);
      pairs.push({ base, plat, ratio: plat.rate / base.rate });
    } catch (err) {
      failure = err as Error;
    }
  }
  if (failure || pairs.length === 0) {
    Object.assign(result.figures, lastBase?.figures);
    result.figures['platform: readings stored/s'] = 'not measured: the platform run failed';
    result.goals.push({ what: opts.goal.what, target, actual: 'n/a', met: false });
    result.notes.push(`Platform run failed: ${failure?.message.split('\n').slice(0, 6).join(' / ')}`);
    return result;
  }
  const mid = median(pairs, (p) => p.ratio);
  Object.assign(result.figures, mid.base.figures);
  const { report, goAt } = mid.plat;
  const acked = opts.acknowledged === 'publishes' ? report.acked : report.readingsAcked;
  Object.assign(result.figures, {
    'platform: readings stored/s': Math.round(mid.plat.rate),
    [`platform: ${opts.acknowledged} acknowledged/s`]: Math.round(acked / ((report.lastAckAt - goAt) / 1000)),
    [`ratio platform / ${opts.name}`]: Math.round(mid.ratio * 100) / 100,
    ...prefixed('raw run', mid.base.cpuShares),
    ...prefixed('platform run', mid.plat.cpuShares),
  });
  if (rounds > 1) {
    result.figures[`ratio per round (${opts.name} /s -> platform /s)`] = pairs
      .map((p) => `${p.ratio.toFixed(2)} (${Math.round(p.base.rate)} -> ${Math.round(p.plat.rate)})`)
      .join('; ');
  }
  // CPU time per reading: far steadier than a rate when other work shares the machine.
  const perReading = pairs
    .map((p) => Number.parseFloat(p.plat.cpuShares['CPU: platform'] ?? '') / 100 / p.plat.rate)
    .filter(Number.isFinite);
  if (perReading.length > 0) {
    result.figures['platform run, platform CPU per reading (µs)'] =
      Math.round(median(perReading, (x) => x) * 1e7) / 10;
  }
  result.goals.push({
    what: opts.goal.what,
    target,
    actual: mid.ratio.toFixed(2),
    met: mid.ratio >= opts.goal.min,
  });
  for (const [round, p] of pairs.entries()) {
    const check = lossCheck('platform (points in InfluxDB)', p.plat.stored, p.plat.report.readingsAcked);
    result.lossChecks.push(roundLoss(check, round, rounds));
  }
  if (rounds > 1) {
    result.notes.push(
      `${rounds} rounds, alternating: ${opts.name}, then the platform, each on fresh state. The ratio and the ` +
        "figures above are the median round's (by ratio; the platform CPU per reading is the median of all rounds); " +
        "every round's losses are checked.",
    );
  }
  result.notes.push(...profileNotes(ctx, since));
  return result;
}

const roundLoss = (c: LossCheck, round: number, rounds: number): LossCheck =>
  rounds > 1 ? { ...c, what: `${c.what}, round ${round + 1}` } : c;
