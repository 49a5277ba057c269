// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * Stream tokens (issue 14): a browser's EventSource opens a live stream with `?token=` minted by
 * `POST /v1/stream-tokens`. Over real HTTP: the token opens exactly its own stream, once, before it
 * expires, for the partner that minted it; forged, foreign and spent tokens get 401 with a reason;
 * and the token never reaches the log (Fastify logs request URLs with their query strings).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalLiveFeed } from '../api/live/local-feed.js';
import { createStreamTokens, memoryUsedTokens, streamTokenKey } from '../api/stream-tokens/token.js';
import { call } from './helpers/api-app.js';
import { startTelemetryFixture, type TelemetryFixture } from './helpers/telemetry.js';

const feed = createLocalLiveFeed();
let f: TelemetryFixture;
let base: string;

beforeAll(async () => {
  f = await startTelemetryFixture({ feed, routes: { heartbeatMs: 100 } });
  base = await f.api.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await f?.close();
});

async function mint(body: unknown, key = f.key) {
  return call(f.api.app, 'POST', '/v1/stream-tokens', key, body);
}

/** Opens `path` without an Authorization header, as EventSource does; reads until `want` or 3 s. */
async function openAnonymous(path: string, want?: (text: string) => boolean) {
  const abort = new AbortController();
  const res = await fetch(`${base}${path}`, {
    signal: abort.signal,
    headers: { accept: 'text/event-stream' },
  });
  let text = '';
  if (res.status !== 200) return { status: res.status, text, body: (await res.json()) as any };
  if (want) {
    const reader = res.body!.getReader();
    const deadline = Date.now() + 3000;
    // The read still pending when the stream is aborted rejects: that is expected.
    const read = () => {
      const r = reader.read();
      r.catch(() => {});
      return r;
    };
    let pending = read();
    while (!want(text) && Date.now() < deadline) {
      const tick = new Promise<undefined>((ok) => setTimeout(() => ok(undefined), 100));
      const r = await Promise.race([pending, tick]);
      if (r === undefined) continue;
      if (r.done) break;
      text += new TextDecoder().decode(r.value);
      pending = read();
    }
  }
  abort.abort();
  return { status: res.status, text, body: undefined as any };
}

describe('POST /v1/stream-tokens', () => {
  it('mints a token and the stream URL for a device or a pilot of the caller', async () => {
    const d = await mint({ deviceId: f.d1.id });
    expect(d.status).toBe(201);
    expect(d.body.token).toMatch(/^st1\./);
    expect(d.body.url).toBe(
      `/v1/devices/${f.d1.id}/telemetry/stream?token=${encodeURIComponent(d.body.token)}`,
    );
    const expires = Date.parse(d.body.expiresAt) - Date.now();
    expect(expires).toBeGreaterThan(50_000);
    expect(expires).toBeLessThanOrEqual(60_000);
    const p = await mint({ pilotId: f.pilotId });
    expect(p.status).toBe(201);
    expect(p.body.url).toContain(`/v1/pilots/${f.pilotId}/telemetry/stream?token=`);
  });

  it('400 for both or neither scope, 404 for a foreign device or pilot, 401 for the admin key', async () => {
    expect((await mint({})).status).toBe(400);
    expect((await mint({ deviceId: f.d1.id, pilotId: f.pilotId })).status).toBe(400);
    const foreign = await mint({ deviceId: f.outsiderDeviceId });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.details).toEqual({ reason: 'device_not_found' });
    expect((await mint({ pilotId: f.outsiderPilotId })).status).toBe(404);
    const admin = await mint({ deviceId: f.d1.id }, f.api.adminKey);
    expect(admin.status).toBe(401);
    expect(admin.body.error.details).toEqual({ reason: 'partner_key_required' });
  });
});

