// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * Issue 19, item 2: failed logins must not lock anyone out. A storm of wrong API keys and wrong
 * device credentials from one address is slowed and then refused (429 with Retry-After), but only
 * for its failures: correct keys and device credentials from the same address, /metrics, health and
 * docs keep answering 2xx, during and after the storm. The storm runs against the whole platform
 * over real HTTP; the slowdown's steps are checked on the real app with injected source addresses.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsRoutes } from '../api/routes/metrics.js';
import { addressKey } from '../core/address-key.js';
import { createFailedAuthThrottle } from '../core/failed-auth-throttle.js';
import { call, createPartner, startTestApi, type TestApi } from './helpers/api-app.js';
import { eventually, provision, startTestPlatform, type TestPlatform } from './helpers/platform.js';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('the failed-authentication throttle', () => {
  it('answers a burst at once, then with a doubling capped delay, then refuses until it drains', () => {
    let now = 0;
    const t = createFailedAuthThrottle({
      free: 3,
      limit: 8,
      drainPerMinute: 60,
      baseDelayMs: 100,
      maxDelayMs: 500,
      now: () => now,
    });
    const verdicts = Array.from({ length: 10 }, () => t.fail('10.0.0.1'));
    expect(verdicts.slice(0, 3)).toEqual(Array(3).fill({ refuse: false, delayMs: 0 }));
    expect(verdicts.slice(3, 8).map((v: any) => v.delayMs)).toEqual([100, 200, 400, 500, 500]);
    expect(verdicts[8]).toEqual({ refuse: true, retryAfterMs: 1000 });
    expect(verdicts[9]).toEqual({ refuse: true, retryAfterMs: 2000 });
    // Another address is its own bucket.
    expect(t.fail('10.0.0.2')).toEqual({ refuse: false, delayMs: 0 });
    // A storm that goes on keeps the wait bounded (the level is capped at twice the limit).
    for (let i = 0; i < 1000; i++) t.fail('10.0.0.1');
    expect(t.fail('10.0.0.1')).toEqual({ refuse: true, retryAfterMs: 8000 });
    // Draining at one a second: after 16 s the address is back to its free burst.
    now += 16_000;
    expect(t.fail('10.0.0.1')).toEqual({ refuse: false, delayMs: 0 });
  });

  it('remembers a bounded number of addresses, and counts IPv6 by /64', () => {
    const t = createFailedAuthThrottle({ maxAddresses: 100 });
    for (let i = 0; i < 10_000; i++) t.fail(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    expect(t.size()).toBe(100);
    expect(addressKey('2001:db8:1:2::5')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
  });
});

describe('failed logins on the API (injected source addresses)', () => {
  let api: TestApi;
  let partner: { apiKey: string };
  beforeAll(async () => {
    api = await startTestApi({
      rateLimitPerMinute: 5,
      plugins: [metricsRoutes(new Registry())],
      failedAuth: { free: 3, limit: 6, drainPerMinute: 6, baseDelayMs: 40, maxDelayMs: 100 },
    });
    partner = await createPartner(api, 'Victim');
  });
  afterAll(async () => {
    await api?.close();
  });

  const from = (remoteAddress: string, key?: string, url = '/v1/partners/me') =>
    api.app.inject({
      url,
      remoteAddress,
      headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
    });

  it('slows, then refuses only the failures of the failing address; its correct key still works', async () => {
    const timings: number[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const started = performance.now();
      const res = await from('198.51.100.7', `wrong-key-${i}`);
      timings.push(performance.now() - started);
      statuses.push(res.statusCode);
      expect(res.json().error.code).toBe('unauthorized');
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401]);
    // Past the free burst each failure waits at least its delay (40, 80, then capped at 100 ms).
    expect(timings[3]).toBeGreaterThanOrEqual(38);
    expect(timings[4]).toBeGreaterThanOrEqual(78);
    expect(timings[5]).toBeGreaterThanOrEqual(98);

    const refused = await from('198.51.100.7', 'wrong-key-7');
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.json()).toEqual({
      error: {
        code: 'rate_limited',
        message: expect.stringMatching(/too many failed authentications/),
        details: { retryAfterSeconds: Number(refused.headers['retry-after']) },
      },
    });
    // A missing key is a failed authentication too.
    expect((await from('198.51.100.7')).statusCode).toBe(429);

    // The correct key from the very same address: answered, at once, never 429.
    const started = performance.now();
    const ok = await from('198.51.100.7', partner.apiKey);
    expect(ok.statusCode).toBe(200);
    expect(performance.now() - started).toBeLessThan(1000);
    // Another address still gets plain 401s.
    expect((await from('198.51.100.8', 'wrong')).statusCode).toBe(401);
  });

  it('counts an IPv6 /64 as one address', async () => {
    for (let i = 0; i < 7; i++) await from(`2001:db8:77:1::${i + 1}`, 'wrong');
    expect((await from('2001:db8:77:1::beef', 'wrong')).statusCode).toBe(429);
    expect((await from('2001:db8:77:2::1', 'wrong')).statusCode).toBe(401);
  });

  it('keeps health, readiness, metrics and docs out of the partner rate limit and the throttle', async () => {
    const fresh = await createPartner(api, 'Fresh');
    // Past the partner limit (5/min) and at the throttle's refusal for this address.
    for (let i = 0; i < 8; i++) await from('198.51.100.9', 'wrong');
    for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs/']) {
      for (let i = 0; i < 8; i++) {
        const res = await from('198.51.100.9', undefined, url);
        expect(res.statusCode, url).toBe(200);
      }
    }
    // Wrong keys spent nothing of the partner's own per-key budget.
    for (let i = 0; i < 5; i++)
      expect((await call(api.app, 'GET', '/v1/partners/me', fresh.apiKey)).status).toBe(200);
    expect((await call(api.app, 'GET', '/v1/partners/me', fresh.apiKey)).status).toBe(429);
  });
});

