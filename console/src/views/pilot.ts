/**
 * A pilot: its members (names, countries, kinds) and adding one, its devices (live table, register a
 * device and see its credentials once), and the pilot chart. One live stream feeds the table and
 * the chart.
 */
import type { Credentials, Device, Partner, Pilot } from '../api.js';
import type { View } from '../context.js';
import { announce, append, field, h, replace } from '../dom.js';
import { countryName } from '../format.js';
import { t } from '../i18n/index.js';
import { type LiveState, openLive } from '../stream.js';
import { showCredentials } from './credentials.js';
import { devicesTable } from './devices-table.js';
import { apiForm, textInput } from './forms.js';
import { pilotChart } from './pilot-chart.js';

export function liveBadge(): { el: HTMLElement; set(s: LiveState): void } {
  const el = h('span', { class: 'badge offline', 'aria-live': 'polite' });
  return {
    el,
    set(s) {
      el.className = `badge ${s === 'open' ? 'online' : 'offline'}`;
      el.textContent = t(`live.${s}`);
    },
  };
}

function membersSection(ctx: Parameters<View>[0], pilot: Pilot): HTMLElement {
  const path = `/v1/pilots/${encodeURIComponent(pilot.id)}/members`;
  const list = h('ul', { class: 'members' });
  const load = async () => {
    const members = await ctx.api.all<Partner>(path);
    replace(
      list,
      members.map((m) =>
        h(
          'li',
          {},
          h('strong', {}, m.name),
          ` · ${countryName(m.country)} · ${t(`kind.${m.kind}`)}`,
          h('code', { class: 'muted' }, m.id),
        ),
      ),
    );
  };
  const partnerId = textInput({ required: true, maxlength: 100, placeholder: 'prt_…' });
  const form = apiForm({
    name: t('members.add'),
    fields: [
      {
        apiName: 'partnerId',
        input: partnerId,
        el: field(t('field.partnerId'), partnerId, t('members.hint')),
      },
    ],
    submit: t('members.submit'),
    onSubmit: async () => {
      await ctx.api.post(path, { partnerId: partnerId.value.trim() });
      partnerId.value = '';
      announce(t('members.added'));
      await load();
    },
  });
  void load();
  return h(
    'section',
    { 'aria-labelledby': 'members-title', class: 'card' },
    h('h2', { id: 'members-title' }, t('members.title')),
    list,
    h('details', {}, h('summary', {}, t('members.add')), form),
  );
}

export const pilotView: View = async (ctx, main, pilotId) => {
  const pilot = await ctx.api.get<Pilot>(`/v1/pilots/${encodeURIComponent(pilotId)}`);
  const table = devicesTable(ctx, pilot.id);
  const chart = pilotChart(ctx.api, pilot.id, () => table.names());
  const badge = liveBadge();

  const name = textInput({ required: true, maxlength: 200 });
  const model = textInput({ maxlength: 200 });
  const firmware = textInput({ maxlength: 200 });
  const register = apiForm({
    name: t('devices.register'),
    fields: [
      { apiName: 'name', input: name, el: field(t('field.name'), name) },
      { apiName: 'model', input: model, el: field(t('field.model'), model) },
      { apiName: 'firmwareVersion', input: firmware, el: field(t('field.firmwareVersion'), firmware) },
    ],
    submit: t('devices.registerSubmit'),
    onSubmit: async () => {
      const d = await ctx.api.post<Device & { credentials: Credentials }>(
        `/v1/pilots/${encodeURIComponent(pilot.id)}/devices`,
        {
          name: name.value,
          ...(model.value.trim() ? { model: model.value } : {}),
          ...(firmware.value.trim() ? { firmwareVersion: firmware.value } : {}),
        },
      );
      name.value = '';
      model.value = '';
      firmware.value = '';
      await table.refresh();
      await showCredentials(d.name, d.credentials, t('devices.registered', { name: d.name }));
    },
  });

  append(main, [
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, t('nav.pilots')), ' / '),
    h('h1', {}, pilot.name),
    pilot.description ? h('p', {}, pilot.description) : null,
    membersSection(ctx, pilot),
    h(
      'section',
      { 'aria-labelledby': 'devices-title' },
      h('div', { class: 'section-head' }, h('h2', { id: 'devices-title' }, t('devices.title')), badge.el),
      table.el,
      h('details', { class: 'card' }, h('summary', {}, t('devices.register')), register),
    ),
    chart.el,
  ]);
  await table.refresh();
  void chart.discover([...table.names().keys()]);
  const stop = openLive(
    ctx.api,
    { pilotId: pilot.id },
    (r) => {
      table.seen(r.deviceId);
      chart.onReading(r);
    },
    badge.set,
  );
  return () => {
    stop();
    table.destroy();
    chart.destroy();
  };
};
