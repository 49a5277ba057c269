/**
 * Forms that talk to the API: a visible label per field, the submit button busy while waiting, and
 * a refused request shown in the user's language next to the form (role=alert), with the fields the
 * API named marked invalid for screen readers.
 */
import { ApiError } from '../api.js';
import { h } from '../dom.js';
import { describeError } from '../i18n/api-errors.js';

type Input = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

export function apiForm(opts: {
  name: string;
  fields: { apiName: string; input: Input; el: HTMLElement }[];
  submit: string;
  onSubmit: () => Promise<void>;
}): HTMLFormElement {
  const error = h('p', { class: 'form-error', role: 'alert' });
  const button = h('button', { type: 'submit' }, opts.submit);
  const form = h(
    'form',
    { 'aria-label': opts.name, novalidate: false },
    opts.fields.map((f) => f.el),
    h('div', { class: 'actions' }, button),
    error,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    for (const f of opts.fields) f.input.removeAttribute('aria-invalid');
    button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await opts.onSubmit();
    } catch (err) {
      error.textContent = describeError(err);
      if (err instanceof ApiError) {
        for (const p of err.fields) {
          const f = opts.fields.find((x) => p.path.split('.')[1] === x.apiName);
          f?.input.setAttribute('aria-invalid', 'true');
        }
        opts.fields.find((f) => f.input.getAttribute('aria-invalid') === 'true')?.input.focus();
      }
    } finally {
      button.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
  return form;
}

export function textInput(attrs: Record<string, string | number | boolean> = {}): HTMLInputElement {
  return h('input', { type: 'text', autocomplete: 'off', ...attrs });
}

export function select(options: [value: string, label: string][], value?: string): HTMLSelectElement {
  const el = h('select', {}, ...options.map(([v, label]) => h('option', { value: v }, label)));
  if (value !== undefined) el.value = value;
  return el;
}
