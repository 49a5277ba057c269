/**
 * Issue 16, process hygiene, with real child processes: an uncaught exception or unhandled
 * rejection in a running entrypoint is logged, everything closes in order, and the process exits 1;
 * a second Ctrl-C exits at once; a close past the deadline exits 1; a taken port names its variable.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { uniqueDatabase } from './helpers/influxd.js';

const root = path.resolve(import.meta.dirname, '..');
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'hygiene-'));
  dirs.push(d);
  return d;
}

function run(entry: string, env: Record<string, string>, preload: string[] = []) {
  const { INFLUX_URL: _u, ADMIN_API_KEY: _a, ...inherited } = process.env;
  const args = ['--import', 'tsx', ...preload.flatMap((p) => ['--import', p]), entry];
  const proc = spawn(process.execPath, args, {
    cwd: root,
    env: { ...inherited, DATA_DIR: tempDir(), MQTT_PORT: '0', HTTP_PORT: '0', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => {
    out += d;
  });
  proc.stderr!.on('data', (d) => {
    err += d;
  });
  const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const waitFor = async (text: string | RegExp, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    const seen = () => (typeof text === 'string' ? (out + err).includes(text) : text.test(out + err));
    while (!seen()) {
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`no ${text} in:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { proc, exit, waitFor, out: () => out, err: () => err };
}

/** pino lines of the child's stderr. */
const logLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; part?: string; err?: { message: string } });

describe('an uncaught error in a running entrypoint (npm run broker)', () => {
  it.each(['exception', 'rejection'])('%s: logged, closed in order, exit 1', async (kind) => {
    const r = run('main/broker.ts', { LOG_LEVEL: 'debug' }, ['./test/fixtures/crash-on-stdin.mjs']);
    await r.waitFor('MQTT broker listening on');
    r.proc.stdin!.write(`${kind}\n`);
    expect(await r.exit).toBe(1);
    const lines = logLines(r.err());
    const fatal = lines.find((l) => l.msg.startsWith('uncaught error: stopping everything in order'));
    expect(fatal?.err?.message).toBe(`boom from the test (${kind})`);
    // The close stacks ran, newest first: main/broker.ts opens registry, broker, metrics relay, and
    // the broker closes its own parts (aedes, the journal, ...) inside its close.
    const stopped = lines.filter((l) => l.msg === 'stopped').map((l) => l.part!);
    const entrypoint = ['metrics relay', 'broker', 'registry'];
    expect(stopped.filter((p) => entrypoint.includes(p))).toEqual(entrypoint);
    expect(stopped.indexOf('journal')).toBeGreaterThan(stopped.indexOf('metrics relay'));
    expect(stopped.indexOf('journal')).toBeLessThan(stopped.indexOf('broker'));
  });
});

describe('signals (main/run.ts)', () => {
  it('one SIGTERM closes and exits 0', async () => {
    const r = run('test/fixtures/slow-close-main.ts', { CLOSE_MS: '100' });
    await r.waitFor('started');
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    expect(r.out()).toContain('closed');
  });

  it('a second Ctrl-C exits at once, without waiting for the close', async () => {
    const r = run('test/fixtures/slow-close-main.ts', { CLOSE_MS: '20000' });
    await r.waitFor('started');
    r.proc.kill('SIGINT');
    await r.waitFor('closing');
    const second = Date.now();
    r.proc.kill('SIGINT');
    expect(await r.exit).toBe(1);
    expect(Date.now() - second).toBeLessThan(2000);
    expect(r.err()).toContain('SIGINT again: exiting now');
    expect(r.out()).not.toContain('closed');
  });

  it('a close that takes longer than 5 s is cut short with exit 1', async () => {
    const r = run('test/fixtures/slow-close-main.ts', { CLOSE_MS: '20000' });
    await r.waitFor('started');
    const sent = Date.now();
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(1);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(4900);
    expect(Date.now() - sent).toBeLessThan(9000);
    expect(r.err()).toContain('did not stop within 5000 ms');
  });
});

/** A port held by this test while the child tries to listen on it. */
async function holdPort(): Promise<{ port: number; release(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    release: () => new Promise((r) => server.close(() => r())),
  };
}

describe('a taken port names the variable to change', () => {
  const cases: [string, string, (port: number) => Record<string, string>][] = [
    ['main/broker.ts', 'MQTT_PORT', (port) => ({ MQTT_PORT: String(port) })],
    [
      'main/api.ts',
      'HTTP_PORT',
      (port) => ({
        HTTP_PORT: String(port),
        INFLUX_URL: inject('influxUrl'),
        INFLUX_DATABASE: uniqueDatabase('hygiene'),
      }),
    ],
    ['main/ingest.ts', 'INFLUX_MANAGED_PORT', (port) => ({ INFLUX_MANAGED_PORT: String(port) })],
  ];
  it.each(cases)('%s: %s', async (entry, variable, env) => {
    const held = await holdPort();
    try {
      const r = run(entry, { LOG_LEVEL: 'warn', ...env(held.port) });
      expect(await r.exit).toBe(1);
      expect(r.err()).toContain(`127.0.0.1:${held.port} is already in use`);
      expect(r.err()).toContain(`set ${variable} to a free port (0 picks any free port)`);
      expect(r.err()).not.toMatch(/\n\s+at /); // a message, not a stack trace
    } finally {
      await held.release();
    }
  });
});
