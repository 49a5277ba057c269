/**
 * A device's commands and twin (issue 15): send a command (name and JSON params), the latest
 * commands with their status and times, and the twin (desired, reported, delta) with a form that
 * merges a JSON patch into the desired state at the version shown (a stale one: translated 412).
 */
import { type Api, ApiError } from '../api.js';
import { field, h, replace } from '../dom.js';
import { formatDateTime } from '../format.js';
import { describeError } from '../i18n/api-errors.js';
import { hasMessage, t } from '../i18n/index.js';
import { apiForm, textInput } from './forms.js';

interface CommandItem {
  commandId: string;
  name: string;
  status: string;
  queuedAt: string;
  succeededAt: string | null;
  failedAt: string | null;
  expiredAt: string | null;
  cancelledAt: string | null;
  sentBy: string;
}

interface TwinView {
  desired: unknown;
  reported: unknown;
  delta: unknown;
  version: number;
}

const json = (v: unknown) => h('pre', { class: 'json' }, JSON.stringify(v, null, 2));

/** Parses the text of a JSON field (an empty one is `empty`); not JSON: the API's own 400 shape. */
function parseJson(text: string, empty: unknown, apiName: string): unknown {
  try {
    return text.trim() === '' ? empty : JSON.parse(text);
  } catch {
    const path = `body.${apiName}`;
    throw new ApiError(400, 'validation_error', `${path}: not JSON`, [
      { path, message: 'not JSON', code: 'invalid_json' },
    ]);
  }
}

function statusText(status: string): string {
  const key = `commands.status.${status}`;
  return hasMessage(key) ? t(key) : status;
}

function commandRow(c: CommandItem): HTMLElement {
  const ended = c.succeededAt ?? c.failedAt ?? c.expiredAt ?? c.cancelledAt;
  return h(
    'tr',
    {},
    h('td', { 'data-label': t('commands.name') }, h('code', {}, c.name)),
    h('td', { 'data-label': t('commands.status') }, statusText(c.status)),
    h('td', { 'data-label': t('commands.queued') }, formatDateTime(c.queuedAt)),
    h('td', { 'data-label': t('commands.ended') }, ended ? formatDateTime(ended) : '–'),
    h('td', { 'data-label': t('commands.sentBy') }, h('code', {}, c.sentBy)),
  );
}

export function deviceControl(api: Api, deviceId: string) {
  const base = `/v1/devices/${encodeURIComponent(deviceId)}`;
  const list = h('div', { class: 'table-wrap' });
  const twinBody = h('div', {});
  let version = 0;

  async function load() {
    try {
      const [page, twin] = await Promise.all([
        api.get<{ items: CommandItem[] }>(`${base}/commands?limit=10`),
        api.get<TwinView>(`${base}/twin`),
      ]);
      version = twin.version;
      replace(
        list,
        page.items.length === 0
          ? h('p', {}, t('commands.none'))
          : h(
              'table',
              {},
              h('caption', { class: 'offscreen' }, t('commands.title')),
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...(
                    [
                      'commands.name',
                      'commands.status',
                      'commands.queued',
                      'commands.ended',
                      'commands.sentBy',
                    ] as const
                  ).map((k) => h('th', { scope: 'col' }, t(k))),
                ),
              ),
              h('tbody', {}, page.items.map(commandRow)),
            ),
      );
      replace(
        twinBody,
        h('p', {}, t('twin.version', { version: String(twin.version) })),
        h('h3', {}, t('twin.desired')),
        json(twin.desired),
        h('h3', {}, t('twin.reported')),
        json(twin.reported),
        h('h3', {}, t('twin.delta')),
        json(twin.delta),
      );
    } catch (err) {
      replace(list, h('p', { class: 'form-error' }, describeError(err)));
    }
  }

  const name = textInput({ value: 'setInterval', required: true, maxlength: 64 });
  const params = h('textarea', { rows: 2 }, '{"ms": 1000}');
  const sendForm = apiForm({
    name: t('commands.send'),
    fields: [
      { apiName: 'name', input: name, el: field(t('commands.name'), name) },
      { apiName: 'params', input: params, el: field(t('commands.params'), params, t('commands.paramsHint')) },
    ],
    submit: t('commands.send'),
    onSubmit: async () => {
      await api.post(`${base}/commands`, {
        name: name.value.trim(),
        params: parseJson(params.value, null, 'params'),
      });
      await load();
    },
  });
  const patch = h('textarea', { rows: 2 }, '{"intervalMs": 5000}');
  const twinForm = apiForm({
    name: t('twin.apply'),
    fields: [{ apiName: 'desired', input: patch, el: field(t('twin.patch'), patch, t('twin.patchHint')) }],
    submit: t('twin.apply'),
    onSubmit: async () => {
      await api.patch(
        `${base}/twin`,
        { desired: parseJson(patch.value, {}, 'desired') },
        { 'if-match': `"${version}"` },
      );
      await load();
    },
  });
  const refresh = h('button', { type: 'button', class: 'secondary small' }, t('errors.refresh'));
  refresh.addEventListener('click', () => void load());
  const el = h(
    'section',
    { 'aria-labelledby': 'commands-title' },
    h('div', { class: 'section-head' }, h('h2', { id: 'commands-title' }, t('commands.title')), refresh),
    h('p', { class: 'hint' }, t('commands.note')),
    sendForm,
    list,
    h('h2', { id: 'twin-title' }, t('twin.title')),
    twinBody,
    twinForm,
  );
  return { el, load };
}
