/**
 * Charts of a time range from the API's aggregated windows. The window (`every`) is chosen so the
 * chart gets about one point per pixel of its width: more would be drawn on top of each other, fewer
 * would hide detail the screen could show.
 */
import uPlot from 'uplot';
import { chartOptions, followWidth, widthOf } from './options.js';

/** The API's `every` for about one window per pixel: whole seconds from 1 s up, else milliseconds. */
export function chooseEvery(rangeMs: number, widthPx: number): string {
  const ms = Math.max(1, Math.ceil(rangeMs / Math.max(1, Math.floor(widthPx))));
  return ms >= 1000 ? `${Math.ceil(ms / 1000)}s` : `${ms}ms`;
}

/**
 * Marks the gaps in a series: where two consecutive points lie more than five typical intervals
 * apart (a device offline), a null point goes between them, so the line breaks there instead of
 * bridging hours. Windows without data are left out by the API (fill=none), so small gaps of a
 * slowly sampling device stay joined.
 */
export function breakGaps(table: uPlot.AlignedData): uPlot.AlignedData {
  const xs = table[0] as number[];
  if (xs.length < 3) return table;
  const steps = xs
    .slice(1)
    .map((x, i) => x - xs[i]!)
    .sort((a, b) => a - b);
  const limit = steps[Math.floor(steps.length / 2)]! * 5;
  const out: (number | null)[][] = table.map(() => []);
  for (let i = 0; i < xs.length; i++) {
    if (i > 0 && xs[i]! - xs[i - 1]! > limit) {
      out[0]!.push(xs[i - 1]! + limit / 5);
      for (let c = 1; c < table.length; c++) out[c]!.push(null);
    }
    for (let c = 0; c < table.length; c++) out[c]!.push((table[c] as (number | null)[])[i] ?? null);
  }
  return out as uPlot.AlignedData;
}

export interface RangeChart {
  destroy(): void;
}

/** `data`: x in epoch seconds, then one column per series (null where a series has no window). */
export function renderRangeChart(
  el: HTMLElement,
  series: { label: string }[],
  data: uPlot.AlignedData,
  range: { from: number; to: number },
): RangeChart {
  const opts = chartOptions(widthOf(el), series);
  opts.scales = { x: { time: true, range: () => [range.from / 1000, range.to / 1000] } };
  // Gaps marked by breakGaps are shown, not bridged.
  for (const s of opts.series.slice(1)) s.spanGaps = false;
  const u = new uPlot(opts, data, el);
  const unfollow = followWidth(u, el);
  return {
    destroy() {
      unfollow();
      u.destroy();
    },
  };
}
