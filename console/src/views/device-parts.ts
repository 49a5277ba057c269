/** Pieces of the device page: its facts (with online state), its latest values, its live charts. */
import type { Device, Value } from '../api.js';
import { LiveChart } from '../charts/live-chart.js';
import { h, replace } from '../dom.js';
import { formatAgo, formatDateTime, formatValue } from '../format.js';
import { t } from '../i18n/index.js';

export function statusBadge(online: boolean): HTMLElement {
  return h(
    'span',
    { class: online ? 'badge online' : 'badge offline' },
    online ? t('devices.online') : t('devices.offline'),
  );
}

export function lastSeenText(lastSeen: number | null): HTMLElement | string {
  if (lastSeen === null) return t('devices.never');
  const iso = new Date(lastSeen).toISOString();
  return h('time', { datetime: iso, title: formatDateTime(lastSeen) }, formatAgo(lastSeen));
}

/** Id, model, firmware, status and last seen; `paint` updates the last two. */
export function deviceFacts(device: Device) {
  const status = h('dd', {});
  const seen = h('dd', {});
  const el = h(
    'dl',
    { class: 'facts' },
    h('dt', {}, t('field.deviceId')),
    h('dd', {}, h('code', {}, device.id)),
    h('dt', {}, t('field.model')),
    h('dd', {}, device.model ?? '–'),
    h('dt', {}, t('field.firmwareVersion')),
    h('dd', {}, device.firmwareVersion ?? '–'),
    h('dt', {}, t('devices.status')),
    status,
    h('dt', {}, t('devices.lastSeen')),
    seen,
  );
  return {
    el,
    paint(online: boolean, lastSeen: number | null) {
      replace(status, statusBadge(online));
      replace(seen, lastSeenText(lastSeen));
    },
  };
}

/** The last value of each key, with its time. */
export function latestTable(values: Map<string, { ts: number; value: Value }>) {
  const body = h('tbody');
  const head = h(
    'thead',
    {},
    h(
      'tr',
      {},
      h('th', { scope: 'col' }, t('device.key')),
      h('th', { scope: 'col' }, t('device.value')),
      h('th', { scope: 'col' }, t('device.time')),
    ),
  );
  const el = h(
    'div',
    { class: 'table-wrap' },
    h('table', { class: 'latest' }, h('caption', { class: 'offscreen' }, t('device.latest')), head, body),
  );
  return {
    el,
    paint() {
      const rows = [...values].sort(([a], [b]) => a.localeCompare(b));
      replace(
        body,
        rows.map(([k, v]) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, k),
            h('td', { 'data-key': k }, formatValue(v.value)),
            h('td', {}, formatDateTime(v.ts)),
          ),
        ),
      );
    },
  };
}

/** One live chart per numeric key, created when the key first shows up. */
export function liveCharts() {
  const charts = new Map<string, LiveChart>();
  const el = h('div', { class: 'charts' });
  const chartFor = (key: string) => {
    let c = charts.get(key);
    if (!c) {
      const plot = h('div', {
        class: 'chart',
        role: 'img',
        'aria-label': t('chart.liveLabel', { key }),
        'data-live-key': key,
      });
      el.append(h('figure', {}, h('figcaption', {}, key), plot));
      c = new LiveChart(plot);
      charts.set(key, c);
    }
    return c;
  };
  return {
    el,
    chartFor,
    destroy() {
      for (const c of charts.values()) c.destroy();
    },
  };
}
