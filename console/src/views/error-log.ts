/** A device's refused messages, newest first: when, why, and the start of the payload. */
import type { Api } from '../api.js';
import { h, replace } from '../dom.js';
import { formatDateTime } from '../format.js';
import { describeError } from '../i18n/api-errors.js';
import { t } from '../i18n/index.js';

interface DeviceErrorItem {
  at: string;
  reason: string;
  payloadPrefix: string;
}

export function errorLog(api: Api, deviceId: string) {
  const body = h('div', { class: 'table-wrap' });
  async function load() {
    try {
      const page = await api.get<{ items: DeviceErrorItem[] }>(
        `/v1/devices/${encodeURIComponent(deviceId)}/errors?limit=100`,
      );
      if (page.items.length === 0) {
        replace(body, h('p', {}, t('errors.none')));
        return;
      }
      replace(
        body,
        h(
          'table',
          { class: 'errors' },
          h('caption', { class: 'offscreen' }, t('errors.title')),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, t('errors.at')),
              h('th', { scope: 'col' }, t('errors.reason')),
              h('th', { scope: 'col' }, t('errors.payload')),
            ),
          ),
          h(
            'tbody',
            {},
            page.items.map((e) =>
              h(
                'tr',
                {},
                h('td', { 'data-label': t('errors.at') }, formatDateTime(e.at)),
                // The reason is the platform's English diagnostic (it names keys and types); kept as is.
                h('td', { 'data-label': t('errors.reason'), lang: 'en' }, e.reason),
                h('td', { 'data-label': t('errors.payload') }, h('code', {}, e.payloadPrefix)),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      replace(body, h('p', { class: 'form-error' }, describeError(err)));
    }
  }
  const refresh = h('button', { type: 'button', class: 'secondary small' }, t('errors.refresh'));
  refresh.addEventListener('click', () => void load());
  const el = h(
    'section',
    { 'aria-labelledby': 'errors-title' },
    h('div', { class: 'section-head' }, h('h2', { id: 'errors-title' }, t('errors.title')), refresh),
    h('p', { class: 'hint' }, t('errors.note')),
    body,
  );
  return { el, load };
}
