import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../core/config.js';

describe('configuration', () => {
  it('applies the contract defaults', () => {
    const c = loadConfig({}, ['common', 'http', 'mqtt', 'influx', 'sim']);
    expect(c.http).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(c.mqtt).toMatchObject({ host: '127.0.0.1', port: 1883 });
    expect(c.influx).toMatchObject({ backend: 'managed', url: undefined, database: 'telemetry' });
    expect(c.common.logLevel).toBe('info');
    expect(c.sim.devices).toBeGreaterThan(0);
  });

  it('names every bad variable at once', () => {
    try {
      loadConfig({ MQTT_PORT: 'abc', HTTP_PORT: '70000', INFLUX_URL: 'nope', LOG_LEVEL: 'loud' }, [
        'common',
        'http',
        'mqtt',
        'influx',
      ]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const vars = (err as ConfigError).problems.map((p) => p.variable).sort();
      expect(vars).toEqual(['HTTP_PORT', 'INFLUX_URL', 'LOG_LEVEL', 'MQTT_PORT']);
      expect((err as ConfigError).message).toContain(
        'MQTT_PORT="abc": expected a port number from 0 to 65535',
      );
    }
  });

  it('treats an empty variable as unset', () => {
    const c = loadConfig({ HTTP_HOST: '', SERVICE_SECRET: '', INFLUX_URL: '', INFLUX_TOKEN: '' }, [
      'common',
      'http',
      'influx',
    ]);
    expect(c.http.host).toBe('127.0.0.1');
    expect(c.common.serviceSecret).toBeUndefined();
    expect(c.influx.backend).toBe('managed');
  });

  it("a device's burst is one second's worth of its rate unless DEVICE_BURST_MESSAGES sets it", () => {
    expect(loadConfig({}, ['broker']).broker).toMatchObject({
      deviceMaxMessagesPerSecond: 200,
      deviceBurstMessages: 200,
    });
    expect(loadConfig({ DEVICE_MAX_MESSAGES_PER_SECOND: '50' }, ['broker']).broker.deviceBurstMessages).toBe(
      50,
    );
    expect(loadConfig({ DEVICE_BURST_MESSAGES: '1000' }, ['broker']).broker.deviceBurstMessages).toBe(1000);
    expect(() => loadConfig({ DEVICE_BURST_MESSAGES: '0' }, ['broker'])).toThrow(/DEVICE_BURST_MESSAGES/);
  });

  it('the journal and registry own their variables; the simulator reads SIM_API_URL, SIM_API_KEY, SIM_PILOT_ID', () => {
    const c = loadConfig(
      { INGEST_SPOOL_MAX_MESSAGES: '5000', DEVICE_ERRORS_KEPT: '7', SIM_API_KEY: 'k', SIM_PILOT_ID: 'plt_x' },
      ['journal', 'registry', 'sim'],
    );
    expect(c).toMatchObject({
      journal: { maxMessages: 5000 },
      registry: { deviceErrorsKept: 7 },
      sim: { apiUrl: undefined, apiKey: 'k', pilotId: 'plt_x' },
    });
    expect(() => loadConfig({ SIM_API_URL: 'localhost:8080' }, ['sim'])).toThrow(/SIM_API_URL/);
  });

  it('validates only the sections a component asks for', () => {
    expect(() => loadConfig({ MQTT_PORT: 'abc' }, ['http'])).not.toThrow();
  });

  it('an entrypoint given a bad variable exits with code 2 and one clear message', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'main/broker.ts'], {
      env: { ...process.env, MQTT_PORT: 'abc', DATA_DIR: '/tmp/never-used' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('MQTT_PORT="abc"');
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('InfluxDB backend configuration', () => {
  const influx = (env: Record<string, string>) => loadConfig(env, ['influx']).influx;
  const badVariables = (env: Record<string, string>) => {
    try {
      loadConfig(env, ['influx']);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems.map((p) => p.variable).sort();
    }
    throw new Error('expected a ConfigError');
  };
  const v2 = {
    INFLUX_URL: 'http://127.0.0.1:8086',
    INFLUX_TOKEN: 't0k',
    INFLUX_ORG: 'acme',
    INFLUX_BUCKET: 'iot',
  };

  it('selects the backend: managed, 1.x with or without credentials, v2 API', () => {
    expect(influx({})).toMatchObject({ backend: 'managed', database: 'telemetry' });
    expect(influx({ INFLUX_URL: 'http://db:8086' })).toMatchObject({
      backend: 'v1',
      url: 'http://db:8086',
      username: undefined,
      database: 'telemetry',
    });
    expect(
      influx({
        INFLUX_URL: 'http://db:8086',
        INFLUX_USERNAME: 'u',
        INFLUX_PASSWORD: 'p',
        INFLUX_DATABASE: 'x',
      }),
    ).toMatchObject({ backend: 'v1', username: 'u', password: 'p', database: 'x' });
    // v2: the InfluxQL database defaults to the bucket's name (its DBRP mapping).
    expect(influx(v2)).toMatchObject({
      backend: 'v2',
      token: 't0k',
      org: 'acme',
      bucket: 'iot',
      database: 'iot',
    });
    expect(influx({ ...v2, INFLUX_DATABASE: 'telemetry' })).toMatchObject({ database: 'telemetry' });
  });

  it('names the variables of a wrong combination', () => {
    expect(badVariables({ INFLUX_TOKEN: 't' })).toEqual(['INFLUX_BUCKET', 'INFLUX_ORG', 'INFLUX_URL']);
    expect(badVariables({ ...v2, INFLUX_ORG: '' })).toEqual(['INFLUX_ORG']);
    expect(badVariables({ ...v2, INFLUX_USERNAME: 'u', INFLUX_PASSWORD: 'p' })).toEqual([
      'INFLUX_PASSWORD',
      'INFLUX_USERNAME',
    ]);
    expect(badVariables({ INFLUX_USERNAME: 'u', INFLUX_PASSWORD: 'p' })).toEqual(['INFLUX_URL']);
    expect(badVariables({ INFLUX_URL: 'http://db:8086', INFLUX_USERNAME: 'u' })).toEqual(['INFLUX_PASSWORD']);
    expect(
      badVariables({ INFLUX_URL: 'http://a:b@db:8086', INFLUX_USERNAME: 'u', INFLUX_PASSWORD: 'p' }),
    ).toEqual(['INFLUX_USERNAME']);
    expect(() => loadConfig({ INFLUX_TOKEN: 't', INFLUX_URL: 'http://db:8086' }, ['influx'])).toThrow(
      'INFLUX_ORG="": required with INFLUX_TOKEN (the v2 API backend needs all three)',
    );
  });

  it('an entrypoint given half a v2 configuration exits with code 2 naming the missing variables', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'main/ingest.ts'], {
      env: {
        ...process.env,
        INFLUX_URL: 'http://127.0.0.1:9',
        INFLUX_TOKEN: 'x',
        DATA_DIR: '/tmp/never-used',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('INFLUX_ORG=""');
    expect(res.stderr).toContain('INFLUX_BUCKET=""');
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });
});
