/**
 * The quick start as a newcomer runs it: `npm start` (main/all.ts) with a managed influxd and the
 * simulated fleet; simulated readings come back within 10 s; SIGINT stops everything within 5 s and
 * leaves no influxd behind. A bad variable exits with code 2.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { influxdRunning } from '../core/influx/managed.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'quickstart-test-'));
let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function startPlatformProcess(env: Record<string, string>) {
  const { INFLUX_URL: _ignored, ADMIN_API_KEY: _ignored2, ...inherited } = process.env;
  return spawn(process.execPath, ['--import', 'tsx', 'main/all.ts'], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('quick start', () => {
  it('brings the platform up with a simulated fleet, serves its readings, and stops cleanly', async () => {
    child = startPlatformProcess({
      DATA_DIR: dataDir,
      HTTP_PORT: '0',
      MQTT_PORT: '0',
      SIM_DEVICES: '3',
      INFLUX_MANAGED_PORT: '0', // tests never take a fixed port (8086)
      SIM_INTERVAL_MS: '200',
      LOG_LEVEL: '', // the default level: requests must not bury the banner
    });
    let out = '';
    child.stdout!.on('data', (b) => {
      out += b;
    });
    child.stderr!.on('data', (b) => {
      out += b;
    });
    const banner = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner:\n${out}`)), 60_000);
      child!.stdout!.on('data', () => {
        if (out.includes('Ctrl-C stops everything')) {
          clearTimeout(timer);
          resolve(out);
        }
      });
      child!.on('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
    });
    expect(banner).toMatch(/API\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(banner).toMatch(/MQTT\s+mqtt:\/\/127\.0\.0\.1:\d+/);
    expect(banner).toMatch(/Admin key\s+ak_/);
    // Ready-to-paste exports, last before "Ctrl-C", pointing to the README's first steps.
    const tail = banner.slice(banner.indexOf('Ready to paste'));
    expect(tail).toContain(`A partner engineer's first steps, with curl`);
    const exported = Object.fromEntries(
      [...tail.matchAll(/\b([A-Z_]+)=(\S+)/g)].map(([, name, value]) => [name, value]),
    );
    expect(exported.API).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(exported.MQTT).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(exported.KEY).toMatch(/^pk_/);
    expect(exported.PILOT).toMatch(/^plt_/);
    expect(exported.DEVICE).toMatch(/^dev_/);
    expect(exported.ADMIN_KEY).toMatch(/^ak_/);
    // The quick start serves MQTT over TLS and WebSocket too, with a development CA in DATA_DIR.
    expect(exported.MQTTS).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(exported.WS).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);
    expect(exported.WSS).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/mqtt$/);
    expect(exported.CAFILE).toBe(path.join(dataDir, 'tls', 'ca.pem'));
    const key = exported.KEY!;
    const url = `${exported.API}/v1/devices/${exported.DEVICE}/telemetry?order=desc&limit=5`;

    await new Promise((r) => setTimeout(r, 500)); // start-up logs on stderr may trail the banner
    const quietFrom = out.length;
    const started = Date.now();
    let items: unknown[] = [];
    while (Date.now() - started < 10_000 && items.length === 0) {
      const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
      if (res.ok) items = ((await res.json()) as { items: unknown[] }).items;
      if (items.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(items.length).toBeGreaterThan(0);

    // At the default level the requests above logged nothing: the banner stays the last output.
    await new Promise((r) => setTimeout(r, 300));
    expect(out.slice(quietFrom)).toBe('');

    const influxdPid = Number(readFileSync(path.join(dataDir, 'influxdb', 'influxd.pid'), 'utf8'));
    expect(influxdRunning(influxdPid)).toBe(true);
    const stopAt = Date.now();
    const exited = new Promise<number | null>((r) => child!.on('exit', (code) => r(code)));
    child.kill('SIGINT');
    const code = await exited;
    expect(Date.now() - stopAt).toBeLessThan(5000);
    expect(code).toBe(0);
    expect(influxdRunning(influxdPid)).toBe(false);
  });

  it('a bad variable stops it with one clear message and exit code 2', async () => {
    const proc = startPlatformProcess({ DATA_DIR: dataDir, MQTT_PORT: 'abc' });
    let err = '';
    proc.stderr!.on('data', (b) => {
      err += b;
    });
    const code = await new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err).toContain('MQTT_PORT="abc"');
  });
});
