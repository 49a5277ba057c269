/**
 * A device in a child process (a real mqtt.js client), so what it buffers while the broker slows it
 * is not the broker's memory and its CPU is not the test's. `spawnPublisher(args)` runs this file:
 * `burst` publishes `count` QoS 1 readings at once and reports how many got a PUBACK; `flood`
 * publishes QoS 0 at `ratePerSecond` for `seconds` and reports what it sent and whether it is still
 * connected. One JSON line when it starts, one with the result.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';

export interface PublisherArgs {
  url: string;
  deviceId: string;
  secret: string;
  mode: 'burst' | 'flood';
  count?: number;
  ratePerSecond?: number;
  seconds?: number;
  tsBase: number;
}

export interface PublisherResult {
  acked: number;
  failed: number;
  sent: number;
  connectedAtEnd: boolean;
  ms: number;
}

export interface SpawnedPublisher {
  /** Resolves when the child has connected and starts publishing. */
  started: Promise<void>;
  result: Promise<PublisherResult>;
  kill(): void;
}

export function spawnPublisher(args: PublisherArgs): SpawnedPublisher {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(args)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  let onStart: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    onStart = resolve;
  });
  const result = new Promise<PublisherResult>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      for (const line of out.split('\n').slice(0, -1)) {
        const msg = JSON.parse(line) as { event: string } & PublisherResult;
        if (msg.event === 'started') onStart();
        if (msg.event === 'done') resolve(msg);
      }
      out = out.slice(out.lastIndexOf('\n') + 1);
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d;
    });
    child.on('exit', (code) => reject(new Error(`publisher exited (${code}) without a result: ${err}`)));
  });
  return { started, result, kill: () => child.kill('SIGKILL') };
}

async function main(args: PublisherArgs): Promise<void> {
  const client = await mqtt.connectAsync(args.url, {
    username: args.deviceId,
    password: args.secret,
    clientId: `${args.deviceId}-publisher`,
    reconnectPeriod: 0,
  });
  const topic = `devices/${args.deviceId}/telemetry`;
  const body = (n: number) => JSON.stringify({ ts: args.tsBase + n, values: { n } });
  const t0 = Date.now();
  const report = (fields: Partial<PublisherResult>) =>
    process.stdout.write(
      `${JSON.stringify({ event: 'done', acked: 0, failed: 0, sent: 0, connectedAtEnd: client.connected, ms: Date.now() - t0, ...fields })}\n`,
    );
  process.stdout.write(`${JSON.stringify({ event: 'started' })}\n`);
  if (args.mode === 'burst') {
    const count = args.count ?? 0;
    const outcomes = await Promise.allSettled(
      Array.from({ length: count }, (_, n) => client.publishAsync(topic, body(n), { qos: 1 })),
    );
    const acked = outcomes.filter((o) => o.status === 'fulfilled').length;
    report({ acked, failed: count - acked, sent: count });
  } else {
    const rate = args.ratePerSecond ?? 0;
    const end = t0 + (args.seconds ?? 0) * 1000;
    let sent = 0;
    // Every few ms, whatever is due by now: the rate holds however late the timers fire.
    while (Date.now() < end && client.connected) {
      const due = Math.floor(((Date.now() - t0) * rate) / 1000);
      while (sent < due) client.publish(topic, body(sent++), { qos: 0 });
      await new Promise((r) => setTimeout(r, 5));
    }
    report({ sent });
  }
  await client.endAsync(true);
  process.exit(0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main(JSON.parse(process.argv[2] ?? '{}') as PublisherArgs);
}
