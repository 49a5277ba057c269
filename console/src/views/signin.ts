/**
 * Sign in with a partner API key (or the admin key). The input has no `name`, so even a broken
 * script could not submit the key in a URL; the key goes to sessionStorage only.
 */
import { h } from '../dom.js';
import { t } from '../i18n/index.js';
import { apiForm } from './forms.js';

export function signInView(main: HTMLElement, onKey: (key: string) => Promise<void>): () => void {
  const input = h('input', {
    type: 'password',
    id: 'api-key',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'api-key-hint',
  });
  const form = apiForm({
    name: t('signin.title'),
    fields: [
      {
        apiName: 'key',
        input,
        el: h(
          'div',
          { class: 'field' },
          h('label', { for: 'api-key' }, t('signin.key')),
          input,
          h('small', { id: 'api-key-hint', class: 'hint' }, t('signin.hint')),
        ),
      },
    ],
    submit: t('signin.submit'),
    onSubmit: () => onKey(input.value.trim()),
  });
  main.append(
    h(
      'section',
      { class: 'card narrow' },
      h('h1', {}, t('signin.title')),
      h('p', {}, t('signin.intro')),
      form,
    ),
  );
  input.focus();
  return () => {};
}
