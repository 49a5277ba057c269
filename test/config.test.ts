import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../core/config.js';

describe('configuration', () => {
  it('applies the contract defaults', () => {
    const c = loadConfig({}, ['common', 'http', 'mqtt', 'influx', 'sim']);
    expect(c.http).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(c.mqtt).toMatchObject({ host: '127.0.0.1', port: 1883 });
    expect(c.influx).toMatchObject({ url: undefined, database: 'telemetry' });
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
