/**
 * Two languages, English and Simplified Chinese. The choice is remembered in localStorage; the
 * first visit follows the browser's languages. Messages use `{name}` placeholders; numbers and
 * dates are formatted by format.ts in the chosen language's locale and the browser's time zone.
 */
import { en, type MessageKey } from './en.js';
import { zh } from './zh.js';

export type { MessageKey };
export type Lang = 'en' | 'zh';

export const LANGS: Record<Lang, { tag: string; label: string; messages: Record<MessageKey, string> }> = {
  en: { tag: 'en', label: 'English', messages: en },
  zh: { tag: 'zh-CN', label: '简体中文', messages: zh },
};

const STORE = 'pilot-console.lang';
let current: Lang = 'en';

function detect(): Lang {
  const saved = localStorage.getItem(STORE);
  if (saved === 'en' || saved === 'zh') return saved;
  return (navigator.languages ?? [navigator.language]).some((l) => l.toLowerCase().startsWith('zh'))
    ? 'zh'
    : 'en';
}

export function initLang(): Lang {
  current = detect();
  document.documentElement.lang = LANGS[current].tag;
  return current;
}

export function setLang(lang: Lang): void {
  current = lang;
  localStorage.setItem(STORE, lang);
  document.documentElement.lang = LANGS[lang].tag;
}

export const lang = (): Lang => current;
/** The BCP 47 tag for Intl formatters. */
export const locale = (): string => LANGS[current].tag;

export function hasMessage(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  const text = LANGS[current].messages[key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}
