/** `npm run broker` (main/broker.ts): configuration errors, start-up output, clean stop on SIGTERM. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connackCode } from './helpers/broker.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'broker-main-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(env: Record<string, string>) {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join('main', 'broker.ts')], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: { ...process.env, DATA_DIR: dir, MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => {
    stdout += d;
  });
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, exit, out: () => stdout, err: () => stderr };
}

describe('main/broker.ts', () => {
  it('exits 2 with one clear message, no stack trace, on a bad variable', async () => {
    const r = run({ MQTT_PORT: 'abc', MQTT_MAX_PAYLOAD_BYTES: '1' });
    expect(await r.exit).toBe(2);
    expect(r.err()).toMatch(/MQTT_PORT="abc"/);
    expect(r.err()).toMatch(/MQTT_MAX_PAYLOAD_BYTES="1"/);
    expect(r.err()).not.toMatch(/\n\s+at /);
  });

  it('prints its MQTT URL, refuses anonymous clients, and stops on SIGTERM with exit 0', async () => {
    const r = run({});
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /listening on (mqtt:\/\/\S+)/.exec(r.out());
        if (m) {
          clearInterval(timer);
          resolve(m[1]!);
        }
      }, 20);
      r.exit.then(() => reject(new Error(`exited: ${r.err()}`)));
    });
    expect(await connackCode(url, { clientId: 'anon-1' })).toBe(5);
    const start = Date.now();
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    expect(Date.now() - start).toBeLessThan(5000);
  });
});
