/**
 * The pilot console: a hash router over a few views, a header with navigation, language and sign
 * out, and one live region for status messages. Everything it shows comes from the public API.
 */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { ApiError, createApi, type Partner } from './api.js';
import type { Ctx, View, Who } from './context.js';
import { announce, h, replace } from './dom.js';
import { describeError, looksLikeHint } from './i18n/api-errors.js';
import { initLang, LANGS, type Lang, lang, setLang, t } from './i18n/index.js';
import { session } from './session.js';
import { adminView } from './views/admin.js';
import { deviceView } from './views/device.js';
import { pilotView } from './views/pilot.js';
import { pilotsView } from './views/pilots.js';
import { signInView } from './views/signin.js';

const root = document.getElementById('app')!;
let who: Who | undefined;
let leave: (() => void) | undefined;
let rendered = 0;

const api = createApi(
  () => session.key(),
  // A key that is really an id (prt_..., the README's old mistake) says so, translated.
  (err) => signOut(`${t('signin.rejected')}${looksLikeHint(err)}`),
);

function signOut(message?: string) {
  session.clear();
  who = undefined;
  if (location.hash !== '' && location.hash !== '#/') location.hash = '#/';
  else void render();
  if (message) announce(message, 'error');
}

async function whoAmI(): Promise<Who> {
  try {
    const partner = await api.get<Partner>('/v1/partners/me');
    return { kind: 'partner', partner };
  } catch (err) {
    // The admin key is valid but is not a partner's.
    if (err instanceof ApiError && err.reason === 'partner_key_required') return { kind: 'admin' };
    throw err;
  }
}

function header(): HTMLElement {
  const langSelect = h(
    'select',
    { id: 'lang', 'aria-label': t('nav.language') },
    ...(Object.keys(LANGS) as Lang[]).map((l) =>
      h('option', { value: l, lang: LANGS[l].tag }, LANGS[l].label),
    ),
  );
  langSelect.value = lang();
  langSelect.addEventListener('change', () => {
    setLang(langSelect.value as Lang);
    void render().then(() => document.getElementById('lang')?.focus());
  });
  const signedIn = session.key() !== null && who !== undefined;
  return h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '#/' }, t('app.title')),
    signedIn
      ? h(
          'nav',
          { 'aria-label': t('nav.main') },
          h('a', { href: '#/' }, who?.kind === 'admin' ? t('nav.admin') : t('nav.pilots')),
        )
      : null,
    h(
      'div',
      { class: 'top-right' },
      signedIn && who?.kind === 'partner' ? h('span', { class: 'who' }, who.partner.name) : null,
      signedIn && who?.kind === 'admin' ? h('span', { class: 'who' }, t('nav.adminKey')) : null,
      h('label', { class: 'lang' }, h('span', { class: 'offscreen' }, t('nav.language')), langSelect),
      signedIn
        ? h(
            'button',
            { type: 'button', class: 'secondary small', onclick: () => signOut() },
            t('nav.signOut'),
          )
        : null,
    ),
  );
}

function pick(hash: string): [View, string] {
  const [, section = '', param = ''] = hash.replace(/^#/, '').split('/');
  if (who?.kind === 'admin') return [adminView, ''];
  if (section === 'pilots' && param) return [pilotView, decodeURIComponent(param)];
  if (section === 'devices' && param) return [deviceView, decodeURIComponent(param)];
  return [pilotsView, ''];
}

async function render(): Promise<void> {
  const run = ++rendered;
  leave?.();
  leave = undefined;
  document.title = t('app.title');
  const main = h('main', { id: 'main', tabindex: -1 });
  const status = h('div', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' });
  const skip = h('a', { class: 'skip', href: '#main' }, t('nav.skip'));
  skip.addEventListener('click', (e) => {
    e.preventDefault();
    main.focus();
  });
  if (session.key() !== null && who === undefined) {
    try {
      who = await whoAmI();
    } catch (err) {
      session.clear();
      announce(describeError(err), 'error');
    }
  }
  if (run !== rendered) return;
  replace(root, skip, header(), status, main);
  const ctx: Ctx = { api, who: who ?? { kind: 'admin' }, go: (hash) => (location.hash = hash), signOut };
  if (session.key() === null || who === undefined) {
    leave = signInView(main, async (key) => {
      session.set(key);
      who = await whoAmI().catch((err) => {
        session.clear();
        throw err;
      });
      await render();
      main.ownerDocument.getElementById('main')?.focus();
    });
    return;
  }
  const [view, param] = pick(location.hash);
  try {
    const cleanup = await view(ctx, main, param);
    if (run !== rendered) cleanup?.();
    else leave = cleanup;
  } catch (err) {
    if (run === rendered) replace(main, h('p', { class: 'form-error', role: 'alert' }, describeError(err)));
  }
}

initLang();
window.addEventListener('hashchange', () => {
  void render().then(() => document.getElementById('main')?.focus());
});
void render();
