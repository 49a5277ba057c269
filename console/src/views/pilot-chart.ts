/**
 * The pilot's chart: one key, one series per device. Live (from the pilot's stream) or a range from
 * `GET /v1/pilots/{id}/telemetry` with about one window per pixel.
 */
import uPlot from 'uplot';
import type { Api, Latest } from '../api.js';
import { LiveChart } from '../charts/live-chart.js';
import { widthOf } from '../charts/options.js';
import { chooseEvery, type RangeChart, renderRangeChart } from '../charts/range-chart.js';
import { field, h, replace } from '../dom.js';
import { describeError } from '../i18n/api-errors.js';
import { t } from '../i18n/index.js';
import type { LiveReading } from '../stream.js';
import { type RangeChoice, rangePicker } from './range-picker.js';

interface Series {
  deviceId: string;
  points: { ts: string; value: number | null }[];
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
    const every = chooseEvery(choice.to - choice.from, widthOf(plot));
    note.textContent = t('chart.loading');
    try {
      const q = new URLSearchParams({
        key,
        every,
        agg: 'mean',
        from: String(choice.from),
        to: String(choice.to),
      });
      const res = await api.get<{ series: Series[] }>(
        `/v1/pilots/${encodeURIComponent(pilotId)}/telemetry?${q}`,
      );
      if (run !== loadRun) return;
      const named = names();
      const tables = res.series.map(
        (s) =>
          [s.points.map((p) => Date.parse(p.ts) / 1000), s.points.map((p) => p.value)] as uPlot.AlignedData,
      );
      const data: uPlot.AlignedData =
        tables.length === 0 ? [[]] : tables.length === 1 ? tables[0]! : uPlot.join(tables);
      range = renderRangeChart(
        plot,
        res.series.map((s) => ({ label: named.get(s.deviceId) ?? s.deviceId })),
        data,
        choice,
      );
      note.textContent = res.series.length === 0 ? t('chart.empty') : t('chart.windows', { every });
    } catch (err) {
      if (run === loadRun) replace(note, describeError(err));
    }
  }

  /** Numeric keys from the devices' latest values (the first 20 devices are enough to list them). */
  async function discover(deviceIds: string[]) {
    const latest = await Promise.all(
      deviceIds
        .slice(0, 20)
        .map((id) =>
          api.get<Latest>(`/v1/devices/${encodeURIComponent(id)}/telemetry/latest`).catch(() => undefined),
        ),
    );
    for (const l of latest) {
      for (const [k, v] of Object.entries(l?.values ?? {})) if (typeof v.value === 'number') addKey(k);
    }
    if (keys.size === 0) void show();
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
    discover,
    onReading(r: LiveReading) {
      for (const [k, v] of Object.entries(r.values)) if (typeof v === 'number') addKey(k);
      const v = r.values[keySelect.value];
      if (live && typeof v === 'number')
        live.push(r.deviceId, names().get(r.deviceId) ?? r.deviceId, r.ts, v);
    },
    destroy: clear,
  };
}
