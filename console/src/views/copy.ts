/** A copy button that says what it copies (to screen readers too) and whether it worked. */
import { announce, copyText, h } from '../dom.js';
import { t } from '../i18n/index.js';

export function copyButton(text: string, what: string): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'secondary small' }, t('action.copy'));
  b.setAttribute('aria-label', t('action.copyWhat', { what }));
  b.addEventListener('click', async () => {
    const ok = await copyText(text);
    announce(ok ? t('copy.done', { what }) : t('copy.failed'), ok ? 'info' : 'error');
  });
  return b;
}
