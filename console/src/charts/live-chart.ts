/**
 * A chart of live readings: one or more series (e.g. one per device), a moving window of the last
 * few minutes. Readings are buffered and the chart redraws at most once per animation frame, so a
 * burst of readings costs one draw. After each draw the element gets a `console:drawn` event whose
 * `detail.ts` lists the reading times first drawn in it (the bench measures lag and frame rate with it).
 */
import uPlot from 'uplot';
import { chartOptions, followWidth, seriesOptions, widthOf } from './options.js';

interface Buffer {
  label: string;
  xs: number[];
  ys: number[];
}

export class LiveChart {
  private readonly u: uPlot;
  private readonly series = new Map<string, Buffer>();
  private readonly order: string[] = [];
  private pending: number[] = [];
  private drawing: number[] = [];
  private frame = 0;
  private readonly unfollow: () => void;

  constructor(
    private readonly el: HTMLElement,
    private readonly windowMs = 5 * 60_000,
    private readonly maxPoints = 6000,
  ) {
    const opts = chartOptions(widthOf(el), []);
    opts.hooks = { draw: [() => this.drawn()] };
    this.u = new uPlot(opts, [[]], el);
    this.unfollow = followWidth(this.u, el);
  }

  /** Adds a reading (ts in epoch ms) to a series, creating the series on first use. */
  push(seriesId: string, label: string, ts: number, value: number): void {
    let s = this.series.get(seriesId);
    if (!s) {
      s = { label, xs: [], ys: [] };
      this.series.set(seriesId, s);
      this.order.push(seriesId);
      this.u.addSeries(seriesOptions(label, this.order.length - 1), this.order.length);
    }
    const x = ts / 1000;
    // Readings arrive in order per device; an older one (a late batch) is put in its place.
    let i = s.xs.length;
    while (i > 0 && (s.xs[i - 1] as number) > x) i--;
    s.xs.splice(i, 0, x);
    s.ys.splice(i, 0, value);
    if (s.xs.length > this.maxPoints) {
      s.xs.splice(0, s.xs.length - this.maxPoints);
      s.ys.splice(0, s.ys.length - this.maxPoints);
    }
    this.pending.push(ts);
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.render());
  }

  private render(): void {
    this.frame = 0;
    const now = Date.now() / 1000;
    const min = now - this.windowMs / 1000;
    let oldest = now;
    const tables: uPlot.AlignedData[] = [];
    for (const id of this.order) {
      const s = this.series.get(id)!;
      let drop = 0;
      while (drop < s.xs.length && (s.xs[drop] as number) < min) drop++;
      if (drop > 0) {
        s.xs.splice(0, drop);
        s.ys.splice(0, drop);
      }
      tables.push([s.xs, s.ys]);
      oldest = Math.min(oldest, s.xs[0] ?? now);
    }
    // A fresh chart spans the readings it has (at least 30 s), growing to the full window.
    const shownFrom = Math.max(min, Math.min(oldest, now - 30));
    const data = tables.length === 1 ? tables[0]! : uPlot.join(tables);
    this.drawing = this.pending;
    this.pending = [];
    this.u.batch(() => {
      this.u.setData(data, true);
      this.u.setScale('x', { min: shownFrom, max: now });
    });
  }

  private drawn(): void {
    if (this.drawing.length === 0) return;
    const ts = this.drawing;
    this.drawing = [];
    this.el.dispatchEvent(new CustomEvent('console:drawn', { detail: { ts }, bubbles: true }));
  }

  destroy(): void {
    if (this.frame !== 0) cancelAnimationFrame(this.frame);
    this.unfollow();
    this.u.destroy();
  }
}
