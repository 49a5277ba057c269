/** A confirmation in a native modal dialog: focus moves into it, Esc cancels, focus returns after. */
import { h } from '../dom.js';
import { t } from '../i18n/index.js';

export function confirmDialog(opts: { title: string; message: string; confirm: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const opener = document.activeElement as HTMLElement | null;
    const titleId = `confirm-title-${Date.now()}`;
    const cancel = h('button', { type: 'button', class: 'secondary' }, t('action.cancel'));
    const ok = h('button', { type: 'button', class: 'danger' }, opts.confirm);
    const dialog = h(
      'dialog',
      { 'aria-labelledby': titleId, class: 'dialog' },
      h('h2', { id: titleId }, opts.title),
      h('p', {}, opts.message),
      h('div', { class: 'actions' }, cancel, ok),
    );
    const finish = (answer: boolean) => {
      dialog.close();
      dialog.remove();
      opener?.focus();
      resolve(answer);
    };
    cancel.addEventListener('click', () => finish(false));
    ok.addEventListener('click', () => finish(true));
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
