/**
 * The devices of a pilot: online state, last seen, model, firmware and error count. Rows are updated
 * in place (focus and reading position survive): the list and error counts are polled every 5 s,
 * and "last seen" also moves with each live reading of the pilot's stream.
 */
import type { Device } from '../api.js';
import type { Ctx } from '../context.js';
import { h, replace } from '../dom.js';
import { formatNumber } from '../format.js';
import { type MessageKey, t } from '../i18n/index.js';
import { deleteDevice, rotateSecret } from './device-actions.js';
import { lastSeenText, statusBadge } from './device-parts.js';

interface Row {
  tr: HTMLTableRowElement;
  status: HTMLElement;
  seen: HTMLElement;
  errors: HTMLElement;
  device: Device;
  lastSeen: number | null;
}

const POLL_MS = 5000;
const COLUMNS = [
  'field.name',
  'devices.status',
  'devices.lastSeen',
  'field.model',
  'field.firmwareVersion',
  'devices.errors',
  'devices.actions',
] as const;

function deviceRow(ctx: Ctx, d: Device, onDeleted: () => void): Row {
  const [status, seen, errors] = [h('span'), h('span'), h('span')];
  const rotate = h('button', { type: 'button', class: 'secondary small' }, t('device.rotate'));
  rotate.setAttribute('aria-label', t('device.rotateWhat', { name: d.name }));
  rotate.addEventListener('click', () => void rotateSecret(ctx, d));
  const del = h('button', { type: 'button', class: 'danger small' }, t('device.delete'));
  del.setAttribute('aria-label', t('device.deleteWhat', { name: d.name }));
  del.addEventListener('click', async () => {
    if (await deleteDevice(ctx, d)) onDeleted();
  });
  const cell = (label: MessageKey, ...content: (Node | string)[]) =>
    h('td', { 'data-label': t(label) }, ...content);
  const tr = h(
    'tr',
    { 'data-device': d.id },
    h(
      'th',
      { scope: 'row', 'data-label': t('field.name') },
      h('a', { href: `#/devices/${encodeURIComponent(d.id)}` }, d.name),
    ),
    cell('devices.status', status),
    cell('devices.lastSeen', seen),
    cell('field.model', d.model ?? '–'),
    cell('field.firmwareVersion', d.firmwareVersion ?? '–'),
    cell('devices.errors', errors),
    cell('devices.actions', h('div', { class: 'row-actions' }, rotate, del)),
  );
  return { tr, status, seen, errors, device: d, lastSeen: null };
}

function paint(row: Row): void {
  replace(row.status, statusBadge(row.device.status.online));
  replace(row.seen, lastSeenText(row.lastSeen));
}

function errorCount(deviceId: string, count: number): Node | string {
  if (count === 0) return '0';
  return h(
    'a',
    { href: `#/devices/${encodeURIComponent(deviceId)}`, class: 'error-count' },
    formatNumber(count),
  );
}

export function devicesTable(ctx: Ctx, pilotId: string) {
  const rows = new Map<string, Row>();
  const tbody = h('tbody');
  const empty = h('p', {}, t('devices.none'));
  const table = tableOf(tbody);
  const base = `/v1/pilots/${encodeURIComponent(pilotId)}`;

  async function refresh(): Promise<void> {
    const [devices, counts] = await Promise.all([
      ctx.api.all<Device>(`${base}/devices`),
      ctx.api.all<{ deviceId: string; count: number }>(`${base}/error-counts`),
    ]);
    removeUnlisted(rows, devices);
    for (const d of devices) {
      let row = rows.get(d.id);
      if (!row) {
        row = deviceRow(ctx, d, () => void refresh());
        rows.set(d.id, row);
        tbody.append(row.tr);
      }
      row.device = d;
      const seen = d.status.lastSeenAt ? Date.parse(d.status.lastSeenAt) : null;
      row.lastSeen = seen === null ? row.lastSeen : Math.max(seen, row.lastSeen ?? 0);
      paint(row);
    }
    for (const c of counts) {
      const row = rows.get(c.deviceId);
      if (row) replace(row.errors, errorCount(c.deviceId, c.count));
    }
    empty.hidden = rows.size > 0;
    table.hidden = rows.size === 0;
  }

  const timer = setInterval(() => void refresh().catch(() => {}), POLL_MS);
  // A reading from a device shown offline: refresh once presence is written (batched each second).
  let soon: ReturnType<typeof setTimeout> | undefined;
  return {
    el: h('div', { class: 'table-wrap' }, empty, table),
    refresh,
    /** A live reading came from the device: it was seen now. */
    seen(deviceId: string) {
      const row = rows.get(deviceId);
      if (!row) return;
      const now = Date.now();
      // At many readings a second, repaint at most once a second per row.
      const repaint = row.lastSeen === null || now - row.lastSeen >= 1000;
      row.lastSeen = now;
      if (repaint) paint(row);
      if (!row.device.status.online) {
        soon ??= setTimeout(() => {
          soon = undefined;
          void refresh().catch(() => {});
        }, 1500);
      }
    },
    names(): Map<string, string> {
      return new Map([...rows].map(([id, r]) => [id, r.device.name]));
    },
    destroy() {
      clearInterval(timer);
      clearTimeout(soon);
    },
  };
}

function tableOf(tbody: HTMLElement): HTMLElement {
  const head = h(
    'thead',
    {},
    h(
      'tr',
      {},
      COLUMNS.map((c) => h('th', { scope: 'col' }, t(c))),
    ),
  );
  return h(
    'table',
    { class: 'devices' },
    h('caption', { class: 'offscreen' }, t('devices.title')),
    head,
    tbody,
  );
}

/** Rows of devices no longer listed (deleted meanwhile) go away. */
function removeUnlisted(rows: Map<string, Row>, devices: Device[]): void {
  const listed = new Set(devices.map((d) => d.id));
  for (const [id, row] of rows) {
    if (listed.has(id)) continue;
    row.tr.remove();
    rows.delete(id);
  }
}
