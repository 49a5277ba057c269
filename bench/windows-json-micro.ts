/**
 * `node --import tsx bench/windows-json-micro.ts`: the windows transcoders (api/telemetry/windows-json.ts
 * and windows-msgpack.ts) on an answer shaped like the telemetry-query benchmark's (1,440 one-minute
 * windows of 2 keys), in JSON and in MessagePack, in one process: wall time per answer over 15 rounds
 * of 2,000, minimum and median. Their share of the API's CPU per request is in bench/RESULTS.md
 * (issue 18, goal 5).
 */
import { windowsJson } from '../api/telemetry/windows-json.js';
import { windowsMsgpack } from '../api/telemetry/windows-msgpack.js';
import type { WindowsShape } from '../api/telemetry/windows-write.js';
import { encodeMsgpack } from '../test/helpers/msgpack-encode.js';

const FROM = Date.UTC(2026, 0, 1);
const values: number[][] = [];
for (let i = 0; i < 1440; i++) {
  values.push([FROM + i * 60_000, 20 + Math.sin(i / 100) * 0.7312345, 50 + (i % 17) + 0.5]);
}
const series = { name: 'plt_bench', columns: ['time', 'temperature', 'humidity'], values };
const answer = { results: [{ statement_id: 0, series: [series] }] };
const json = Buffer.from(`${JSON.stringify(answer)}\n`);
const msgpack = encodeMsgpack(answer, { isFloat: (n) => n < 1e12 });
const shape = { stripPrefix: undefined, dropEmptyColumns: false };

function measure(name: string, body: Buffer, transcode: (b: Buffer, s: WindowsShape) => Buffer | undefined) {
  const out = transcode(body, shape);
  if (!out) throw new Error(`${name}: the transcoder refused the plain answer`);
  const perAnswer: number[] = [];
  for (let round = 0; round < 15; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 2000; i++) transcode(body, shape);
    perAnswer.push(Number(process.hrtime.bigint() - t0) / 2000 / 1000);
  }
  perAnswer.sort((a, b) => a - b);
  console.log(
    `${name}: answer ${body.length} bytes -> response ${out.length} bytes: ` +
      `${perAnswer[0]!.toFixed(1)} µs per answer (min), ${perAnswer[7]!.toFixed(1)} µs (median of 15 rounds)`,
  );
  return out;
}

const a = measure('JSON', json, windowsJson);
const b = measure('MessagePack', msgpack, windowsMsgpack);
if (!a.equals(b)) throw new Error('the two transcoders wrote different responses');
