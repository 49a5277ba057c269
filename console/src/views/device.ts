/**
 * A device: what it is and whether it is online, its latest values and a live chart per numeric key
 * (both fed by the device's stream), its history with CSV, its error log, and rotate/delete.
 */
import type { Device, Latest, Pilot, Value } from '../api.js';
import { LiveChart } from '../charts/live-chart.js';
import type { View } from '../context.js';
import { h, replace } from '../dom.js';
import { formatAgo, formatDateTime, formatValue } from '../format.js';
import { t } from '../i18n/index.js';
import { openLive } from '../stream.js';
import { deleteDevice, rotateSecret } from './device-actions.js';
import { deviceHistory } from './device-history.js';
import { errorLog } from './error-log.js';
import { liveBadge } from './pilot.js';

const POLL_MS = 5000;

export const deviceView: View = async (ctx, main, deviceId) => {
  const path = `/v1/devices/${encodeURIComponent(deviceId)}`;
  let device = await ctx.api.get<Device>(path);
  const [pilot, latest] = await Promise.all([
    ctx.api.get<Pilot>(`/v1/pilots/${encodeURIComponent(device.pilotId)}`),
    ctx.api.get<Latest>(`${path}/telemetry/latest`).catch(() => ({ deviceId, values: {} }) as Latest),
  ]);
  const values = new Map<string, { ts: number; value: Value }>(
    Object.entries(latest.values).map(([k, v]) => [k, { ts: Date.parse(v.ts), value: v.value }]),
  );
  let lastSeen = device.status.lastSeenAt ? Date.parse(device.status.lastSeenAt) : null;
  const numericKeys = () =>
    [...values]
      .filter(([, v]) => typeof v.value === 'number')
      .map(([k]) => k)
      .sort();

  const status = h('dd', {});
  const seen = h('dd', {});
  const paintStatus = () => {
    replace(
      status,
      h(
        'span',
        { class: device.status.online ? 'badge online' : 'badge offline' },
        device.status.online ? t('devices.online') : t('devices.offline'),
      ),
    );
    replace(
      seen,
      lastSeen === null
        ? t('devices.never')
        : h(
            'time',
            { datetime: new Date(lastSeen).toISOString(), title: formatDateTime(lastSeen) },
            formatAgo(lastSeen),
          ),
    );
  };

  const latestBody = h('tbody');
  const paintLatest = () =>
    replace(
      latestBody,
      [...values]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, k),
            h('td', { 'data-key': k }, formatValue(v.value)),
            h('td', {}, formatDateTime(v.ts)),
          ),
        ),
    );

  const liveCharts = new Map<string, LiveChart>();
  const liveBox = h('div', { class: 'charts' });
  const liveChartFor = (key: string) => {
    let c = liveCharts.get(key);
    if (!c) {
      const plot = h('div', {
        class: 'chart',
        role: 'img',
        'aria-label': t('chart.liveLabel', { key }),
        'data-live-key': key,
      });
      liveBox.append(h('figure', {}, h('figcaption', {}, key), plot));
      c = new LiveChart(plot);
      liveCharts.set(key, c);
    }
    return c;
  };
  for (const k of numericKeys()) liveChartFor(k);

  const history = deviceHistory(ctx.api, device, () => ({
    numeric: numericKeys(),
    all: [...values.keys()].sort(),
  }));
  const errors = errorLog(ctx.api, device.id);
  const badge = liveBadge();
  const rotate = h('button', { type: 'button', class: 'secondary' }, t('device.rotate'));
  rotate.addEventListener('click', () => void rotateSecret(ctx, device));
  const del = h('button', { type: 'button', class: 'danger' }, t('device.delete'));
  del.addEventListener('click', async () => {
    if (await deleteDevice(ctx, device)) ctx.go(`#/pilots/${encodeURIComponent(pilot.id)}`);
  });

  main.append(
    h(
      'p',
      { class: 'crumbs' },
      h('a', { href: '#/' }, t('nav.pilots')),
      ' / ',
      h('a', { href: `#/pilots/${encodeURIComponent(pilot.id)}` }, pilot.name),
      ' /',
    ),
    h('h1', {}, device.name),
    h(
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
    ),
    h('div', { class: 'actions' }, rotate, del),
    h(
      'section',
      { 'aria-labelledby': 'latest-title' },
      h('div', { class: 'section-head' }, h('h2', { id: 'latest-title' }, t('device.latest')), badge.el),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'latest' },
          h('caption', { class: 'offscreen' }, t('device.latest')),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, t('device.key')),
              h('th', { scope: 'col' }, t('device.value')),
              h('th', { scope: 'col' }, t('device.time')),
            ),
          ),
          latestBody,
        ),
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'live-title' },
      h('h2', { id: 'live-title' }, t('device.live')),
      h('p', { class: 'hint' }, t('chart.liveNote')),
      liveBox,
    ),
    history.el,
    errors.el,
  );
  paintStatus();
  paintLatest();
  void history.load();
  void errors.load();

  let latestTimer: ReturnType<typeof setTimeout> | undefined;
  const stop = openLive(
    ctx.api,
    { deviceId: device.id },
    (r) => {
      for (const [k, v] of Object.entries(r.values)) {
        const prev = values.get(k);
        if (!prev || prev.ts <= r.ts) values.set(k, { ts: r.ts, value: v });
        if (typeof v === 'number') liveChartFor(k).push(device.id, device.name, r.ts, v);
      }
      lastSeen = Date.now();
      // Many readings a second: repaint the table at most every 250 ms.
      latestTimer ??= setTimeout(() => {
        latestTimer = undefined;
        paintLatest();
        paintStatus();
      }, 250);
    },
    badge.set,
  );
  const poll = setInterval(async () => {
    try {
      device = await ctx.api.get<Device>(path);
      const api = device.status.lastSeenAt ? Date.parse(device.status.lastSeenAt) : null;
      if (api !== null) lastSeen = Math.max(api, lastSeen ?? 0);
      paintStatus();
    } catch {
      // deleted elsewhere or offline: the next poll tries again
    }
  }, POLL_MS);
  return () => {
    stop();
    clearInterval(poll);
    clearTimeout(latestTimer);
    history.destroy();
    for (const c of liveCharts.values()) c.destroy();
  };
};