/**
 * 50 at a time from this process's address: 1,300 wrong bearer keys (what issue 19 reproduced), and
 * 300 wrong secrets of a real device or credentials of an unknown one. Resolves with status counts.
 */
async function wrongCredentialStorm(platform: TestPlatform, deviceId: string): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  const post = (id: string, password: string) =>
    fetch(`${platform.apiUrl}/v1/devices/${id}/telemetry`, {
      method: 'POST',
      headers: { authorization: basic(id, password) },
      body: '{}',
    });
  for (let wave = 0; wave < 32; wave++) {
    const batch = Array.from({ length: 50 }, (_, i) => {
      const n = wave * 50 + i;
      if (n % 16 > 2) return platform.api('/v1/pilots', { key: `wrong-${n}` });
      return n % 16 === 1 ? post(deviceId, `x${n}`) : post(`dev_unknown${n}`, 'x');
    });
    for (const res of await Promise.all(batch)) {
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      await res.arrayBuffer();
    }
  }
  return statuses;
}

describe('a wrong-key storm against the whole platform', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform();
  });
  afterAll(async () => {
    await platform?.dispose();
  });

  it('1,600 wrong keys and device secrets from one address lock out no device, partner or scraper', async () => {
    const { apiKey, devices } = await provision(platform, 2);
    const [device, other] = [devices[0]!, devices[1]!];
    const t0 = Date.now() - 60_000;
    let sent = 0;
    const ingest = (password: string, deviceId = device.deviceId) =>
      fetch(`${platform.apiUrl}/v1/devices/${deviceId}/telemetry`, {
        method: 'POST',
        headers: { authorization: basic(deviceId, password), 'content-type': 'application/json' },
        body: JSON.stringify({ ts: t0 + sent++, values: { temp: sent } }),
      });
    let stormDone = false;
    const storm = wrongCredentialStorm(platform, device.deviceId).finally(() => {
      stormDone = true;
    });
    // Meanwhile, the same address with correct credentials: every answer a 2xx.
    const legit: string[] = [];
    let accepted = 0;
    while (!stormDone) {
      const answers = await Promise.all([
        ingest(device.password),
        platform.api('/v1/pilots', { key: apiKey }),
        fetch(`${platform.apiUrl}/metrics`),
      ]);
      for (const res of answers) legit.push(`${res.status} ${res.url}`);
      if (answers[0]!.status === 202) accepted++;
      await Promise.all(answers.map((r) => r.arrayBuffer()));
      await new Promise((r) => setTimeout(r, 20));
    }
    const stormStatuses = await storm;
    expect(legit.filter((s) => !/^20[02] /.test(s))).toEqual([]);
    expect(accepted, 'readings accepted during the storm').toBeGreaterThanOrEqual(5);
    expect([...stormStatuses.keys()].sort()).toEqual([401, 429]);
    expect(stormStatuses.get(429)).toBeGreaterThan(1400);

    // After the storm: the attacker's address is refused with Retry-After, in the contract's shape...
    const wrong = await platform.api('/v1/pilots', { key: 'wrong-again' });
    expect(wrong.status).toBe(429);
    expect(Number(wrong.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await wrong.json()) as any).error.code).toBe('rate_limited');
    const wrongSecret = await ingest('not-the-secret');
    expect(wrongSecret.status).toBe(429);
    expect(((await wrongSecret.json()) as any).error.code).toBe('rate_limited');
    // ...and everything correct from it still answers 2xx.
    for (const [d, n] of [
      [device, 1],
      [other, 2],
    ] as const) {
      const res = await ingest(d.password, d.deviceId);
      expect(res.status, `device ${n}`).toBe(202);
      if (d === device) accepted++;
    }
    for (const url of ['/metrics', '/healthz', '/readyz', '/openapi.json']) {
      expect((await fetch(`${platform.apiUrl}${url}`)).status, url).toBe(200);
    }
    expect((await platform.api('/v1/partners/me', { key: apiKey })).status).toBe(200);
    // Every accepted reading of the device is stored.
    await eventually(
      async () => {
        const url = `/v1/devices/${device.deviceId}/telemetry?from=${t0 - 1}&limit=10000`;
        const res = await platform.api(url, { key: apiKey });
        const body = (await res.json()) as any;
        return body.items.length === accepted ? true : undefined;
      },
      15_000,
      `${accepted} stored readings`,
    );
  }, 120_000);
});
