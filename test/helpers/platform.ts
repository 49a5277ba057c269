/**
 * The whole platform in the test process, on free ports, with a temp DATA_DIR and the run's shared
 * influxd (a fresh database each), plus shortcuts to provision through the real API.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { ALL_SECTIONS, loadConfig, type PlatformConfig } from '../../core/config.js';
import { type Logger, silentLogger } from '../../core/log.js';
import { type RunningPlatform, startPlatform } from '../../platform/start.js';
import { uniqueDatabase } from './influxd.js';

export interface TestPlatform extends RunningPlatform {
  config: PlatformConfig;
  adminKey: string;
  dataDir: string;
  /** fetch against the API with a bearer key. */
  api(pathAndQuery: string, init?: RequestInit & { key?: string; json?: unknown }): Promise<Response>;
  dispose(): Promise<void>;
}

export async function startTestPlatform(
  env: Record<string, string> = {},
  opts: { logger?: Logger } = {},
): Promise<TestPlatform> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'platform-test-'));
  const adminKey = `adm_${randomBytes(24).toString('base64url')}`;
  const config = loadConfig(
    {
      HTTP_PORT: '0',
      MQTT_PORT: '0',
      DATA_DIR: dataDir,
      ADMIN_API_KEY: adminKey,
      INFLUX_URL: inject('influxUrl'),
      INFLUX_DATABASE: uniqueDatabase('platform'),
      SIM_DEVICES: '0',
      LOG_LEVEL: 'silent',
      INGEST_FLUSH_MS: '20',
      ...env,
    },
    ALL_SECTIONS,
  ) as PlatformConfig;
  const platform = await startPlatform(config, { logger: opts.logger ?? silentLogger() });
  const api: TestPlatform['api'] = (pathAndQuery, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.key) headers.set('authorization', `Bearer ${init.key}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    return fetch(`${platform.apiUrl}${pathAndQuery}`, { ...init, headers, body });
  };
  return Object.assign(platform, {
    config,
    adminKey,
    dataDir,
    api,
    async dispose() {
      await platform.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

export interface ProvisionedDevice {
  deviceId: string;
  password: string;
  mqttUrl: string;
  topic: string;
}

/** A partner, a pilot and `devices` devices, created through the API as a partner engineer would. */
export async function provision(platform: TestPlatform, devices = 1, name = 'Acme') {
  const partnerRes = await platform.api('/v1/partners', {
    method: 'POST',
    key: platform.adminKey,
    json: { name, country: 'IN', kind: 'software' },
  });
  if (partnerRes.status !== 201) throw new Error(`partner: ${partnerRes.status} ${await partnerRes.text()}`);
  const partner = (await partnerRes.json()) as { id: string; apiKey: string };
  const pilotRes = await platform.api('/v1/pilots', {
    method: 'POST',
    key: partner.apiKey,
    json: { name: `${name} pilot` },
  });
  const pilot = (await pilotRes.json()) as { id: string };
  const created: ProvisionedDevice[] = [];
  for (let i = 0; i < devices; i++) {
    const res = await platform.api(`/v1/pilots/${pilot.id}/devices`, {
      method: 'POST',
      key: partner.apiKey,
      json: { name: `device ${i + 1}` },
    });
    if (res.status !== 201) throw new Error(`device: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as {
      id: string;
      credentials: { username: string; password: string; mqttUrl: string; topic: string };
    };
    created.push({ deviceId: body.id, ...body.credentials });
  }
  return { partnerId: partner.id, apiKey: partner.apiKey, pilotId: pilot.id, devices: created };
}
