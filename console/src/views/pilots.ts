/** A partner's home: who they are (with the id to share), their pilots, and a new pilot. */
import type { Pilot } from '../api.js';
import type { View } from '../context.js';
import { field, h } from '../dom.js';
import { countryName, formatDateTime, formatNumber } from '../format.js';
import { t } from '../i18n/index.js';
import { copyButton } from './copy.js';
import { apiForm, textInput } from './forms.js';

export const pilotsView: View = async (ctx, main) => {
  if (ctx.who.kind !== 'partner') return undefined;
  const me = ctx.who.partner;
  const pilots = await ctx.api.all<Pilot>('/v1/pilots');

  const name = textInput({ required: true, maxlength: 200 });
  const description = h('textarea', { rows: 2, maxlength: 2000 });
  const form = apiForm({
    name: t('pilots.create'),
    fields: [
      { apiName: 'name', input: name, el: field(t('field.name'), name) },
      { apiName: 'description', input: description, el: field(t('field.description'), description) },
    ],
    submit: t('pilots.submit'),
    onSubmit: async () => {
      const p = await ctx.api.post<Pilot>('/v1/pilots', {
        name: name.value,
        ...(description.value.trim() ? { description: description.value } : {}),
      });
      ctx.go(`#/pilots/${encodeURIComponent(p.id)}`);
    },
  });

  const list = pilots.length === 0 ? h('p', {}, t('pilots.none')) : pilotsTable(pilots);

  main.append(
    h('h1', {}, t('pilots.title')),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'me-title' },
      h('h2', { id: 'me-title' }, t('pilots.you', { name: me.name })),
      h('p', {}, `${countryName(me.country)} · ${t(`kind.${me.kind}`)}`),
      h(
        'p',
        {},
        t('pilots.shareId'),
        ' ',
        h('code', { 'data-testid': 'my-id' }, me.id),
        ' ',
        copyButton(me.id, t('field.partnerId')),
      ),
    ),
    h('section', { 'aria-labelledby': 'list-title' }, h('h2', { id: 'list-title' }, t('pilots.list')), list),
    h('section', { class: 'card' }, h('h2', {}, t('pilots.create')), form),
  );
  return undefined;
};

function pilotsTable(pilots: Pilot[]): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', { class: 'offscreen' }, t('pilots.title')),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, t('field.name')),
          h('th', { scope: 'col' }, t('field.description')),
          h('th', { scope: 'col' }, t('pilots.members')),
          h('th', { scope: 'col' }, t('field.createdAt')),
        ),
      ),
      h(
        'tbody',
        {},
        pilots.map((p) =>
          h(
            'tr',
            {},
            h(
              'td',
              { 'data-label': t('field.name') },
              h('a', { href: `#/pilots/${encodeURIComponent(p.id)}` }, p.name),
            ),
            h('td', { 'data-label': t('field.description') }, p.description ?? ''),
            h('td', { 'data-label': t('pilots.members') }, formatNumber(p.memberIds.length)),
            h('td', { 'data-label': t('field.createdAt') }, formatDateTime(p.createdAt)),
          ),
        ),
      ),
    ),
  );
}
