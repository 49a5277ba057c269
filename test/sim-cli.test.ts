/**
 * The simulator's edges: argument parsing, provisioning through the real API, the credentials
 * file, progress output, and the `npm run sim` process stopping cleanly on SIGINT.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Aedes } from 'aedes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSimArgs, UsageError } from '../device-sim/cli.js';
import {
  type FleetStats,
  loadCredentials,
  OfflineBuffer,
  provisionDevices,
  saveCredentials,
  startProgress,
} from '../device-sim/index.js';
import { createPartner, createPilot, startTestApi } from './helpers/api-app.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sim-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseSimArgs', () => {
  const env = { DATA_DIR: '/tmp/data', MQTT_PORT: '1999' };

  it('maps flags to fleet options', async () => {
    const cfg = parseSimArgs(
      [
        '--credentials',
        'c.json',
        '--interval',
        '2s',
        '--jitter',
        '100ms',
        '--seed',
        '9',
        '--outage',
        '30s+10s',
        '--outage',
        '2m+1m',
        '--random-outages',
        '5m:10s-1m',
        '--load',
        'rate',
        '--rate',
        '500',
        '--batch',
        '10',
        '--duration',
        '1h',
      ],
      env,
    );
    if (cfg === 'help') throw new Error('unexpected help');
    expect(cfg.fleet.intervalMs).toBe(2000);
    expect(cfg.fleet.jitterMs).toBe(100);
    expect(cfg.fleet.seed).toBe(9);
    expect(cfg.fleet.outages).toEqual({
      schedule: [
        { startMs: 30_000, durationMs: 10_000 },
        { startMs: 120_000, durationMs: 60_000 },
      ],
      random: { meanGapMs: 300_000, minDurationMs: 10_000, maxDurationMs: 60_000 },
    });
    expect(cfg.fleet.load).toEqual({ mode: 'rate', rate: 500, window: undefined, batchSize: 10 });
    expect(cfg.fleet.bufferDir).toBe('/tmp/data/sim-buffer');
    expect(cfg.defaultBrokerUrl).toBe('mqtt://127.0.0.1:1999');
    expect(cfg.durationMs).toBe(3_600_000);
    expect(cfg.progress).toBe(true);
    expect(cfg.credentialsFile).toBe(path.resolve('c.json'));
  });

  it('takes defaults from the environment', async () => {
    const cfg = parseSimArgs([], { ...env, SIM_DEVICES: '12', SIM_API_KEY: 'k', SIM_PILOT_ID: 'plt_x' });
    if (cfg === 'help') throw new Error('unexpected help');
    expect(cfg.provision).toMatchObject({
      count: 12,
      apiKey: 'k',
      pilotId: 'plt_x',
      apiUrl: 'http://127.0.0.1:8080',
    });
    expect(cfg.fleet.intervalMs).toBeUndefined(); // profiles keep their own intervals
    expect(cfg.progress).toBe(false);
  });

  it.each([
    [['--interval', 'soon'], /--interval/],
    [['--outage', '30s'], /--outage/],
    [['--load', 'fast'], /--load/],
    [['--load', 'rate'], /--rate/],
    [['--devices', '-3'], /--devices/],
    [['--nope'], /nope/],
  ])('refuses %j with a usage error', (argv, message) => {
    expect(() => parseSimArgs(argv, env)).toThrow(UsageError);
    expect(() => parseSimArgs(argv, env)).toThrow(message);
  });

  it('answers --help', async () => {
    expect(parseSimArgs(['--help'], env)).toBe('help');
  });
});

describe('credentials', () => {
  it('provisions devices through the real API and saves them with mode 0600', async () => {
    const api = await startTestApi();
    try {
      const address = await api.app.listen({ port: 0, host: '127.0.0.1' });
      const partner = await createPartner(api, 'Sim Maker');
      const pilot = await createPilot(api, partner.apiKey, 'Sim pilot');
      const created = await provisionDevices({
        apiUrl: address,
        apiKey: partner.apiKey,
        pilotId: pilot.id,
        count: 3,
        profiles: ['door', 'environment'],
      });
      expect(created).toHaveLength(3);
      for (const c of created) {
        expect(c.deviceId).toMatch(/^dev_/);
        expect(c.username).toBe(c.deviceId);
        expect(c.password.length).toBeGreaterThan(20);
        expect(c.topic).toBe(`devices/${c.deviceId}/telemetry`);
        expect(c.mqttUrl).toMatch(/^mqtt:\/\//);
      }
      expect(created.map((c) => c.profile)).toEqual(['door', 'environment', 'door']);
      expect(await api.registry.getDeviceCredential(created[0]!.deviceId)).toBeDefined();

      const file = path.join(dir, 'creds.json');
      await saveCredentials(file, created, { pilotId: pilot.id });
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await loadCredentials(file)).toEqual(created.map((c) => JSON.parse(JSON.stringify(c))));

      await expect(
        provisionDevices({ apiUrl: address, apiKey: 'wrong', pilotId: pilot.id, count: 1 }),
      ).rejects.toMatchObject({ status: 401 });
    } finally {
      await api.close();
    }
  });

  it('rejects a file that is not a credentials file, naming the field', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ devices: [{ deviceId: 'dev_1' }] }));
    await expect(loadCredentials(file)).rejects.toThrow(/devices\.0\.username/);
  });
});

describe('progress', () => {
  const fakeStats = (n: number): FleetStats =>
    ({
      devices: 2,
      connected: 2,
      messagesSent: n,
      messagesAcked: n,
      readingsAcked: n,
      errors: 0,
      inFlight: 0,
      buffered: 0,
      elapsedMs: 1000,
    }) as FleetStats;

  it('writes plain lines when not on a TTY and a single rewritten line on a TTY', async () => {
    for (const tty of [false, true]) {
      let n = 0;
      const out = new PassThrough();
      let text = '';
      out.on('data', (c) => {
        text += c;
      });
      const progress = startProgress(
        {
          stats: () => {
            n += 10;
            return fakeStats(n);
          },
        },
        { stream: out, tty, intervalMs: 20 },
      );
      await new Promise((r) => setTimeout(r, 110));
      const summary = progress.stop();
      expect(progress.samples.length).toBeGreaterThanOrEqual(2);
      expect(progress.samples[0]).toMatchObject({ sent: 10, acked: 10, errors: 0 });
      expect(summary).toMatch(/summary: 2 devices/);
      if (tty) {
        expect(text).toContain('\r\x1b[2K');
        expect(text.trimEnd().split('\n')).toHaveLength(1);
      } else {
        expect(text).not.toContain('\r');
        expect(text.trimEnd().split('\n').length).toBe(progress.samples.length);
      }
    }
  });
});

describe('npm run sim', () => {
  it('keeps what it buffered on SIGINT and sends it on the next run', async () => {
    const broker = await Aedes.createBroker();
    const server = net.createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const creds = path.join(dir, 'creds.json');
    const buffers = path.join(dir, 'buffers');
    await saveCredentials(creds, [{ deviceId: 'dev_s1', username: 'dev_s1', password: 'x' }]);
    const sim = (args: string[]) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'main/sim.ts',
          '--credentials',
          creds,
          '--broker',
          url,
          '--buffer-dir',
          buffers,
          '--interval',
          '20ms',
          ...args,
        ],
        { cwd: path.resolve(import.meta.dirname, '..'), env: { ...process.env, LOG_LEVEL: 'silent' } },
      );
      let stdout = '';
      child.stdout.on('data', (c) => {
        stdout += c;
      });
      child.stderr.on('data', (c) => {
        stdout += c;
      });
      const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      return { child, exit, output: () => stdout };
    };
    try {
      // Run 1: offline from the start; interrupt it while it buffers.
      const first = sim(['--outage', '0+1h']);
      const bufferFile = path.join(buffers, 'dev_s1.jsonl');
      const deadline = Date.now() + 20_000;
      while (((await readFile(bufferFile, 'utf8').catch(() => '')).match(/\n/g)?.length ?? 0) < 10) {
        if (Date.now() > deadline) throw new Error(`no buffer written: ${first.output()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      first.child.kill('SIGINT');
      expect(await first.exit).toBe(0);
      expect(first.output()).toMatch(/summary: 1 devices/);
      const kept = (await (await OfflineBuffer.open(buffers, 'dev_s1')).peek(1e6)).length;
      expect(kept).toBeGreaterThanOrEqual(10);

      // Run 2: online; it flushes the buffer and stops by itself after --duration.
      let arrived = 0;
      broker.on('publish', (packet, client) => {
        if (client && packet.topic === 'devices/dev_s1/telemetry') {
          const body = JSON.parse(packet.payload.toString());
          arrived += Array.isArray(body) ? body.length : 1;
        }
      });
      const second = sim(['--duration', '1500ms']);
      expect(await second.exit).toBe(0);
      expect(arrived).toBeGreaterThanOrEqual(kept);
      expect((await (await OfflineBuffer.open(buffers, 'dev_s1')).peek(1e6)).length).toBe(0);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    }
  });
});
