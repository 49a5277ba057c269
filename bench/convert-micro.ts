/**
 * `node --import tsx bench/convert-micro.ts`: CPU time per reading of turning a payload of 100
 * readings into line protocol, the general path (JSON.parse, the schemas' fast checks, the key check
 * per reading, a point per reading, joined for the write) against the fast path (ingest/line-scan.ts).
 * Process CPU time, not wall time, so other work on the machine changes the figures little.
 */
import { parseTelemetryPayload } from '../core/telemetry.js';
import { scanLines } from '../ingest/line-scan.js';
import { linePrefix, toPoint } from '../ingest/points.js';
import { payload } from './readings.js';

const PER_MESSAGE = Number(process.argv[2] ?? 100);
const t0 = Date.now() - 7 * 86_400_000;
const messages = Array.from({ length: 200 }, (_, i) =>
  Buffer.from(payload(t0, i * PER_MESSAGE, PER_MESSAGE)),
);
// The key caches as ingest holds them once warm (KeyTypeChecker).
const known = new Map([
  ['temperature', 'number'],
  ['humidity', 'number'],
]);
const mine = new Set(known.keys());
const storesAsIs = (keys: readonly string[], types: readonly string[]) =>
  keys.every((k, i) => known.get(k) === types[i] && mine.has(k));

function generalPath(b: Buffer): string {
  const points = parseTelemetryPayload(b, 0).readings.map((r) => {
    for (const k in r.values) if (known.get(k) !== typeof r.values[k] || !mine.has(k)) throw new Error(k);
    return toPoint('plt_x', 'dev_y', r);
  });
  return points.map((p) => p.line).join('\n');
}

function fastPath(b: Buffer): string {
  const scanned = scanLines(b, 0, linePrefix('plt_x', 'dev_y'), storesAsIs);
  if (!scanned) throw new Error('declined');
  return scanned.text;
}

const samples: Record<string, number[]> = { general: [], fast: [] };
for (let round = 0; round < 8; round++) {
  for (const [name, convert] of [
    ['general', generalPath],
    ['fast', fastPath],
  ] as const) {
    const start = process.cpuUsage();
    for (let k = 0; k < 20; k++) for (const m of messages) convert(m);
    const used = process.cpuUsage(start);
    if (round >= 2) samples[name]?.push((used.user + used.system) / (20 * messages.length * PER_MESSAGE));
  }
}
for (const [name, s] of Object.entries(samples)) {
  s.sort((a, b) => a - b);
  process.stdout.write(
    `${name} path: ${s[s.length >> 1]?.toFixed(3)} µs of CPU per reading (median of ${s.length})\n`,
  );
}
