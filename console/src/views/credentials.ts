/**
 * The credentials of a new or rotated device, shown once in a modal dialog: each value and each
 * snippet with a copy button. Closing it is the last chance to copy the password.
 */
import type { Credentials } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n/index.js';
import { copyButton } from './copy.js';
import { snippets } from './snippets.js';

export function showCredentials(deviceName: string, c: Credentials, title: string): Promise<void> {
  return new Promise((resolve) => {
    const opener = document.activeElement as HTMLElement | null;
    const rows: [string, string, string][] = [
      ['username', t('cred.username'), c.username],
      ['password', t('cred.password'), c.password],
      ['mqttUrl', t('cred.mqttUrl'), c.mqttUrl],
      ['topic', t('cred.topic'), c.topic],
    ];
    // The broker's other listeners, when the platform runs them (MQTT over TLS, WebSocket).
    for (const scheme of ['mqtts', 'ws', 'wss'] as const) {
      const url = c.urls?.[scheme];
      if (url) rows.splice(rows.length - 1, 0, [`${scheme}Url`, t(`cred.${scheme}Url`), url]);
    }
    const close = h('button', { type: 'button' }, t('cred.close'));
    const dialog = h(
      'dialog',
      { class: 'dialog wide', 'aria-labelledby': 'cred-title', 'data-testid': 'credentials' },
      h('h2', { id: 'cred-title' }, title),
      h('p', { class: 'warning' }, t('cred.once', { name: deviceName })),
      h(
        'dl',
        { class: 'creds' },
        rows.flatMap(([id, label, value]) => [
          h('dt', {}, label),
          h('dd', {}, h('code', { 'data-cred': id }, value), copyButton(value, label)),
        ]),
      ),
      h('h3', {}, t('cred.snippets')),
      snippets(c, location.origin).map((s) =>
        h(
          'section',
          { class: 'snippet', 'aria-label': s.label },
          h('div', { class: 'snippet-head' }, h('h4', {}, s.label), copyButton(s.code, s.label)),
          h('pre', { tabindex: 0 }, h('code', { 'data-snippet': s.id }, s.code)),
        ),
      ),
      h('div', { class: 'actions' }, close),
    );
    const finish = () => {
      dialog.close();
      dialog.remove();
      opener?.focus();
      resolve();
    };
    close.addEventListener('click', finish);
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      finish();
    });
    document.body.append(dialog);
    dialog.showModal();
    close.focus();
  });
}
