/** The admin key's view: create partners; each new partner's API key is shown once. */
import type { Partner } from '../api.js';
import type { View } from '../context.js';
import { field, h, replace } from '../dom.js';
import { countryName } from '../format.js';
import { t } from '../i18n/index.js';
import { copyButton } from './copy.js';
import { apiForm, select, textInput } from './forms.js';

export const kindOptions = (): [string, string][] => [
  ['hardware', t('kind.hardware')],
  ['software', t('kind.software')],
  ['both', t('kind.both')],
];

export const adminView: View = async (ctx, main) => {
  const name = textInput({ required: true, maxlength: 200 });
  const country = textInput({ required: true, maxlength: 2, size: 4, autocapitalize: 'characters' });
  const countryShown = h('span', { class: 'hint', 'aria-live': 'polite' });
  country.addEventListener('input', () => {
    countryShown.textContent = /^[A-Za-z]{2}$/.test(country.value)
      ? countryName(country.value.toUpperCase())
      : '';
  });
  const kind = select(kindOptions(), 'hardware');
  const result = h('div', { 'aria-live': 'polite' });
  const form = apiForm({
    name: t('admin.create'),
    fields: [
      { apiName: 'name', input: name, el: field(t('field.name'), name) },
      {
        apiName: 'country',
        input: country,
        el: h('div', {}, field(t('field.country'), country, t('admin.countryHint')), countryShown),
      },
      { apiName: 'kind', input: kind, el: field(t('field.kind'), kind) },
    ],
    submit: t('admin.submit'),
    onSubmit: async () => {
      const p = await ctx.api.post<Partner & { apiKey: string }>('/v1/partners', {
        name: name.value,
        country: country.value,
        kind: kind.value,
      });
      replace(
        result,
        h(
          'section',
          { class: 'card success', 'aria-labelledby': 'created-title' },
          h('h2', { id: 'created-title' }, t('admin.created', { name: p.name })),
          h('p', { class: 'warning' }, t('admin.keyOnce')),
          h(
            'dl',
            { class: 'creds' },
            h('dt', {}, t('field.partnerId')),
            h('dd', {}, h('code', {}, p.id), copyButton(p.id, t('field.partnerId'))),
            h('dt', {}, t('admin.apiKey')),
            h(
              'dd',
              {},
              h('code', { 'data-testid': 'new-api-key' }, p.apiKey),
              copyButton(p.apiKey, t('admin.apiKey')),
            ),
          ),
        ),
      );
      form.reset();
      countryShown.textContent = '';
    },
  });
  main.append(
    h('h1', {}, t('admin.title')),
    h('p', {}, t('admin.intro')),
    h('section', { class: 'card' }, h('h2', {}, t('admin.create')), form),
    result,
  );
  return undefined;
};
