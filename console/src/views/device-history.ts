/**
 * A device's history: a chart per numeric key over the last hour, day, week or a custom range, with
 * about one window per pixel, and the range's raw readings as CSV (the API's own CSV, page after
 * page, saved as one file).
 */
import type { Api } from '../api.js';
import { widthOf } from '../charts/options.js';
import { breakGaps, chooseEvery, type RangeChart, renderRangeChart } from '../charts/range-chart.js';
import { announce, h, replace } from '../dom.js';
import { formatEvery } from '../format.js';
import { describeError } from '../i18n/api-errors.js';
import { t } from '../i18n/index.js';
import { type RangeChoice, rangePicker } from './range-picker.js';

/** Enough for a week at a reading every 6 s; past it the file says it was cut. */
const CSV_MAX_PAGES = 100;

async function downloadCsv(
  api: Api,
  device: { id: string; name: string },
  choice: RangeChoice & { kind: 'range' },
  keys: string[],
) {
  const base = new URLSearchParams({ from: String(choice.from), to: String(choice.to), limit: '10000' });
  if (keys.length > 0) base.set('keys', keys.join(','));
  let csv = '';
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q = new URLSearchParams(base);
    if (cursor) q.set('cursor', cursor);
    const { text, headers } = await api.text(
      `/v1/devices/${encodeURIComponent(device.id)}/telemetry?${q}`,
      'text/csv',
    );
    // Every page repeats the header row; keep the first one only.
    csv += pages === 0 ? text : text.slice(text.indexOf('\r\n') + 2);
    cursor = headers.get('x-next-cursor');
    pages++;
  } while (cursor && pages < CSV_MAX_PAGES);
  const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
  const stamp = (ms: number) => new Date(ms).toISOString().replace(/[:.]/g, '-');
  const a = h('a', { href: url, download: `${device.name}-${stamp(choice.from)}-${stamp(choice.to)}.csv` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  announce(cursor ? t('csv.truncated') : t('csv.done'));
}

export function deviceHistory(
  api: Api,
  device: { id: string; name: string },
  keys: () => { numeric: string[]; all: string[] },
) {
  const charts = h('div', { class: 'charts' });
  const note = h('p', { class: 'hint', 'aria-live': 'polite' });
  let shown: RangeChart[] = [];
  let run = 0;
  const picker = rangePicker({ withLive: false, initial: 'hour', onChange: () => void load() });
  const csv = h('button', { type: 'button', class: 'secondary' }, t('csv.download'));
  csv.addEventListener('click', async () => {
    const choice = picker.current();
    if (choice.kind !== 'range') return;
    csv.disabled = true;
    try {
      await downloadCsv(api, device, choice, keys().all);
    } catch (err) {
      announce(describeError(err), 'error');
    } finally {
      csv.disabled = false;
    }
  });

  async function load(): Promise<void> {
    const r = ++run;
    for (const c of shown) c.destroy();
    shown = [];
    charts.replaceChildren();
    const choice = picker.current();
    const numeric = keys().numeric;
    if (choice.kind !== 'range' || numeric.length === 0) {
      note.textContent = t('chart.noKeys');
      return;
    }
    const every = chooseEvery(choice.to - choice.from, widthOf(charts));
    note.textContent = t('chart.loading');
    try {
      const q = new URLSearchParams({
        from: String(choice.from),
        to: String(choice.to),
        every,
        agg: 'mean',
        keys: numeric.join(','),
      });
      const res = await api.get<{ items: { ts: string; values: Record<string, number | null> }[] }>(
        `/v1/devices/${encodeURIComponent(device.id)}/telemetry?${q}`,
      );
      if (r !== run) return;
      const xs = res.items.map((i) => Date.parse(i.ts) / 1000);
      for (const key of numeric) {
        const plot = h('div', { class: 'chart', role: 'img', 'aria-label': t('chart.rangeLabel', { key }) });
        charts.append(h('figure', {}, h('figcaption', {}, key), plot));
        const data = breakGaps([xs, res.items.map((i) => i.values[key] ?? null)]);
        shown.push(renderRangeChart(plot, [{ label: key }], data, choice));
      }
      note.textContent =
        res.items.length === 0 ? t('chart.empty') : t('chart.windows', { every: formatEvery(every) });
    } catch (err) {
      if (r === run) replace(note, describeError(err));
    }
  }

  const el = h(
    'section',
    { 'aria-labelledby': 'history-title' },
    h('h2', { id: 'history-title' }, t('device.history')),
    h('div', { class: 'controls' }, picker.el, h('div', { class: 'actions' }, csv)),
    note,
    charts,
  );
  return {
    el,
    load,
    destroy() {
      run++;
      for (const c of shown) c.destroy();
    },
  };
}
