/**
 * Steps a person takes in the console, for the browser tests and the console bench: open it, sign
 * in with the keyboard, and watch what the live charts draw (their `console:drawn` events).
 */
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

// The functions given to page.evaluate run in the browser; this Node project has no DOM types.
// biome-ignore lint/suspicious/noExplicitAny: the page's globals, typed where used
declare const window: any;
// biome-ignore lint/suspicious/noExplicitAny: the page's globals, typed where used
declare const document: any;

/** Opens the console and signs in by typing the key and pressing Enter. */
export async function signIn(page: Page, apiUrl: string, key: string): Promise<void> {
  await page.goto(`${apiUrl}/console/`);
  const input = page.locator('#api-key');
  await input.waitFor();
  await input.focus();
  await page.keyboard.type(key);
  await page.keyboard.press('Enter');
  await page.locator('#api-key').waitFor({ state: 'detached' });
}

/** Starts recording, in the page, every reading time the live charts draw and when they drew it. */
export async function recordDrawn(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __drawn: { ts: number; at: number }[] };
    w.__drawn = [];
    document.addEventListener('console:drawn', (e: unknown) => {
      const at = Date.now();
      for (const ts of (e as { detail: { ts: number[] } }).detail.ts) w.__drawn.push({ ts, at });
    });
  });
}

/** The page's session storage values (the signed-in key lives there). */
export async function sessionValues(page: Page): Promise<string[]> {
  return page.evaluate(() => Object.values(window.sessionStorage) as string[]);
}

/** The page's `<html lang>`. */
export async function pageLang(page: Page): Promise<string> {
  return page.evaluate(() => document.documentElement.lang as string);
}

/** When (epoch ms, in the page) a reading with time `ts` was first drawn, or undefined. */
export async function drawnAt(page: Page, ts: number): Promise<number | undefined> {
  return page.evaluate(
    (t) =>
      (window as unknown as { __drawn: { ts: number; at: number }[] }).__drawn.find((d) => d.ts === t)?.at,
    ts,
  );
}

/** Starts counting animation frames in the page (their timestamps, ms). */
export async function recordFrames(page: Page): Promise<void> {
  // A string: tsx (the bench) would wrap a named function in a helper the page does not have.
  await page.evaluate(`(() => {
    window.__frames = [];
    window.__longTasks = 0;
    const tick = (t) => { window.__frames.push(t); requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    new PerformanceObserver((list) => { window.__longTasks += list.getEntries().length; })
      .observe({ entryTypes: ['longtask'] });
  })()`);
}

/** What `recordDrawn` and `recordFrames` collected. */
export async function collected(
  page: Page,
): Promise<{ drawn: { ts: number; at: number }[]; frames: number[]; longTasks: number }> {
  return page.evaluate(() => ({
    drawn: window.__drawn ?? [],
    frames: window.__frames ?? [],
    longTasks: window.__longTasks ?? 0,
  }));
}

/** How many readings the live charts have drawn since `recordDrawn`. */
export async function drawnCount(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { __drawn: unknown[] }).__drawn.length);
}

/** True when nothing on the page is wider than the viewport (no sideways scrolling). */
export async function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

/** Visible form controls without an accessible name (a label, aria-label or aria-labelledby). */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => (el as unknown as { offsetParent: unknown }).offsetParent !== null)
      .filter((el) => {
        const labelled =
          ((el as unknown as { labels?: { length: number } }).labels?.length ?? 0) > 0 ||
          el.getAttribute('aria-label') ||
          el.getAttribute('aria-labelledby') ||
          (el.tagName === 'BUTTON' && el.textContent?.trim());
        return !labelled;
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
}

/** Every control labelled, and the page fits 375 px; screenshots of both widths. */
export async function checkPageAt(
  page: Page,
  shots: { shot(page: Page, name: string): Promise<unknown> },
  name: string,
): Promise<void> {
  expect(await unlabelledControls(page), `${name}: unlabelled controls`).toEqual([]);
  await shots.shot(page, `${name}.png`);
  await page.setViewportSize({ width: 375, height: 800 });
  await page.waitForTimeout(300); // charts follow their container's width
  expect(await fitsWidth(page), `${name} at 375 px`).toBe(true);
  await shots.shot(page, `${name}-375px.png`);
  await page.setViewportSize({ width: 1200, height: 900 });
}
