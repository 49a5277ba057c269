/**
 * The devices of a pilot: online state, last seen, model, firmware and error count. Rows are updated
 * in place (focus and reading position survive): the list and error counts are polled every 5 s,
 * and "last seen" also moves with each live reading of the pilot's stream.
 */
import type { Device } from '../api.js';
import type { Ctx } from '../context.js';
import { h, replace } from '../dom.js';
import { formatAgo, formatDateTime, formatNumber } from '../format.js';
import { t } from '../i18n/index.js';
import { deleteDevice, rotateSecret } from './device-actions.js';

interface Row {
  tr: HTMLTableRowElement;
  status: HTMLElement;
  seen: HTMLElement;
  errors: HTMLElement;
  device: Device;
  lastSeen: number | null;
}

const POLL_MS = 5000;

export function devicesTable(ctx: Ctx, pilotId: string) {
  const rows = new Map<string, Row>();
  const tbody = h('tbody');
  const empty = h('p', {}, t('devices.none'));
  const cols = [
    'field.name',
    'devices.status',
    'devices.lastSeen',
    'field.model',
    'field.firmwareVersion',
    'devices.errors',
    'devices.actions',
  ] as const;
  const table = h(
    'table',
    { class: 'devices' },
    h('caption', { class: 'offscreen' }, t('devices.title')),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        cols.map((c) => h('th', { scope: 'col' }, t(c))),
      ),
    ),
    tbody,
  );
  const el = h('div', { class: 'table-wrap' }, empty, table);

  function cell(label: string, ...content: (Node | string)[]) {
    return h('td', { 'data-label': label }, ...content);
  }

  function addRow(d: Device): Row {
    const status = h('span');
    const seen = h('span');
    const errors = h('span');
    const link = h('a', { href: `#/devices/${encodeURIComponent(d.id)}` }, d.name);
    const rotate = h('button', { type: 'button', class: 'secondary small' }, t('device.rotate'));
    rotate.setAttribute('aria-label', t('device.rotateWhat', { name: d.name }));
    rotate.addEventListener('click', () => void rotateSecret(ctx, d));
    const del = h('button', { type: 'button', class: 'danger small' }, t('device.delete'));
    del.setAttribute('aria-label', t('device.deleteWhat', { name: d.name }));
    del.addEventListener('click', async () => {
      if (await deleteDevice(ctx, d)) await refresh();
    });
    const tr = h(
      'tr',
      { 'data-device': d.id },
      h('th', { scope: 'row', 'data-label': t('field.name') }, link),
      cell(t('devices.status'), status),
      cell(t('devices.lastSeen'), seen),
      cell(t('field.model'), d.model ?? '–'),
      cell(t('field.firmwareVersion'), d.firmwareVersion ?? '–'),
      cell(t('devices.errors'), errors),
      cell(t('devices.actions'), h('div', { class: 'row-actions' }, rotate, del)),
    );
    const row: Row = { tr, status, seen, errors, device: d, lastSeen: null };
    tbody.append(tr);
    return row;
  }

  function paint(row: Row) {
    const online = row.device.status.online;
    replace(
      row.status,
      h(
        'span',
        { class: online ? 'badge online' : 'badge offline' },
        online ? t('devices.online') : t('devices.offline'),
      ),
    );
    if (row.lastSeen === null) replace(row.seen, t('devices.never'));
    else
      replace(
        row.seen,
        h(
          'time',
          { datetime: new Date(row.lastSeen).toISOString(), title: formatDateTime(row.lastSeen) },
          formatAgo(row.lastSeen),
        ),
      );
  }

  async function refresh(): Promise<void> {
    const [devices, counts] = await Promise.all([
      ctx.api.all<Device>(`/v1/pilots/${encodeURIComponent(pilotId)}/devices`),
      ctx.api.all<{ deviceId: string; count: number }>(
        `/v1/pilots/${encodeURIComponent(pilotId)}/error-counts`,
      ),
    ]);
    const seenIds = new Set<string>();
    for (const d of devices) {
      seenIds.add(d.id);
      const row = rows.get(d.id) ?? addRow(d);
      rows.set(d.id, row);
      row.device = d;
      const api = d.status.lastSeenAt ? Date.parse(d.status.lastSeenAt) : null;
      row.lastSeen = api === null ? row.lastSeen : Math.max(api, row.lastSeen ?? 0);
      paint(row);
    }
    for (const [id, row] of rows) {
      if (!seenIds.has(id)) {
        row.tr.remove();
        rows.delete(id);
      }
    }
    for (const c of counts) {
      const row = rows.get(c.deviceId);
      if (row)
        replace(
          row.errors,
          c.count > 0
            ? h(
                'a',
                { href: `#/devices/${encodeURIComponent(c.deviceId)}`, class: 'error-count' },
                formatNumber(c.count),
              )
            : '0',
        );
    }
    empty.hidden = rows.size > 0;
    table.hidden = rows.size === 0;
  }

  const timer = setInterval(() => void refresh().catch(() => {}), POLL_MS);
  return {
    el,
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
    },
    names(): Map<string, string> {
      return new Map([...rows].map(([id, r]) => [id, r.device.name]));
    },
    destroy() {
      clearInterval(timer);
    },
  };
}
