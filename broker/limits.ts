/**
 * Per-device publish rate: over `DEVICE_MAX_MESSAGES_PER_SECOND` (after a burst of
 * `DEVICE_BURST_MESSAGES`) a device is slowed down, never dropped.
 *
 * How: aedes reads a connection's next socket chunk only after authorizePublish has called back for
 * every packet of the chunk it already parsed (`_parsingBatch`, aedes lib/client.js `nextBatch`), and
 * it writes a QoS 1 PUBACK only after that callback (lib/handlers/publish.js). So holding the callback
 * of a message until its device's token bucket (core/token-bucket.ts, shared by all of a device's
 * connections) has a token for it both holds its PUBACK and stops reading that connection: the
 * device's TCP window fills and it waits, for QoS 0 and QoS 1 alike (as EMQX's limiter pauses reading
 * from the socket). What the broker holds is bounded by one socket read per connection.
 *
 * While held, the device's PINGREQs wait unread behind its messages; each released message counts as
 * a packet received [MQTT-3.1.2-24], so a throttled device is not disconnected for keepalive.
 */
import type { Client } from 'aedes';
import { TokenBuckets } from '../core/token-bucket.js';
import type { DeviceErrorBuffer } from './device-errors.js';
import type { BrokerMetrics } from './metrics.js';

/** A device's throttling is recorded as a device error at most this often. */
const NOTICE_EVERY_MS = 60_000;

export interface ThrottleOptions {
  ratePerSecond: number;
  burst: number;
  metrics: Pick<BrokerMetrics, 'throttledMessages' | 'throttledSeconds' | 'throttledWaiting'>;
  errors: Pick<DeviceErrorBuffer, 'add'>;
  now: () => number;
}

export type DeviceThrottle = ReturnType<typeof createDeviceThrottle>;

type Held = { due: number; client: Client; proceed: (open: boolean) => void };
/** A device's held messages, released in arrival order by one timer. */
type Queue = { items: Held[]; head: number; timer: NodeJS.Timeout | undefined };

export function createDeviceThrottle(opts: ThrottleOptions) {
  const { metrics, now } = opts;
  const buckets = new TokenBuckets(opts.ratePerSecond, opts.burst, now);
  const queues = new Map<string, Queue>();
  /** Until when each throttled device's held messages wait (for the seconds-throttled metric). */
  const heldUntil = new Map<string, number>();
  const noticedAt = new Map<string, number>();

  function account(deviceId: string, waitMs: number) {
    const t = now();
    const until = t + waitMs;
    const from = Math.max(t, heldUntil.get(deviceId) ?? 0);
    if (until > from) metrics.throttledSeconds.inc((until - from) / 1000);
    heldUntil.set(deviceId, Math.max(until, heldUntil.get(deviceId) ?? 0));
    metrics.throttledMessages.inc();
    const last = noticedAt.get(deviceId);
    if (last === undefined || t - last >= NOTICE_EVERY_MS) {
      noticedAt.set(deviceId, t);
      opts.errors.add(
        deviceId,
        `slowed down: more than ${opts.ratePerSecond} messages per second (burst ${opts.burst}); ` +
          'the broker held its messages until its rate allowed them, none were dropped ' +
          '(recorded at most once a minute)',
        '',
      );
    }
  }

  // One queue and timer per device rather than a timer per message: timers set a few ms apart in
  // one busy turn can fire out of order, and a device's messages must reach the spool in order.
  function release(deviceId: string, queue: Queue) {
    queue.timer = undefined;
    const t = now();
    while (queue.head < queue.items.length && (queue.items[queue.head] as Held).due <= t) {
      const { client, proceed } = queue.items[queue.head++] as Held;
      metrics.throttledWaiting.dec();
      if (client.closed) proceed(false);
      else {
        keepaliveTimer(client)?.refresh();
        proceed(true);
      }
    }
    if (queue.head === queue.items.length) queues.delete(deviceId);
    else {
      // Several connections of one device can keep its queue from ever emptying.
      if (queue.head > 1024 && queue.head * 2 > queue.items.length) {
        queue.items = queue.items.slice(queue.head);
        queue.head = 0;
      }
      schedule(deviceId, queue);
    }
  }

  // A connection that closes while messages of it are held: they are released at once as not
  // acknowledged (the device sends them again), and their tokens go back to the device.
  const watched = new WeakSet<Client>();
  function watch(client: Client, deviceId: string) {
    if (watched.has(client)) return;
    watched.add(client);
    client.conn.once('close', () => setImmediate(() => dropHeld(client, deviceId)));
  }

  function dropHeld(client: Client, deviceId: string) {
    const queue = queues.get(deviceId);
    if (!queue) return;
    const mine = queue.items.slice(queue.head).filter((held) => held.client === client);
    if (mine.length === 0) return;
    queue.items = queue.items.slice(queue.head).filter((held) => held.client !== client);
    queue.head = 0;
    buckets.refund(deviceId, mine.length);
    if (queue.items.length === 0) {
      clearTimeout(queue.timer);
      queues.delete(deviceId);
    }
    for (const held of mine) {
      metrics.throttledWaiting.dec();
      held.proceed(false);
    }
  }

  function schedule(deviceId: string, queue: Queue) {
    const next = queue.items[queue.head] as Held;
    queue.timer ??= setTimeout(() => release(deviceId, queue), Math.max(0, next.due - now()));
  }

  return {
    /**
     * Runs `proceed` now, or once the device's rate allows this message (after the device's earlier
     * held ones). `proceed(false)`: the connection closed while the message was held (no PUBACK was
     * sent; the device sends it again).
     */
    admit(client: Client, deviceId: string, proceed: (open: boolean) => void): void {
      // A will, published by aedes as the connection ends: nothing left to slow down.
      if (client.closed) {
        proceed(true);
        return;
      }
      const waitMs = buckets.reserve(deviceId);
      let queue = queues.get(deviceId);
      if (waitMs === 0 && !queue) {
        proceed(true);
        return;
      }
      account(deviceId, waitMs);
      metrics.throttledWaiting.inc();
      if (!queue) {
        queue = { items: [], head: 0, timer: undefined };
        queues.set(deviceId, queue);
      }
      queue.items.push({ due: now() + waitMs, client, proceed });
      schedule(deviceId, queue);
      watch(client, deviceId);
    },

    /** Forgets devices that are no longer throttled (called with the broker's periodic flush). */
    prune(): void {
      const t = now();
      for (const [id, until] of heldUntil) if (until < t) heldUntil.delete(id);
      for (const [id, at] of noticedAt) if (t - at >= NOTICE_EVERY_MS) noticedAt.delete(id);
    },

    /** Releases every held message as closed (the broker is closing: no PUBACK goes out). */
    close(): void {
      for (const queue of queues.values()) {
        clearTimeout(queue.timer);
        for (const held of queue.items.slice(queue.head)) {
          metrics.throttledWaiting.dec();
          held.proceed(false);
        }
      }
      queues.clear();
    },
  };
}

/** aedes' keepalive timer of a client (lib/handlers/connect.js setKeepAlive); not in its types. */
function keepaliveTimer(client: Client): NodeJS.Timeout | null | undefined {
  return (client as unknown as { _keepaliveTimer?: NodeJS.Timeout | null })._keepaliveTimer;
}
