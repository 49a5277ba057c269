/**
 * Debian's chromium driven by playwright-core, headless, with a fresh profile in a temp dir, and a
 * folder for the run's screenshots (printed, kept after the run).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(
  opts: { locale?: string; timezoneId?: string; viewport?: { width: number; height: number } } = {},
): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium (./platform.sh setup does)`);
  }
  const profile = mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    locale: opts.locale ?? 'en-US',
    timezoneId: opts.timezoneId,
    viewport: opts.viewport ?? { width: 1200, height: 900 },
    acceptDownloads: true,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A folder for this run's screenshots; its path is printed so a person can look at them. */
export function screenshotDir(name: string): {
  dir: string;
  shot(page: Page, file: string): Promise<string>;
} {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${name}-screenshots-`));
  process.stdout.write(`screenshots of this run: ${dir}\n`);
  return {
    dir,
    async shot(page, file) {
      const p = path.join(dir, file);
      await page.screenshot({ path: p, fullPage: true });
      return p;
    },
  };
}
