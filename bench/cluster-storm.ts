/**
 * A connect storm on a cluster (bench/cluster.ts): devices that never connected before (every node's
 * credential cache misses) all send their CONNECT at once, spread over the broker nodes; what each
 * CONNECT costs in PostgreSQL (pg_stat_database) and Redis (INFO commandstats), net of the idle rate.
 */
import path from 'node:path';
import { openPostgresRegistry } from '../core/registry/postgres/index.js';
import { type ClusterStack, commandDeltas, pgDelta } from './cluster-stack.js';
import { type Child, sleep, spawnChild } from './procs.js';

/** PostgreSQL backends report their counters when idle, at most every 10 s (PG 15 pgstat). */
const PG_FLUSH_MS = 11_000;

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

interface Connected {
  type: string;
  ok: number;
  failed: number;
  firstError?: string;
  startAt: number;
  endAt: number;
}

/** Devices `from..to` of the stack's devices file storm the nodes (device i to node i mod n). */
export async function measureStorm(
  stack: ClusterStack,
  opts: { dir: string; from: number; to: number },
): Promise<Record<string, number | string>> {
  const nodes = stack.mqttUrls.length;
  const per = Math.ceil((opts.to - opts.from) / nodes);
  const children: Child[] = stack.mqttUrls.map((mqttUrl, i) =>
    spawnChild(`storm connector ${i}`, 'worker-connector.ts', {
      logFile: path.join(opts.dir, `storm-connector-${nodes}-${i}.log`),
      params: {
        mqttUrl,
        devicesFile: stack.fleet.devicesFile,
        from: opts.from + i * per,
        to: Math.min(opts.to, opts.from + (i + 1) * per),
        concurrency: per, // every CONNECT at once, as after a broker restart
      },
    }),
  );
  try {
    await Promise.all(children.map((c) => c.next('ready')));
    await sleep(PG_FLUSH_MS); // earlier work reported
    const [p0, r0, t0] = [await stack.pgStats(), await stack.redisStats(), Date.now()];
    await sleep(PG_FLUSH_MS);
    const [p1, r1, t1] = [await stack.pgStats(), await stack.redisStats(), Date.now()];
    for (const c of children) c.send({ type: 'go' });
    const done = await Promise.all(children.map((c) => c.next<Connected>('connected', 300_000)));
    await sleep(PG_FLUSH_MS);
    const [p2, r2, t2] = [await stack.pgStats(), await stack.redisStats(), Date.now()];
    const ok = done.reduce((a, d) => a + d.ok, 0);
    const failed = done.reduce((a, d) => a + d.failed, 0);
    const seconds = (Math.max(...done.map((d) => d.endAt)) - Math.min(...done.map((d) => d.startAt))) / 1000;
    const scale = (t2 - t1) / (t1 - t0);
    const idle = pgDelta(p0, p1);
    const during = pgDelta(p1, p2);
    const pgNet = (k: keyof typeof idle) => (during[k] - idle[k] * scale) / ok;
    const redisCalls = (a: typeof r0, b: typeof r0) =>
      commandDeltas(a, b).reduce((sum, [, d]) => sum + d.calls, 0);
    const stormCommands = commandDeltas(r1, r2);
    return {
      'storm: devices (never connected before)': opts.to - opts.from,
      'storm: connected': ok,
      'storm: failed connects':
        failed === 0 ? 0 : `${failed} (${done.find((d) => d.firstError)?.firstError})`,
      'storm: connects/s over all nodes': Math.round(ok / seconds),
      'storm: PostgreSQL transactions per CONNECT': round(pgNet('xactCommit')),
      'storm: PostgreSQL rows read (returned) per CONNECT': round(pgNet('tupReturned')),
      'storm: PostgreSQL rows written (ins+upd+del) per CONNECT': round(
        pgNet('tupInserted') + pgNet('tupUpdated') + pgNet('tupDeleted'),
      ),
      'idle: PostgreSQL transactions/s (revocation polls, node renewals)': round(
        (idle.xactCommit / (t1 - t0)) * 1000,
      ),
      'storm: Redis commands per CONNECT': round((redisCalls(r1, r2) - redisCalls(r0, r1) * scale) / ok),
      'storm: Redis commands per CONNECT, by command': stormCommands
        .slice(0, 6)
        .map(([name, d]) => `${name} ${round(d.calls / ok)}`)
        .join(', '),
      'storm: Redis bytes in per CONNECT': Math.round(
        (r2.netInputBytes - r1.netInputBytes - (r1.netInputBytes - r0.netInputBytes) * scale) / ok,
      ),
    };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

/**
 * PostgreSQL's rate of presence writes: what broker nodes write once a second for every device seen
 * (connect, publish, PINGREQ; broker/presence.ts). `rounds` flushes of `ids` as one node would send
 * them, timed; rows updated per second.
 */
export async function measurePresenceWrites(
  stack: ClusterStack,
  ids: string[],
  rounds: number,
): Promise<Record<string, number>> {
  const registry = await openPostgresRegistry({
    url: stack.postgres.url('platform'),
    applicationName: 'bench',
  });
  try {
    const start = performance.now();
    for (let r = 0; r < rounds; r++) {
      const at = Date.now();
      await registry.recordPresence(
        ids.map((deviceId) => ({ deviceId, online: true, lastSeenAt: at })),
        'bench-presence',
      );
    }
    const seconds = (performance.now() - start) / 1000;
    return {
      'presence flush: devices per flush': ids.length,
      'presence flush: ms per flush': round((seconds / rounds) * 1000, 1),
      'presence flush: device rows updated/s (one connection)': Math.round((ids.length * rounds) / seconds),
    };
  } finally {
    await registry.close();
  }
}
