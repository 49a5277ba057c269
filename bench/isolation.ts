/**
 * Part `isolation`: a measurement per pilot in one database (what the platform does) against a
 * database per pilot, on the same points: both isolate field types, so the cost decides. Writes of
 * 5,000 lines, 4 in flight, layouts alternating round by round; then the same aggregate query on each.
 * A database per pilot also means a request per pilot (a request names one database).
 */
import { randomBytes } from 'node:crypto';
import type { BenchContext, BenchPart } from './fixtures.js';
import { fmt, lossCheck, type PartResult, resultHeader } from './report.js';

const BATCH = 5000;
const IN_FLIGHT = 4;
const ROUNDS = 2;

interface Layout {
  name: string;
  /** The database and measurement a pilot's points go to. */
  target(pilot: number): { database: string; measurement: string };
}

function lines(pilots: number, devicesPerPilot: number, perDevice: number, t0: number) {
  // In arrival order, as ingest sees them: every pilot's devices report every second.
  const out: { pilot: number; line: (m: string) => string }[] = [];
  for (let i = 0; i < perDevice; i++) {
    for (let p = 0; p < pilots; p++) {
      for (let d = 0; d < devicesPerPilot; d++) {
        const ts = t0 + i * 1000;
        const temperature = (20 + Math.sin(i / 50) * 5 + d).toFixed(3);
        const on = i % 7 === 0 ? 'true' : 'false';
        out.push({ pilot: p, line: (m) => `${m},device=d${d} temperature=${temperature},on=${on} ${ts}` });
      }
    }
  }
  return out;
}

async function write(url: string, database: string, body: string): Promise<void> {
  const res = await fetch(`${url}/write?db=${database}&precision=ms`, { method: 'POST', body });
  if (res.status !== 204) throw new Error(`write ${res.status}: ${await res.text()}`);
}

async function query(url: string, database: string, q: string): Promise<unknown[][]> {
  const res = await fetch(`${url}/query?db=${database}&epoch=ms&q=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { results: { series?: { values: unknown[][] }[]; error?: string }[] };
  if (body.results[0]?.error) throw new Error(body.results[0].error);
  return body.results[0]?.series?.[0]?.values ?? [];
}

async function createDb(url: string, name: string) {
  await fetch(`${url}/query?q=${encodeURIComponent(`CREATE DATABASE "${name}"`)}`, { method: 'POST' });
}

/**
 * Writes every line as ingest would: batches of BATCH lines in arrival order, each split into one
 * request per database it touches, IN_FLIGHT requests at a time. Returns the seconds taken.
 */
async function writeAll(url: string, layout: Layout, all: ReturnType<typeof lines>): Promise<number> {
  const requests: { database: string; body: string }[] = [];
  for (let i = 0; i < all.length; i += BATCH) {
    const perDatabase = new Map<string, string[]>();
    for (const { pilot, line } of all.slice(i, i + BATCH)) {
      const { database, measurement } = layout.target(pilot);
      const list = perDatabase.get(database) ?? [];
      if (list.length === 0) perDatabase.set(database, list);
      list.push(line(measurement));
    }
    for (const [database, list] of perDatabase) requests.push({ database, body: list.join('\n') });
  }
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < requests.length) {
        const r = requests[next++]!;
        await write(url, r.database, r.body);
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

export const isolationPart: BenchPart = {
  id: 'isolation',
  title: 'Pilot isolation in InfluxDB: a measurement per pilot vs a database per pilot',
  async run(ctx: BenchContext): Promise<PartResult> {
    const url = ctx.influx.url;
    const pilots = 20;
    const devicesPerPilot = 5;
    const perDevice = ctx.quick ? 100 : 2000;
    const tag = randomBytes(3).toString('hex');
    const shared = `iso_shared_${tag}`;
    await createDb(url, shared);
    const layouts: Layout[] = [
      { name: 'measurement per pilot', target: (p) => ({ database: shared, measurement: `plt_${p}` }) },
      {
        name: 'database per pilot',
        target: (p) => ({ database: `iso_${tag}_p${p}`, measurement: 'telemetry' }),
      },
    ];
    for (let p = 0; p < pilots; p++) await createDb(url, `iso_${tag}_p${p}`);

    const seconds = new Map<string, number>(layouts.map((l) => [l.name, 0]));
    const total = pilots * devicesPerPilot * perDevice;
    for (let round = 0; round < ROUNDS; round++) {
      // Each round writes a new time range, so no round overwrites another's points.
      const batch = lines(
        pilots,
        devicesPerPilot,
        perDevice,
        Date.UTC(2026, 0, 1) + round * perDevice * 1000,
      );
      const order = round % 2 === 0 ? layouts : [...layouts].reverse();
      for (const layout of order)
        seconds.set(layout.name, seconds.get(layout.name)! + (await writeAll(url, layout, batch)));
    }

    // The same aggregate for one device of one pilot, timed on each layout.
    const queryMs = new Map<string, number>();
    for (const layout of layouts) {
      const { database, measurement } = layout.target(7);
      const q = `SELECT mean("temperature") FROM "${measurement}" WHERE "device" = 'd3' GROUP BY time(1h) fill(none)`;
      await query(url, database, q);
      const times: number[] = [];
      for (let i = 0; i < (ctx.quick ? 5 : 30); i++) {
        const t = performance.now();
        await query(url, database, q);
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      queryMs.set(layout.name, times[Math.floor(times.length / 2)]!);
    }

    const counted = new Map<string, number>();
    for (const layout of layouts) {
      let n = 0;
      for (let p = 0; p < pilots; p++) {
        const { database, measurement } = layout.target(p);
        n += Number(
          (await query(url, database, `SELECT COUNT("temperature") FROM "${measurement}"`))[0]?.[1] ?? 0,
        );
      }
      counted.set(layout.name, n);
    }
    const [a, b] = layouts.map((l) => (total * ROUNDS) / seconds.get(l.name)!) as [number, number];
    return {
      ...resultHeader(ctx, 'isolation', this.title),
      figures: {
        pilots,
        'devices per pilot': devicesPerPilot,
        'points written per layout': total * ROUNDS,
        'measurement per pilot: points/s': Math.round(a),
        'database per pilot: points/s': Math.round(b),
        'write rate ratio (measurement / database)': Number((a / b).toFixed(2)),
        'measurement per pilot: query p50 (ms)': Number(queryMs.get(layouts[0]!.name)!.toFixed(1)),
        'database per pilot: query p50 (ms)': Number(queryMs.get(layouts[1]!.name)!.toFixed(1)),
      },
      goals: [],
      lossChecks: layouts.map((l) =>
        lossCheck(l.name, counted.get(l.name)!, total * ROUNDS, { expectedWord: 'written' }),
      ),
      notes: [
        `Readings in arrival order (every device of every pilot each second), batched by ${fmt(BATCH)} as ingest does; with a database per pilot each batch becomes one request per pilot (a request names one database), with a measurement per pilot it is one request. ${IN_FLIGHT} requests in flight, ${ROUNDS} rounds alternating the order of the layouts; 2 fields per point (a float and a boolean); the query is an hourly mean of one device of one pilot.`,
        'Both layouts isolate field types between pilots. The platform uses a measurement per pilot: one database, one retention policy, one shard group per week for every pilot, and write requests that mix pilots (ingest batches across devices and pilots); a database per pilot needs a request per pilot and multiplies shards and retention policies by the number of pilots.',
      ],
    };
  },
};
