/**
 * uPlot options shared by every chart: time axis and legend in the user's locale and time zone
 * (Intl, not uPlot's English month names), numbers formatted the same way, colours with enough
 * contrast on white, and a size that follows the container.
 */
import type uPlot from 'uplot';
import { formatDateTime, formatNumber } from '../format.js';
import { locale, t } from '../i18n/index.js';
import { PALETTE } from './palette.js';

const TEXT = '#1f2328';
const GRID = '#d8dee4';

export const CHART_HEIGHT = 220;

/** Tick labels for a time axis, as detailed as the tick spacing (seconds) needs. */
function timeTicks(_u: uPlot, splits: number[], _axis: number, _space: number, incr: number): string[] {
  const opts: Intl.DateTimeFormatOptions =
    incr >= 86_400
      ? { month: 'short', day: 'numeric' }
      : incr >= 60
        ? { hour: '2-digit', minute: '2-digit' }
        : { hour: '2-digit', minute: '2-digit', second: '2-digit' };
  const f = new Intl.DateTimeFormat(locale(), opts);
  return splits.map((s) => f.format(s * 1000));
}

export function chartOptions(width: number, series: { label: string }[]): uPlot.Options {
  return {
    width,
    height: CHART_HEIGHT,
    // Room on the right for the last time label (wide in some locales: "12:29:55 AM").
    padding: [8, 32, 0, 0],
    scales: { x: { time: true } },
    axes: [
      { values: timeTicks, stroke: TEXT, grid: { stroke: GRID }, ticks: { stroke: GRID } },
      {
        values: (_u, splits) => splits.map((v) => formatNumber(v)),
        stroke: TEXT,
        size: 64,
        grid: { stroke: GRID },
        ticks: { stroke: GRID },
      },
    ],
    series: [
      {
        label: t('chart.time'),
        value: (_u, v) => (v === null || v === undefined ? '–' : formatDateTime(v * 1000)),
      },
      ...series.map((s, i) => seriesOptions(s.label, i)),
    ],
    cursor: { drag: { x: true, y: false } },
  };
}

export function seriesOptions(label: string, index: number): uPlot.Series {
  return {
    label,
    stroke: PALETTE[index % PALETTE.length],
    width: 1.5,
    spanGaps: true,
    points: { show: false },
    value: (_u, v) => (v === null || v === undefined ? '–' : formatNumber(v)),
  };
}

/** Keeps the chart as wide as its container (down to a phone's 375 px). */
export function followWidth(u: uPlot, el: HTMLElement): () => void {
  const observer = new ResizeObserver(() => {
    const width = Math.max(200, el.clientWidth);
    if (Math.abs(width - u.width) > 1) u.setSize({ width, height: CHART_HEIGHT });
  });
  observer.observe(el);
  return () => observer.disconnect();
}

export const widthOf = (el: HTMLElement) => Math.max(200, el.clientWidth || 600);
