// biome-ignore-all lint/suspicious/noExplicitAny: test bodies are parsed JSON, checked field by field
/**
 * A real API over a real registry (SQLite in a temp dir, or one passed in), for `app.inject()` tests, plus small helpers
 * that walk the contract's registry steps (partner, pilot, device).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, FastifyPluginAsync, InjectOptions } from 'fastify';
import { pino } from 'pino';
import { type ApiDeps, buildApp } from '../../api/app.js';
import type { FailedAuthOptions } from '../../core/failed-auth-throttle.js';
import { openSqliteRegistry } from '../../core/registry/sqlite/index.js';
import type { RegistryStore } from '../../core/registry/types.js';
import { generateSecret, hashSecret } from '../../core/secrets.js';
import { closeAfterTest } from './teardown.js';

export const MQTT_URL = 'mqtt://127.0.0.1:1883';

export interface TestApi {
  app: FastifyInstance;
  registry: RegistryStore;
  adminKey: string;
  /** Every log line the app wrote (pino JSON), at level trace. */
  logs: string[];
  dir: string;
  close(): Promise<void>;
}

export async function startTestApi(
  opts: {
    rateLimitPerMinute?: number;
    readinessChecks?: { name: string; check: () => Promise<void> }[];
    plugins?: FastifyPluginAsync[];
    /** Default: the production counts with millisecond delays, so suites of 401 checks stay fast. */
    failedAuth?: Partial<FailedAuthOptions>;
    /** The registry to serve (closed with the API); default a SQLite one in the temp dir. */
    registry?: RegistryStore;
    /** More of the app's dependencies (stream tokens, CORS origins, the console). */
    deps?: Partial<ApiDeps>;
  } = {},
): Promise<TestApi> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'api-test-'));
  const registry = opts.registry ?? openSqliteRegistry(path.join(dir, 'registry.db'));
  const adminKey = generateSecret();
  const logs: string[] = [];
  // No redaction configured here on purpose: the app itself must keep secrets out of its logs.
  const logger = pino({ level: 'trace' }, { write: (line: string) => void logs.push(line) });
  const app = await buildApp({
    registry,
    logger,
    adminKeyHash: hashSecret(adminKey),
    mqttPublicUrl: MQTT_URL,
    rateLimitPerMinute: opts.rateLimitPerMinute ?? 100_000,
    readinessChecks: opts.readinessChecks ?? [],
    plugins: opts.plugins ?? [],
    failedAuth: opts.failedAuth ?? { baseDelayMs: 1, maxDelayMs: 5 },
    ...opts.deps,
  });
  await app.ready();
  return closeAfterTest({
    app,
    registry,
    adminKey,
    logs,
    dir,
    async close() {
      await app.close();
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** `app.inject` returning status and parsed JSON body (or undefined for an empty body). */
export async function call(
  app: FastifyInstance,
  method: InjectOptions['method'],
  url: string,
  key?: string,
  payload?: unknown,
): Promise<{ status: number; body: any; raw: string }> {
  const res = await app.inject({
    method,
    url,
    headers: key === undefined ? {} : bearer(key),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return {
    status: res.statusCode,
    body: res.body.length > 0 ? JSON.parse(res.body) : undefined,
    raw: res.body,
  };
}

export async function createPartner(api: TestApi, name: string, kind = 'hardware', country = 'DE') {
  const res = await call(api.app, 'POST', '/v1/partners', api.adminKey, { name, country, kind });
  if (res.status !== 201) throw new Error(`create partner: ${res.status} ${res.raw}`);
  return res.body as { id: string; name: string; apiKey: string };
}

export async function createPilot(api: TestApi, key: string, name: string, partnerIds?: string[]) {
  const res = await call(api.app, 'POST', '/v1/pilots', key, { name, ...(partnerIds ? { partnerIds } : {}) });
  if (res.status !== 201) throw new Error(`create pilot: ${res.status} ${res.raw}`);
  return res.body as { id: string; memberIds: string[] };
}

export async function createDevice(api: TestApi, key: string, pilotId: string, name: string) {
  const res = await call(api.app, 'POST', `/v1/pilots/${pilotId}/devices`, key, { name });
  if (res.status !== 201) throw new Error(`create device: ${res.status} ${res.raw}`);
  return res.body as {
    id: string;
    credentials: { username: string; password: string; mqttUrl: string; topic: string };
  };
}
