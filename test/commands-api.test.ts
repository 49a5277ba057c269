// biome-ignore-all lint/suspicious/noExplicitAny: test bodies are parsed JSON, checked field by field
/**
 * The command routes' bounds (issue 15), through app.inject on each real registry store (SQLite,
 * PostgreSQL: test/helpers/registry-stores.ts): a 400 naming the field for a bad name, params too
 * large, a ttl out of range, an unknown field; a 429 past the open commands of a device; operationIds
 * in the OpenAPI description.
 */
import { describe, expect, it } from 'vitest';
import { call, createDevice, createPartner, createPilot, startTestApi } from './helpers/api-app.js';
import { registryStores } from './helpers/registry-stores.js';

describe.each(registryStores())('command routes on $kind: bounds', ({ startApi }) => {
  it('refuse bad bodies naming the field, and past the open commands of a device with 429', async () => {
    const api = await startApi({ deps: { commandsMaxOpenPerDevice: 2 } });
    const partner = await createPartner(api, 'Bounds');
    const pilot = await createPilot(api, partner.apiKey, 'bounds');
    const device = await createDevice(api, partner.apiKey, pilot.id, 'd');
    const url = `/v1/devices/${device.id}/commands`;
    const field = async (body: unknown) => {
      const res = await call(api.app, 'POST', url, partner.apiKey, body);
      expect(res.status).toBe(400);
      return res.body.error.details.map((d: any) => [d.path, d.code]);
    };
    expect(await field({ name: 'bad name' })).toEqual([['body.name', 'invalid_format']]);
    expect(await field({ name: 'x', params: { blob: 'y'.repeat(9000) } })).toEqual([
      ['body.params', 'invalid'],
    ]);
    expect(await field({ name: 'x', ttlMs: 10 })).toEqual([['body.ttlMs', 'too_small']]);
    expect(await field({ name: 'x', ttlMs: 8 * 24 * 3600 * 1000 })).toEqual([['body.ttlMs', 'too_big']]);
    expect(await field({ name: 'x', extra: 1 })).toEqual([['body.extra', 'unknown_field']]);
    expect(await field({})).toEqual([['body.name', 'required']]);

    for (let i = 0; i < 2; i++)
      expect((await call(api.app, 'POST', url, partner.apiKey, { name: 'x' })).status).toBe(202);
    const over = await call(api.app, 'POST', url, partner.apiKey, { name: 'x' });
    expect(over.status).toBe(429);
    expect(over.body.error.details).toEqual({ reason: 'too_many_open_commands', limit: 2 });
    // Cancelling a queued one frees a place.
    const queued = (await call(api.app, 'GET', url, partner.apiKey)).body.items[0].commandId;
    expect((await call(api.app, 'POST', `${url}/${queued}/cancel`, partner.apiKey)).status).toBe(200);
    expect((await call(api.app, 'POST', url, partner.apiKey, { name: 'x' })).status).toBe(202);
  });

  it('hold a device to its own rate on its HTTP routes (429 with Retry-After), and to its own id', async () => {
    const api = await startApi({ deps: { deviceRate: { perSecond: 1, burst: 2 } } });
    const partner = await createPartner(api, 'Rate');
    const pilot = await createPilot(api, partner.apiKey, 'rate');
    const [d, other] = [
      await createDevice(api, partner.apiKey, pilot.id, 'd'),
      await createDevice(api, partner.apiKey, pilot.id, 'e'),
    ];
    const basic = (id: string, secret: string) =>
      `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    const pending = (id: string, auth: string) =>
      api.app.inject({ url: `/v1/devices/${id}/commands/pending`, headers: { authorization: auth } });
    const own = basic(d.id, d.credentials.password);
    expect((await pending(d.id, own)).statusCode).toBe(200);
    expect((await pending(d.id, own)).statusCode).toBe(200);
    const limited = await pending(d.id, own);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    // Another device's budget is its own; its credentials do not open this device's routes.
    expect((await pending(other.id, basic(other.id, other.credentials.password))).statusCode).toBe(200);
    expect((await pending(d.id, basic(other.id, other.credentials.password))).statusCode).toBe(401);
  });
});

describe('command routes: description', () => {
  it('name every command and twin route in the OpenAPI description', async () => {
    const api = await startTestApi();
    const doc = (await api.app.inject({ url: '/openapi.json' })).json() as any;
    const ids = Object.entries(doc.paths as Record<string, any>)
      .filter(([p]) => p.includes('/commands') || p.includes('/twin'))
      .flatMap(([, ops]) => Object.values(ops).map((o: any) => o.operationId))
      .sort();
    expect(ids).toEqual([
      'answerCommand',
      'cancelCommand',
      'getCommand',
      'getTwin',
      'listCommands',
      'patchTwinDesired',
      'reportTwin',
      'sendCommand',
      'takePendingCommands',
    ]);
  });
});