describe('?token= on the stream routes', () => {
  it('opens its stream once and delivers readings; a second use is refused', async () => {
    const { body } = await mint({ deviceId: f.d1.id });
    const ts = Date.UTC(2026, 0, 2);
    const publishing = setInterval(
      () =>
        feed.publish({ pilotId: f.pilotId, deviceId: f.d1.id, readings: [{ ts, values: { temp: 7.5 } }] }),
      50,
    );
    const first = await openAnonymous(body.url, (text) => text.includes('event: reading'));
    clearInterval(publishing);
    expect(first.status).toBe(200);
    expect(first.text).toContain('"temp":7.5');
    const again = await openAnonymous(body.url);
    expect(again.status).toBe(401);
    expect(again.body.error).toMatchObject({
      code: 'unauthorized',
      details: { reason: 'stream_token_used' },
    });
  });

  it('opens the pilot stream with a pilot token', async () => {
    const { body } = await mint({ pilotId: f.pilotId });
    const res = await openAnonymous(body.url, (text) => text.includes(': connected'));
    expect(res.status).toBe(200);
  });

  it('refuses a token for another stream, a tampered token and no token', async () => {
    const { body } = await mint({ deviceId: f.d1.id });
    const other = await openAnonymous(
      `/v1/devices/${f.d2.id}/telemetry/stream?token=${encodeURIComponent(body.token)}`,
    );
    expect(other.status).toBe(401);
    expect(other.body.error.details.reason).toBe('stream_token_invalid');
    const pilotRoute = await openAnonymous(
      `/v1/pilots/${f.pilotId}/telemetry/stream?token=${encodeURIComponent(body.token)}`,
    );
    expect(pilotRoute.status).toBe(401);
    const [prefix, claims, mac] = body.token.split('.');
    const decoded = JSON.parse(Buffer.from(claims, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...decoded, id: f.outsiderDeviceId })).toString('base64url');
    const tampered = await openAnonymous(
      `/v1/devices/${f.outsiderDeviceId}/telemetry/stream?token=${prefix}.${forged}.${mac}`,
    );
    expect(tampered.status).toBe(401);
    expect(tampered.body.error.details.reason).toBe('stream_token_invalid');
    const none = await openAnonymous(`/v1/devices/${f.d1.id}/telemetry/stream`);
    expect(none.status).toBe(401);
    expect(none.body.error.details.reason).toBe('api_key_missing');
    // The token still works for its own stream: failed attempts elsewhere did not spend it.
    expect((await openAnonymous(body.url, (t) => t.includes(': connected'))).status).toBe(200);
  });

  it('is not accepted on other routes', async () => {
    const { body } = await mint({ deviceId: f.d1.id });
    const res = await fetch(
      `${base}/v1/devices/${f.d1.id}/telemetry/latest?token=${encodeURIComponent(body.token)}`,
    );
    expect(res.status).toBe(401);
  });

  it('never appears in the log, not even in the request URL', async () => {
    const { body } = await mint({ deviceId: f.d2.id });
    const res = await openAnonymous(body.url, (t) => t.includes(': connected'));
    expect(res.status).toBe(200);
    await openAnonymous(body.url); // refused: logged too
    const log = f.api.logs.join('');
    expect(log).toContain(`/v1/devices/${f.d2.id}/telemetry/stream?token=[redacted]`);
    const [, claims, mac] = body.token.split('.');
    expect(log.includes(claims)).toBe(false);
    expect(log.includes(mac)).toBe(false);
  });
});

describe('the token itself', () => {
  const key = streamTokenKey('a service secret');

  it('expires after 60 s and is single-use per store', () => {
    let now = 1_000_000;
    const tokens = createStreamTokens({ key, now: () => now });
    const scope = { kind: 'device' as const, id: 'dev_a' };
    const a = tokens.mint('prt_x', scope);
    expect(a.expiresAt).toBe(now + 60_000);
    now += 60_000;
    expect(tokens.redeem(a.token, scope)).toMatchObject({ reason: 'stream_token_expired' });
    const b = tokens.mint('prt_x', scope);
    expect(tokens.redeem(b.token, scope)).toMatchObject({ partnerId: 'prt_x', kind: 'device', id: 'dev_a' });
    expect(tokens.redeem(b.token, scope)).toMatchObject({ reason: 'stream_token_used' });
  });

  it('is accepted by another replica with the same service secret, once per shared store', () => {
    const used = memoryUsedTokens();
    const replicaA = createStreamTokens({ key, used });
    const replicaB = createStreamTokens({ key: streamTokenKey('a service secret'), used });
    const scope = { kind: 'pilot' as const, id: 'plt_a' };
    const t = replicaA.mint('prt_x', scope).token;
    expect(replicaB.redeem(t, scope)).toMatchObject({ partnerId: 'prt_x' });
    expect(replicaA.redeem(t, scope)).toMatchObject({ reason: 'stream_token_used' });
    const stranger = createStreamTokens({ key: streamTokenKey(randomBytes(16).toString('hex')) });
    expect(stranger.redeem(replicaA.mint('prt_x', scope).token, scope)).toMatchObject({
      reason: 'stream_token_invalid',
    });
  });

  it('forgets spent tokens once they expire (the store stays small)', () => {
    let now = 0;
    const used = memoryUsedTokens(() => now);
    for (let i = 0; i < 1000; i++) expect(used.claim(`n${i}`, now + 60_000)).toBe(true);
    now += 60_001;
    expect(used.claim('fresh', now + 60_000)).toBe(true);
    // n0 expired and was dropped: a claim would succeed again, but its token is expired anyway.
    expect(used.claim('n0', now + 60_000)).toBe(true);
    expect(used.claim('fresh', now + 60_000)).toBe(false);
  });
});
