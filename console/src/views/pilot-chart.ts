/**
 * The pilot's chart: one key, one series per device. Live (from the pilot's stream) or a range from
 * `GET /v1/pilots/{id}/telemetry` with about one window per pixel.
 */
import uPlot from 'uplot';
import type { Api, Latest } from '../api.js';
import { LiveChart } from '../charts/live-chart.js';
import { widthOf } from '../charts/options.js';
import { breakGaps, chooseEvery, type RangeChart, renderRangeChart } from '../charts/range-chart.js';
import { field, h, replace } from '../dom.js';
import { formatEvery } from '../format.js';
import { describeError } from '../i18n/api-errors.js';
import { t } from '../i18n/index.js';
import type { LiveReading } from '../stream.js';
import { type RangeChoice, rangePicker } from './range-picker.js';

interface Series {
  deviceId: string;
  points: { ts: string; value: number | null }[];
}

/** Draws one window per pixel of `plot` for each device; undefined when `stale()` by the time data came. */
async function loadRange(
  api: Api,
  pilotId: string,
  key: string,
  choice: { from: number; to: number },
  plot: HTMLElement,
  names: () => Map<string, string>,
  stale: () => boolean,
): Promise<{ chart: RangeChart; every: string; empty: boolean } | undefined> {
  const every = chooseEvery(choice.to - choice.from, widthOf(plot));
  const q = new URLSearchParams({
    key,
    every,
    agg: 'mean',
    from: String(choice.from),
    to: String(choice.to),
  });
  const res = await api.get<{ series: Series[] }>(`/v1/pilots/${encodeURIComponent(pilotId)}/telemetry?${q}`);
  if (stale()) return undefined;
  const named = names();
  const tables = res.series.map((s) =>
    breakGaps([s.points.map((p) => Date.parse(p.ts) / 1000), s.points.map((p) => p.value)]),
  );
  const data: uPlot.AlignedData =
    tables.length === 0 ? [[]] : tables.length === 1 ? tables[0]! : uPlot.join(tables);
  const labels = res.series.map((s) => ({ label: named.get(s.deviceId) ?? s.deviceId }));
  return { chart: renderRangeChart(plot, labels, data, choice), every, empty: res.series.length === 0 };
}

async function numericKeys(api: Api, deviceIds: string[]): Promise<string[]> {
  const latest = await Promise.all(
    deviceIds.map((id) =>
      api.get<Latest>(`/v1/devices/${encodeURIComponent(id)}/telemetry/latest`).catch(() => undefined),
    ),
  );
  const keys = new Set<string>();
  for (const l of latest) {
    for (const [k, v] of Object.entries(l?.values ?? {})) if (typeof v.value === 'number') keys.add(k);
  }
  return [...keys].sort();
}

export function pilotChart(api: Api, pilotId: string, names: () => Map<string, string>) {
  const keys = new Set<string>();
  const keySelect = h('select', { id: 'pilot-key' });
  const plot = h('div', { class: 'chart', role: 'img' });
  const note = h('p', { class: 'hint', 'aria-live': 'polite' });
  let live: LiveChart | undefined;
  let range: RangeChart | undefined;
  let loadRun = 0;

  const picker = rangePicker({ withLive: true, initial: 'live', onChange: () => void show() });
  keySelect.addEventListener('change', () => void show());

  function addKey(k: string) {
    if (keys.has(k)) return;
    keys.add(k);
    keySelect.append(h('option', { value: k }, k));
    if (keys.size === 1) void show();
  }

  function clear() {
    live?.destroy();
    live = undefined;
    range?.destroy();
    range = undefined;
    plot.replaceChildren();
  }

  async function show(): Promise<void> {
    const run = ++loadRun;
    clear();
    const key = keySelect.value;
    if (!key) {
      note.textContent = t('chart.noKeys');
      return;
    }
    plot.setAttribute('aria-label', t('chart.pilotLabel', { key }));
    const choice: RangeChoice = picker.current();
    if (choice.kind === 'live') {
      note.textContent = t('chart.liveNote');
      live = new LiveChart(plot);
      return;
    }
    note.textContent = t('chart.loading');
    try {
      const shown = await loadRange(api, pilotId, key, choice, plot, names, () => run !== loadRun);
      if (!shown) return;
      range = shown.chart;
      note.textContent = shown.empty
        ? t('chart.empty')
        : t('chart.windows', { every: formatEvery(shown.every) });
    } catch (err) {
      if (run === loadRun) replace(note, describeError(err));
    }
  }

  const el = h(
    'section',
    { 'aria-labelledby': 'pilot-chart-title' },
    h('h2', { id: 'pilot-chart-title' }, t('pilot.chart')),
    h('div', { class: 'controls' }, field(t('chart.key'), keySelect), picker.el),
    note,
    plot,
  );
  return {
    el,
    /** Numeric keys from the devices' latest values (the first 20 devices are enough to list them). */
    async discover(deviceIds: string[]) {
      for (const k of await numericKeys(api, deviceIds.slice(0, 20))) addKey(k);
      if (keys.size === 0) void show();
    },
    onReading(r: LiveReading) {
      for (const [k, v] of Object.entries(r.values)) if (typeof v === 'number') addKey(k);
      const v = r.values[keySelect.value];
      if (live && typeof v === 'number')
        live.push(r.deviceId, names().get(r.deviceId) ?? r.deviceId, r.ts, v);
    },
    destroy: clear,
  };
}
