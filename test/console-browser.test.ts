/**
 * The pilot console in a real browser (Debian chromium, playwright-core) on the real platform: a
 * partner's whole day by keyboard (pilot, member, device, credentials and their snippets), live and
 * range charts, CSV equal to the API's, 中文 labels and time zones, rotation and deletion; every page
 * fits 375 px, labels every control and sends no key in a URL.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, screenshotDir, type TestBrowser } from './helpers/browser.js';
import {
  checkPageAt,
  drawnAt,
  drawnCount,
  pageLang,
  recordDrawn,
  sessionValues,
  signIn,
} from './helpers/console-page.js';
import { startTestPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/poll.js';
import { runSnippets } from './helpers/snippets.js';

const ZONE = 'Asia/Kolkata';
let platform: TestPlatform;
let browser: TestBrowser;
let page: Page;
const shots = screenshotDir('console');
const urls: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  platform = await startTestPlatform();
  browser = await launchBrowser({ timezoneId: ZONE });
  page = await browser.context.newPage();
  page.on('request', (r) => urls.push(r.url()));
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // Refused requests (the 400 this test provokes) are logged by chromium too; anything else is a bug.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
  });
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await platform?.dispose();
});

const checkPage = (name: string) => checkPageAt(page, shots, name);

it('walks a partner engineer through a pilot, in English and Chinese', { timeout: 150_000 }, async () => {
  const { apiKey, member } = await adminCreatesPartner();
  await partnerCreatesPilot(apiKey, member);
  const creds = await registerDevice(apiKey);
  const live = await liveReadings(creds);
  await rangesAndCsv(apiKey, live.last);
  await lookInBothLanguages(live);
  await rotateAndDelete(apiKey, creds, live.device);
  // The key was never in a URL; live streams used one-use tokens.
  expect(urls.filter((u) => u.includes(apiKey) || u.includes(encodeURIComponent(apiKey)))).toEqual([]);
  expect(urls.some((u) => u.includes('/telemetry/stream?token=st1.'))).toBe(true);
  expect(pageErrors).toEqual([]);
});

type Creds = { deviceId: string; password: string; mqttUrl: string; topic: string };

async function adminCreatesPartner() {
  // A wrong key is refused, in words; a partner id pasted as a key is named as one (details.looksLike).
  await page.goto(`${platform.apiUrl}/console/`);
  await page.locator('#api-key').fill('prt_abcdefghijklmnopqrst');
  await page.keyboard.press('Enter');
  const refused = page.getByRole('status').filter({ hasText: /accepted.*looks like a partner id/ });
  await refused.waitFor();
  await shots.shot(page, 'signin.png');

  // The admin creates a partner and sees its key once.
  await signIn(page, platform.apiUrl, platform.adminKey);
  await page.getByLabel('Name').fill('Bangalore Soft');
  await page.getByLabel('Country').fill('in');
  await page.getByLabel('Kind').selectOption('software');
  await page.getByRole('button', { name: 'Create partner' }).click();
  const apiKey = (await page.getByTestId('new-api-key').textContent())!;
  await checkPage('admin');
  await page.getByRole('button', { name: 'Sign out' }).click();
  const other = await platform.api('/v1/partners', {
    method: 'POST',
    key: platform.adminKey,
    json: { name: 'Shenzhen Boards', country: 'CN', kind: 'hardware' },
  });
  const member = (await other.json()) as { id: string };

  return { apiKey, member };
}

async function partnerCreatesPilot(apiKey: string, member: { id: string }) {
  // The partner signs in and creates a pilot.
  await signIn(page, platform.apiUrl, apiKey);
  expect(await sessionValues(page)).toContain(apiKey);
  await page.getByRole('heading', { name: 'Pilots', level: 1 }).waitFor();
  await checkPage('pilots');
  await page.getByLabel('Name').fill('Cold chain');
  await page.getByLabel('Description').fill('fridge sensors');
  await page.getByRole('button', { name: 'Create pilot' }).click();
  await page.getByRole('heading', { name: 'Cold chain', level: 1 }).waitFor();

  // Adds a member: its name and country appear.
  await page.getByText('Add a member').click();
  await page.getByLabel('Partner id').fill(member.id);
  await page.getByRole('button', { name: 'Add member' }).click();
  await page.getByText('Shenzhen Boards').waitFor();
  expect(await page.locator('.members').textContent()).toContain('China');
}

async function registerDevice(apiKey: string): Promise<Creds> {
  // Registers a device; the credentials and snippets are shown once.
  await page.getByText('Register a device').click();
  await page.getByLabel('Name', { exact: true }).fill('fridge-1');
  await page.getByLabel('Model').fill('FS-200');
  await page.getByLabel('Firmware').fill('1.4.2');
  await page.getByRole('button', { name: 'Register device' }).click();
  const dialog = page.getByTestId('credentials');
  await dialog.waitFor();
  const cred = async (id: string) => (await dialog.locator(`[data-cred=${id}]`).textContent())!;
  const [deviceId = '', password = '', mqttUrl = '', topic = ''] = await Promise.all(
    ['username', 'password', 'mqttUrl', 'topic'].map(cred),
  );
  expect(mqttUrl).toBe(platform.mqttUrl);
  const snippets: Record<string, string> = {};
  for (const s of ['mosquitto', 'python', 'mqttjs', 'curl']) {
    snippets[s] = (await dialog.locator(`[data-snippet=${s}]`).textContent()) ?? '';
    expect(snippets[s]).toContain(password);
  }
  // The snippets work as pasted: each stores a reading of 21.5.
  const ran = await runSnippets(snippets);
  process.stdout.write(`snippets run: ${ran.join(', ')}\n`);
  await waitFor(
    async () => {
      const res = await platform.api(`/v1/devices/${deviceId}/telemetry?keys=temperature&limit=10`, {
        key: apiKey,
      });
      const items = ((await res.json()) as { items: unknown[] }).items;
      return items.length >= ran.length || undefined;
    },
    10_000,
    "the snippets' readings",
  );
  await dialog.getByRole('button', { name: 'Copy Password (secret)' }).click();
  await page.getByText('Password (secret) copied.').waitFor();
  await shots.shot(page, 'credentials.png');
  await page.getByRole('button', { name: 'I have copied it, close' }).click();
  const row = page.locator(`tr[data-device="${deviceId}"]`);
  await row.getByText('FS-200').waitFor();
  await checkPage('pilot');

  return { deviceId, password, mqttUrl, topic };
}

async function liveReadings({ deviceId, password, mqttUrl, topic }: Creds) {
  // The device page: a reading published with mqtt.js is drawn within 2 s.
  const row = page.locator(`tr[data-device="${deviceId}"]`);
  await row.getByRole('link', { name: 'fridge-1' }).click();
  await page.getByRole('heading', { name: 'fridge-1', level: 1 }).waitFor();
  await page.locator('.badge', { hasText: 'Live' }).first().waitFor();
  await recordDrawn(page);
  const device = await mqtt.connectAsync(mqttUrl, {
    clientId: `${deviceId}-test`,
    username: deviceId,
    password,
  });
  const publish = async (values: Record<string, number | string>) => {
    const ts = Date.now();
    await device.publishAsync(topic, JSON.stringify({ ts, values }), { qos: 1 });
    return ts;
  };
  await publish({ temperature: 4.2, door: 'closed' }); // the first reading creates the chart
  await page.locator('[data-live-key=temperature] canvas').waitFor();
  // What it buffered over the last hour, as one batch (for the range charts and the CSV).
  const hourAgo = Date.now() - 3_600_000;
  const buffered = Array.from({ length: 300 }, (_, i) => ({
    ts: hourAgo + i * 11_000,
    values: { temperature: Math.round((4 + Math.sin(i / 15)) * 100) / 100 },
  }));
  await device.publishAsync(topic, JSON.stringify(buffered), { qos: 1 });
  for (let i = 0; i < 3; i++) {
    const ts = await publish({ temperature: 4 + i / 10 });
    const at = await waitFor(() => drawnAt(page, ts), 5000, 'the reading on the live chart');
    expect(at - ts, 'publish to drawn').toBeLessThan(2000);
  }
  const last = await publish({ temperature: 5.25, door: 'open' });
  await waitFor(() => drawnAt(page, last), 5000, 'the last reading');
  await expect.poll(() => page.locator('[data-key=temperature]').textContent()).toBe('5.25');
  const timeCell = page
    .locator('tr', { has: page.locator('[data-key=door]') })
    .locator('td')
    .last();
  const inZone = (loc: string) =>
    new Intl.DateTimeFormat(loc, { dateStyle: 'medium', timeStyle: 'medium', timeZone: ZONE }).format(last);
  expect(await timeCell.textContent()).toBe(inZone('en'));

  return { device, publish, last, timeCell, inZone };
}

async function rangesAndCsv(apiKey: string, last: number) {
  // Range charts: about one window per pixel of the chart's width.
  const rangeRequest = page.waitForRequest(
    (r) => r.url().includes('/telemetry?') && r.url().includes('every='),
  );
  await page.getByLabel('Time range').selectOption('day');
  const every = new URL((await rangeRequest).url()).searchParams.get('every')!;
  const width = await page.locator('#history-title ~ .charts').evaluate((el) => el.clientWidth);
  expect(every).toBe(`${Math.ceil(86_400_000 / width / 1000)}s`);
  await page.locator('#history-title ~ .charts canvas').first().waitFor();

  // CSV of the range equals the API's CSV for the same request.
  await page.getByLabel('Time range').selectOption('hour');
  const csvRequest = page.waitForRequest((r) => r.headers().accept === 'text/csv');
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download CSV' }).click();
  const csvUrl = new URL((await csvRequest).url());
  const fromBrowser = readFileSync((await (await download).path())!, 'utf8');
  const fromApi = await (
    await platform.api(csvUrl.pathname + csvUrl.search, { key: apiKey, headers: { accept: 'text/csv' } })
  ).text();
  expect(fromBrowser).toBe(fromApi);
  expect(fromBrowser.split('\r\n')[0]).toBe('ts,door,temperature');
  expect(fromBrowser).toContain(`${new Date(last).toISOString()},open,5.25`);
  expect(fromBrowser.split('\r\n').length).toBeGreaterThan(300);
}

async function lookInBothLanguages(live: Awaited<ReturnType<typeof liveReadings>>) {
  const { publish, timeCell, inZone } = live;
  // Readings keep coming while a person looks at the page (and at the screenshots).
  let step = 0;
  const ticker = setInterval(
    () => void publish({ temperature: 5 + Math.sin(step++ / 8) }).catch(() => {}),
    200,
  );
  const moreDrawn = async (n: number) => {
    const before = await drawnCount(page);
    await waitFor(
      async () => ((await drawnCount(page)) >= before + n ? true : undefined),
      10_000,
      'live readings',
    );
  };
  await moreDrawn(10);
  await checkPage('device-en');

  // 中文: labels, dates in the zone, and a translated API error; the choice is remembered.
  await page.locator('#lang').selectOption('zh');
  await page.getByRole('heading', { name: '最新数值' }).waitFor();
  expect(await pageLang(page)).toBe('zh-CN');
  expect(await timeCell.textContent()).toBe(inZone('zh-CN'));
  await page.locator('[data-live-key=temperature] canvas').waitFor();
  await moreDrawn(10);
  await checkPage('device-zh');
  clearInterval(ticker);
  await page.reload();
  await page.getByRole('heading', { name: '最新数值' }).waitFor();
  await page.getByRole('link', { name: 'Cold chain' }).click();
  await page.getByText('注册设备').first().click();
  await page.getByLabel('名称', { exact: true }).fill('   ');
  await page.getByRole('button', { name: '注册设备' }).click();
  await page.getByRole('alert').filter({ hasText: '名称: 至少需要 1 个字符' }).waitFor();
  await checkPage('pilot-zh');
}

async function rotateAndDelete(apiKey: string, { deviceId, password, mqttUrl }: Creds, device: MqttClient) {
  // Rotate the secret (confirmed): the old one stops working.
  await page.locator(`tr[data-device="${deviceId}"]`).getByRole('button', { name: '更换密钥' }).click();
  await page.getByRole('dialog').getByRole('button', { name: '更换密钥' }).click();
  const rotated = page.getByTestId('credentials');
  const newPassword = (await rotated.locator('[data-cred=password]').textContent())!;
  expect(newPassword).not.toBe(password);
  await rotated.getByRole('button', { name: '已复制，关闭' }).click();
  await device.endAsync(true);
  // The broker learns of the rotation by polling the registry (about 250 ms): until then its cache
  // still knows the old secret.
  const oldRefused = async () => {
    const opts = { clientId: `${deviceId}-old`, username: deviceId, password, reconnectPeriod: 0 };
    const c = await mqtt.connectAsync(mqttUrl, opts).catch(() => undefined);
    if (c === undefined) return true;
    await c.endAsync(true);
    return undefined;
  };
  await waitFor(oldRefused, 5000, 'the old secret to be refused');
  const fresh = await mqtt.connectAsync(mqttUrl, {
    clientId: `${deviceId}-new`,
    username: deviceId,
    password: newPassword,
    reconnectPeriod: 0,
  });
  await fresh.endAsync(true);

  // Delete it (confirmed): gone from the table and from the API.
  await page.locator(`tr[data-device="${deviceId}"]`).getByRole('button', { name: '删除' }).click();
  await page.getByRole('dialog').getByRole('button', { name: '删除' }).click();
  await page.locator(`tr[data-device="${deviceId}"]`).waitFor({ state: 'detached' });
  expect((await platform.api(`/v1/devices/${deviceId}`, { key: apiKey })).status).toBe(404);
}
