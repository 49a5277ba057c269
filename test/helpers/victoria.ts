/**
 * A real server of the InfluxDB v2 write API: Debian's `victoria-metrics` (free loopback port, temp
 * dir, stopped by PID). It stores field `f` of `m` as metric `m_f`, booleans as 1/0, no strings, and
 * answers 204 to malformed lines (v2-server.ts tests refusals); `-dedup.minScrapeInterval=1ms` keeps
 * one sample per series and ms, as InfluxDB keeps one point. Tests and `npm run bench -- batched-v2`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findExecutable, freePort } from '../../core/influx/managed.js';

export interface Victoria {
  url: string;
  pid: number;
  dir: string;
  /** SIGTERM (SIGKILL after 5 s); resolves when the process is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its dir. */
  dispose(): Promise<void>;
  /** Every sample of metrics matching `selector`, after making recent writes searchable. */
  exportSeries(selector: string): Promise<ExportedSeries[]>;
  /** Samples of `metric` with timestamps in [fromMs, toMs] (PromQL count_over_time; for large counts). */
  countSamples(metric: string, fromMs: number, toMs: number): Promise<number>;
}

export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export const VICTORIA_BINARY = process.env.VICTORIA_METRICS_PATH ?? 'victoria-metrics';

export async function startVictoria(opts: { dir?: string; extraArgs?: string[] } = {}): Promise<Victoria> {
  const binary = findExecutable(VICTORIA_BINARY);
  if (!binary) {
    throw new Error(
      `'${VICTORIA_BINARY}' was not found: install it (Debian: apt-get install -y victoria-metrics; ./platform.sh setup does)`,
    );
  }
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'victoria-test-'));
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    const log = openSync(path.join(dir, 'victoria.log'), 'a');
    const proc = spawn(
      binary,
      [
        `-httpListenAddr=127.0.0.1:${port}`,
        `-storageDataPath=${path.join(dir, 'data')}`,
        '-retentionPeriod=100y',
        '-dedup.minScrapeInterval=1ms',
        '-search.latencyOffset=0s',
        '-loggerLevel=ERROR',
        ...(opts.extraArgs ?? []),
      ],
      { stdio: ['ignore', log, log] },
    );
    child = proc;
    proc.on('error', () => {});
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (proc.exitCode !== null)
        throw new Error(`victoria-metrics exited at start; see ${dir}/victoria.log`);
      try {
        if ((await fetch(`${url}/health`, { signal: AbortSignal.timeout(500) })).ok) return;
      } catch {}
      if (Date.now() > deadline) throw new Error('victoria-metrics did not answer /health within 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    url,
    dir,
    get pid() {
      return child?.pid ?? -1;
    },
    stop,
    start,
    async dispose() {
      await stop();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
    async countSamples(metric, fromMs, toMs) {
      await fetch(`${url}/internal/force_flush`, { method: 'POST' });
      // count_over_time at `to` over a window reaching back past `from`; nocache: the count grows.
      const at = Math.ceil(toMs / 1000) + 1;
      const windowS = at - Math.floor(fromMs / 1000) + 1;
      const query = `sum(count_over_time({__name__="${metric}"}[${windowS}s]))`;
      const res = await fetch(`${url}/api/v1/query`, {
        method: 'POST',
        body: new URLSearchParams({ query, time: String(at), nocache: '1' }),
      });
      if (!res.ok) throw new Error(`query answered ${res.status}: ${await res.text()}`);
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      return Number(body.data.result[0]?.value[1] ?? 0);
    },
    async exportSeries(selector) {
      await fetch(`${url}/internal/force_flush`, { method: 'POST' });
      const res = await fetch(`${url}/api/v1/export`, {
        method: 'POST',
        body: new URLSearchParams({ 'match[]': selector }),
      });
      if (!res.ok) throw new Error(`export answered ${res.status}: ${await res.text()}`);
      const text = await res.text();
      return text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as ExportedSeries);
    },
  } satisfies Victoria;
}

/** `victoria.exportSeries` for one measurement (a pilot): `{__name__=~"<measurement>_.*"}`. */
export const measurementSelector = (measurement: string) =>
  `{__name__=~"${measurement.replace(/[^A-Za-z0-9_]/g, '')}_.*"}`;
