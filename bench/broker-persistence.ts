/**
 * `node --import tsx bench/broker-persistence.ts [rounds]`: what the broker's LevelDB group commit
 * (broker/level-batching.ts) and the enqueue ordering it replaced buy, measured on a bare aedes
 * with aedes-persistence-level in this process and the MQTT clients in a child process. Two loads:
 * telemetry-shaped QoS 1 publishes nobody subscribes to (the platform's hot path since telemetry goes
 * to the journal) and QoS 1 messages to persistent sessions (device commands). Variants alternate.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';
import aedesPersistenceLevel from 'aedes-persistence-level';
import { Level } from 'level';
import mqtt from 'mqtt';
import { batchingLevel } from '../broker/level-batching.js';

type Variant = { name: string; batching: boolean; ordering: boolean };
const VARIANTS: Variant[] = [
  { name: 'group commit + ordering (as shipped)', batching: true, ordering: true },
  { name: 'group commit only', batching: true, ordering: false },
  { name: 'ordering only', batching: false, ordering: true },
  { name: 'neither', batching: false, ordering: false },
];
const CLIENTS = 20;
const PER_CLIENT = 2000;
const IN_FLIGHT = 16;

if (process.argv[2] === 'clients') await clients(process.argv[3]!, process.argv[4] as Load);
else await main(Number(process.argv[2] ?? 3));

type Load = 'telemetry' | 'persistent';

async function main(rounds: number) {
  const results = new Map<string, { telemetry: number[]; persistent: number[]; late: number[] }>();
  for (let r = 0; r < rounds; r++) {
    for (const v of r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
      const row = results.get(v.name) ?? { telemetry: [], persistent: [], late: [] };
      for (const load of ['telemetry', 'persistent'] as const) {
        const out = await withBroker(v, (url) => runClients(url, load));
        row[load].push(out.rate);
        if (load === 'persistent') row.late.push(out.late);
      }
      results.set(v.name, row);
      process.stdout.write('.');
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  process.stdout.write(
    `\n${CLIENTS} clients x ${PER_CLIENT} QoS 1 messages, ${IN_FLIGHT} in flight each; median of ${rounds} rounds\n`,
  );
  process.stdout.write(
    '| variant | telemetry, no subscriber (msg/s) | to persistent sessions (msg/s) | delivered late (skipped as "duplicates") |\n|---|---|---|---|\n',
  );
  for (const [name, row] of results) {
    process.stdout.write(
      `| ${name} | ${median(row.telemetry).toFixed(0)} | ${median(row.persistent).toFixed(0)} | ${row.late.join(', ')} |\n`,
    );
  }
}

/** The former broker/ordering.ts: resolve each outgoingEnqueueCombi only after every earlier one. */
function keepEnqueueOrder(persistence: {
  outgoingEnqueueCombi: (subs: unknown[], packet: unknown) => Promise<unknown>;
}) {
  const enqueue = persistence.outgoingEnqueueCombi.bind(persistence);
  let previous: Promise<unknown> = Promise.resolve();
  persistence.outgoingEnqueueCombi = (subs, packet) => {
    const own = enqueue(subs, packet);
    const allBefore = Promise.all([previous, own.then(noop, noop)]);
    previous = allBefore;
    return allBefore.then(() => own);
  };
}
function noop() {}

async function withBroker<T>(v: Variant, run: (url: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-persistence-'));
  const db = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' });
  await db.open();
  const store = v.batching ? batchingLevel(db) : db;
  const broker = new Aedes({ persistence: aedesPersistenceLevel(store as unknown as Level<string, Buffer>) });
  await broker.listen();
  if (v.ordering)
    keepEnqueueOrder(
      (broker as unknown as { persistence: Parameters<typeof keepEnqueueOrder>[0] }).persistence,
    );
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await run(`mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function runClients(url: string, load: Load): Promise<{ rate: number; late: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, 'clients', url, load], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`clients exited ${code}`)),
    );
  });
}

/** Child: publishers (and for `persistent`, one persistent QoS 1 subscriber per publisher). */
async function clients(url: string, load: Load) {
  const received: number[][] = Array.from({ length: CLIENTS }, () => []);
  const subscribers = [];
  if (load === 'persistent') {
    for (let i = 0; i < CLIENTS; i++) {
      const sub = await mqtt.connectAsync(url, { clientId: `sub-${i}`, clean: false, reconnectPeriod: 0 });
      await sub.subscribeAsync(`c/${i}`, { qos: 1 });
      sub.on('message', (_t, payload) => received[i]!.push(Number(payload.toString())));
      subscribers.push(sub);
    }
  }
  const publishers = await Promise.all(
    Array.from({ length: CLIENTS }, () => mqtt.connectAsync(url, { reconnectPeriod: 0 })),
  );
  const started = performance.now();
  await Promise.all(
    publishers.map(async (pub, i) => {
      let next = 0;
      const worker = async () => {
        while (next < PER_CLIENT) {
          const n = next++;
          await pub.publishAsync(load === 'persistent' ? `c/${i}` : `t/${i}`, String(n), { qos: 1 });
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    }),
  );
  let rate = (CLIENTS * PER_CLIENT) / ((performance.now() - started) / 1000);
  let late = 0;
  if (load === 'persistent') {
    const total = () => received.reduce((s, r) => s + r.length, 0);
    const deadline = Date.now() + 10_000;
    while (total() < CLIENTS * PER_CLIENT && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    rate = total() / ((performance.now() - started) / 1000);
    late = CLIENTS * PER_CLIENT - total();
  }
  await Promise.all([...publishers, ...subscribers].map((c) => c.endAsync()));
  process.stdout.write(JSON.stringify({ rate, late }));
  process.exit(0);
}
