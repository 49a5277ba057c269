/**
 * Secrets never reach the logs: the pino output of a whole registry session at level trace (with no
 * redaction configured by the caller) contains no admin key, API key or device password, not even
 * when a handler logs the request headers or a request fails.
 */
import type { FastifyPluginAsync } from 'fastify';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  call,
  createDevice,
  createPartner,
  createPilot,
  startTestApi,
  type TestApi,
} from './helpers/api-app.js';

// A route that logs its request headers, as careless future code might.
const headerLogger: FastifyPluginAsync = async (app) => {
  app.get('/v1/debug/headers', async (request) => {
    request.log.info({ headers: request.headers }, 'headers seen');
    request.log.info({ req: { headers: request.headers } }, 'request seen');
    return { ok: true };
  });
};

let api: TestApi;
beforeEach(async () => {
  api = await startTestApi({ plugins: [headerLogger] });
});
afterEach(async () => {
  await api.close();
});

it('logs no admin key, API key or device password', async () => {
  const a = await createPartner(api, 'A');
  const b = await createPartner(api, 'B');
  const pilot = await createPilot(api, a.apiKey, 'p', [b.id]);
  const device = await createDevice(api, a.apiKey, pilot.id, 'd');
  const rotated = await call(api.app, 'POST', `/v1/devices/${device.id}/credentials`, b.apiKey);
  expect(rotated.status).toBe(200);
  await call(api.app, 'GET', `/v1/pilots/${pilot.id}/devices`, b.apiKey);
  await call(api.app, 'GET', '/v1/debug/headers', a.apiKey);
  await call(api.app, 'GET', '/v1/partners/me', `${a.apiKey}-wrong`);
  // A validation error whose input holds a secret: details name the field, never echo the value.
  const bad = await call(api.app, 'PATCH', `/v1/devices/${device.id}`, a.apiKey, {
    name: 'x',
    password: device.credentials.password,
  });
  expect(bad.status).toBe(400);
  expect(bad.raw).not.toContain(device.credentials.password);
  // A 500: the cause is logged, with the key still absent.
  await api.registry.close();
  expect((await call(api.app, 'GET', '/v1/partners/me', b.apiKey)).status).toBe(500);

  const log = api.logs.join('');
  // The capture works: the session is in the log, including the header-logging route.
  expect(log).toContain(device.id);
  expect(log).toContain('headers seen');
  expect(log).toContain('request failed');
  const secrets = {
    adminKey: api.adminKey,
    partnerKeyA: a.apiKey,
    partnerKeyB: b.apiKey,
    devicePassword: device.credentials.password,
    rotatedPassword: rotated.body.credentials.password,
  };
  for (const [name, secret] of Object.entries(secrets)) {
    expect(log.includes(secret), `${name} appears in the log`).toBe(false);
  }
  expect(log).toContain('[redacted]');
});
