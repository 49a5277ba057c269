/**
 * `node --import tsx bench/windows-json-micro.ts`: the windows transcoder (api/telemetry/windows-json.ts)
 * on an answer shaped like the telemetry-query benchmark's (1,440 one-minute windows of 2 keys), in one
 * process: wall time per answer over 15 rounds of 2,000, minimum and median. Its share of the API's
 * CPU per request is in bench/RESULTS.md (issue 18, goal 5).
 */
import { windowsJson } from '../api/telemetry/windows-json.js';

const FROM = Date.UTC(2026, 0, 1);
const rows: string[] = [];
for (let i = 0; i < 1440; i++) {
  rows.push(`[${FROM + i * 60_000},${20 + Math.sin(i / 100) * 0.7312345},${50 + (i % 17) + 0.5}]`);
}
const body = Buffer.from(
  `{"results":[{"statement_id":0,"series":[{"name":"plt_bench","columns":["time","temperature","humidity"],"values":[${rows.join(',')}]}]}]}\n`,
);
const shape = { stripPrefix: undefined, dropEmptyColumns: false };
const out = windowsJson(body, shape);
if (!out) throw new Error('the transcoder refused the plain answer');
const perAnswer: number[] = [];
for (let round = 0; round < 15; round++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 2000; i++) windowsJson(body, shape);
  perAnswer.push(Number(process.hrtime.bigint() - t0) / 2000 / 1000);
}
perAnswer.sort((a, b) => a - b);
console.log(
  `answer ${body.length} bytes -> response ${out.length} bytes: ` +
    `${perAnswer[0]!.toFixed(1)} µs per answer (min), ${perAnswer[7]!.toFixed(1)} µs (median of 15 rounds)`,
);
