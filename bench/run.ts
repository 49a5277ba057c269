/**
 * `npm run bench [-- <part>...] [--quick] [--profile] [--keep]`: runs the parts (all by default)
 * against one private influxd and rewrites their sections of bench/RESULTS.md and bench/results.json.
 * --quick: a smoke run for CI; --profile: V8 CPU profiles of the platform processes, summarised;
 * --keep: keep .bench-tmp/ for a post-mortem. Parts: e2e, batched, batched-v2, latency,
 * connections, isolation, console, commands, cluster (Redis + PostgreSQL; not in a bare --quick run),
 * telemetry-query (a script of its own).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { batchedPart } from './batched.js';
import { batchedV2Part } from './batched-v2.js';
import { clusterPart } from './cluster.js';
import { commandsPart } from './commands.js';
import { connectionsPart } from './connections.js';
import { consolePart } from './console.js';
import { e2ePart } from './e2e.js';
import { type BenchPart, closeContext, openContext } from './fixtures.js';
import { isolationPart } from './isolation.js';
import { latencyPart } from './latency.js';
import { BENCH_DIR, fmt, printResult, resultHeader, writeResult } from './report.js';

const PARTS: BenchPart[] = [
  e2ePart,
  batchedPart,
  batchedV2Part,
  latencyPart,
  connectionsPart,
  isolationPart,
  consolePart,
  commandsPart,
  clusterPart,
];
/** Parts a plain `--quick` run (CI) leaves out: they need Redis and PostgreSQL, and minutes. */
const NOT_IN_QUICK = ['cluster'];
const TELEMETRY_QUERY = path.join(BENCH_DIR, 'telemetry-query.ts');

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const profile = args.includes('--profile');
const keep = args.includes('--keep');
const unknownFlags = args.filter((a) => a.startsWith('-') && !['--quick', '--profile', '--keep'].includes(a));
const wanted = args.filter((a) => !a.startsWith('-'));
const known = [...PARTS.map((p) => p.id), 'telemetry-query'];
const unknownParts = wanted.filter((w) => !known.includes(w));
if (unknownFlags.length > 0 || unknownParts.length > 0 || args.includes('--help')) {
  process.stderr.write(
    `usage: npm run bench -- [${known.join('|')} ...] [--quick] [--profile] [--keep]\n` +
      (unknownParts.length ? `unknown part(s): ${unknownParts.join(', ')}\n` : ''),
  );
  process.exit(args.includes('--help') ? 0 : 2);
}
const selected = (id: string) =>
  wanted.includes(id) || (wanted.length === 0 && !(quick && NOT_IN_QUICK.includes(id)));
const command =
  process.env.npm_lifecycle_event === 'bench'
    ? `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`
    : `node --import tsx bench/run.ts ${args.join(' ')}`.trim();

function runTelemetryQuery(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', TELEMETRY_QUERY, ...(quick ? ['--quick'] : [])],
      {
        stdio: 'inherit',
      },
    );
    child.on('exit', (code) => resolve(code === 0));
  });
}

const runStarted = performance.now();
let failures = 0;
const parts = PARTS.filter((p) => selected(p.id));
if (parts.length > 0) {
  const ctx = await openContext({ quick, profile, keep, command });
  const cleanUp = () => closeContext(ctx).finally(() => process.exit(130));
  process.once('SIGINT', cleanUp);
  try {
    for (const part of parts) {
      const t = performance.now();
      process.stdout.write(`\n>>> ${part.title}${quick ? ' (quick)' : ''}\n`);
      try {
        const result = await part.run(ctx);
        if (profile) {
          // Profiled figures are slower; they go to a section of their own, next to the plain one.
          result.id = `${result.id}-profiled`;
          result.title = `${result.title} (with the CPU profiler attached)`;
        }
        writeResult(result);
        printResult(result);
        if (result.lossChecks.some((c) => !c.ok)) failures++;
      } catch (err) {
        failures++;
        process.stderr.write(`${part.id} failed: ${(err as Error).stack ?? err}\n`);
        // The section says so, rather than keeping the figures of an earlier run.
        writeResult({
          ...resultHeader({ command, quick }, part.id, part.title),
          figures: { status: '**FAILED**: no figures' },
          goals: [],
          lossChecks: [],
          notes: [`The run failed: ${(err as Error).message.split('\n').slice(0, 8).join(' / ')}`],
        });
      }
      process.stdout.write(`<<< ${part.id} took ${fmt((performance.now() - t) / 1000, 1)} s\n`);
    }
  } finally {
    process.off('SIGINT', cleanUp);
    await closeContext(ctx);
  }
}
if (selected('telemetry-query')) {
  if (existsSync(TELEMETRY_QUERY)) {
    process.stdout.write('\n>>> telemetry-query (bench/telemetry-query.ts)\n');
    if (!(await runTelemetryQuery())) failures++;
  } else if (wanted.includes('telemetry-query')) {
    process.stderr.write('bench/telemetry-query.ts does not exist yet\n');
    failures++;
  }
}
process.stdout.write(
  `\nbench finished in ${fmt((performance.now() - runStarted) / 1000, 1)} s; results in ` +
    `${quick ? '.bench-tmp/quick/ (quick runs never replace bench/RESULTS.md)' : 'bench/RESULTS.md and bench/results.json'}` +
    `${failures ? `; ${failures} part(s) failed or lost data` : ''}\n`,
);
process.exit(failures ? 1 : 0);
