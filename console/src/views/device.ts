/**
 * A device: what it is and whether it is online, its latest values and a live chart per numeric key
 * (both fed by the device's stream), its history with CSV, its error log, and rotate/delete.
 */
import type { Device, Latest, Pilot, Value } from '../api.js';
import type { Ctx, View } from '../context.js';
import { h } from '../dom.js';
import { t } from '../i18n/index.js';
import { type LiveReading, openLive } from '../stream.js';
import { deleteDevice, rotateSecret } from './device-actions.js';
import { deviceControl } from './device-control.js';
import { deviceHistory } from './device-history.js';
import { deviceFacts, latestTable, liveCharts } from './device-parts.js';
import { errorLog } from './error-log.js';
import { liveBadge } from './pilot.js';

const POLL_MS = 5000;
/** Many readings a second: repaint the latest values at most this often. */
const REPAINT_MS = 250;

async function load(ctx: Ctx, deviceId: string) {
  const path = `/v1/devices/${encodeURIComponent(deviceId)}`;
  const device = await ctx.api.get<Device>(path);
  const [pilot, latest] = await Promise.all([
    ctx.api.get<Pilot>(`/v1/pilots/${encodeURIComponent(device.pilotId)}`),
    ctx.api.get<Latest>(`${path}/telemetry/latest`).catch(() => ({ deviceId, values: {} }) as Latest),
  ]);
  const values = new Map<string, { ts: number; value: Value }>(
    Object.entries(latest.values).map(([k, v]) => [k, { ts: Date.parse(v.ts), value: v.value }]),
  );
  return { path, device, pilot, values };
}

function actions(ctx: Ctx, device: Device, pilot: Pilot): HTMLElement {
  const rotate = h('button', { type: 'button', class: 'secondary' }, t('device.rotate'));
  rotate.addEventListener('click', () => void rotateSecret(ctx, device));
  const del = h('button', { type: 'button', class: 'danger' }, t('device.delete'));
  del.addEventListener('click', async () => {
    if (await deleteDevice(ctx, device)) ctx.go(`#/pilots/${encodeURIComponent(pilot.id)}`);
  });
  return h('div', { class: 'actions' }, rotate, del);
}

/** The page, top to bottom. */
function layout(p: {
  device: Device;
  pilot: Pilot;
  facts: { el: HTMLElement };
  latest: { el: HTMLElement };
  live: { el: HTMLElement };
  history: { el: HTMLElement };
  errors: { el: HTMLElement };
  control: { el: HTMLElement };
  badge: { el: HTMLElement };
  actions: HTMLElement;
}): HTMLElement[] {
  const { device, pilot, facts, latest, live, history, errors, badge } = p;
  const pilotLink = h('a', { href: `#/pilots/${encodeURIComponent(pilot.id)}` }, pilot.name);
  return [
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, t('nav.pilots')), ' / ', pilotLink, ' /'),
    h('h1', {}, device.name),
    facts.el,
    p.actions,
    h(
      'section',
      { 'aria-labelledby': 'latest-title' },
      h('div', { class: 'section-head' }, h('h2', { id: 'latest-title' }, t('device.latest')), badge.el),
      latest.el,
    ),
    h(
      'section',
      { 'aria-labelledby': 'live-title' },
      h('h2', { id: 'live-title' }, t('device.live')),
      h('p', { class: 'hint' }, t('chart.liveNote')),
      live.el,
    ),
    history.el,
    p.control.el,
    errors.el,
  ];
}

export const deviceView: View = async (ctx, main, deviceId) => {
  const { path, pilot, values, ...loaded } = await load(ctx, deviceId);
  let device = loaded.device;
  let lastSeen = device.status.lastSeenAt ? Date.parse(device.status.lastSeenAt) : null;
  const numericKeys = () => numericKeysOf(values);

  const facts = deviceFacts(device);
  const latest = latestTable(values);
  const live = liveCharts();
  for (const k of numericKeys()) live.chartFor(k);
  const allKeys = () => ({ numeric: numericKeys(), all: [...values.keys()].sort() });
  const history = deviceHistory(ctx.api, device, allKeys);
  const errors = errorLog(ctx.api, device.id);
  const control = deviceControl(ctx.api, device.id);
  const badge = liveBadge();
  main.append(
    ...layout({
      device,
      pilot,
      facts,
      latest,
      live,
      history,
      errors,
      control,
      badge,
      actions: actions(ctx, device, pilot),
    }),
  );
  const paint = () => {
    facts.paint(device.status.online, lastSeen);
    latest.paint();
  };
  paint();
  void history.load();
  void errors.load();
  void control.load();

  const pollStatus = async () => {
    try {
      device = await ctx.api.get<Device>(path);
      const seen = device.status.lastSeenAt ? Date.parse(device.status.lastSeenAt) : null;
      if (seen !== null) lastSeen = Math.max(seen, lastSeen ?? 0);
      facts.paint(device.status.online, lastSeen);
    } catch {
      // deleted elsewhere or offline: the next poll tries again
    }
  };
  // A reading from a device shown offline: ask again once presence is written (batched each second).
  let statusSoon: ReturnType<typeof setTimeout> | undefined;
  let repaint: ReturnType<typeof setTimeout> | undefined;
  const onReading = (r: LiveReading) => {
    for (const [k, v] of Object.entries(r.values)) {
      const prev = values.get(k);
      if (!prev || prev.ts <= r.ts) values.set(k, { ts: r.ts, value: v });
      if (typeof v === 'number') live.chartFor(k).push(device.id, device.name, r.ts, v);
    }
    lastSeen = Date.now();
    if (!device.status.online) {
      statusSoon ??= setTimeout(() => {
        statusSoon = undefined;
        void pollStatus();
      }, 1500);
    }
    repaint ??= setTimeout(() => {
      repaint = undefined;
      paint();
    }, REPAINT_MS);
  };
  const stop = openLive(ctx.api, { deviceId: device.id }, onReading, badge.set);
  const poll = setInterval(() => void pollStatus(), POLL_MS);
  return () => {
    stop();
    clearInterval(poll);
    clearTimeout(repaint);
    clearTimeout(statusSoon);
    history.destroy();
    live.destroy();
  };
};

const numericKeysOf = (values: Map<string, { value: unknown }>) =>
  [...values]
    .filter(([, v]) => typeof v.value === 'number')
    .map(([k]) => k)
    .sort();
