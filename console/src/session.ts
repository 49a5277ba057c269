/**
 * The signed-in key lives in sessionStorage: it survives a reload of this tab, is gone when the tab
 * closes, and is never put in a URL, a cookie or a log. The language choice is remembered in
 * localStorage (it is not a secret).
 */
const KEY = 'pilot-console.key';

export const session = {
  key(): string | null {
    return sessionStorage.getItem(KEY);
  },
  set(key: string): void {
    sessionStorage.setItem(KEY, key);
  },
  clear(): void {
    sessionStorage.removeItem(KEY);
  },
};
