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
  // A window without data is a gap in the device's data: show it, do not bridge it.
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
