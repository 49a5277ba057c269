/**
 * Per-device publish rate (DEVICE_MAX_MESSAGES_PER_SECOND, DEVICE_BURST_MESSAGES): over it a device's
 * messages are held, with their PUBACKs and the reading of its socket, never dropped; each release
 * counts as a packet received [MQTT-3.1.2-24]. How and why: docs/DESIGN.md, "Slowed, never dropped".
 */
import type { Client } from 'aedes';
import { TokenBuckets } from '../core/token-bucket.js';
import { keepaliveTimerOf } from './aedes-internals.js';
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

type Held = { due: number; client: Client; proceed: (open: boolean) => void };
/** A device's held messages, released in arrival order by one timer. */
type Queue = { items: Held[]; head: number; timer: NodeJS.Timeout | undefined };

export function createDeviceThrottle(opts: ThrottleOptions) {
  return new DeviceThrottle(opts);
}

export class DeviceThrottle {
  private readonly buckets: TokenBuckets;
  private readonly queues = new Map<string, Queue>();
  /** Until when each throttled device's held messages wait (for the seconds-throttled metric). */
  private readonly heldUntil = new Map<string, number>();
  private readonly noticedAt = new Map<string, number>();
  private readonly watched = new WeakSet<Client>();

  constructor(private readonly opts: ThrottleOptions) {
    this.buckets = new TokenBuckets(opts.ratePerSecond, opts.burst, opts.now);
  }

  /**
   * Runs `proceed` now, or once the device's rate allows this message (after the device's earlier
   * held ones). `proceed(false)`: the connection closed while the message was held (no PUBACK was
   * sent; the device sends it again).
   */
  admit(client: Client, deviceId: string, proceed: (open: boolean) => void): void {
    // A will, published by aedes as the connection ends: nothing left to slow down.
    const waitMs = client.closed ? 0 : this.buckets.reserve(deviceId);
    let queue = this.queues.get(deviceId);
    if (client.closed || (waitMs === 0 && !queue)) {
      proceed(true);
      return;
    }
    this.account(deviceId, waitMs);
    this.opts.metrics.throttledWaiting.inc();
    if (!queue) {
      queue = { items: [], head: 0, timer: undefined };
      this.queues.set(deviceId, queue);
    }
    queue.items.push({ due: this.opts.now() + waitMs, client, proceed });
    this.schedule(deviceId, queue);
    this.watch(client, deviceId);
  }

  /** Forgets devices that are no longer throttled (called with the broker's periodic flush). */
  prune(): void {
    const t = this.opts.now();
    for (const [id, until] of this.heldUntil) if (until < t) this.heldUntil.delete(id);
    for (const [id, at] of this.noticedAt) if (t - at >= NOTICE_EVERY_MS) this.noticedAt.delete(id);
  }

  /** Releases every held message as closed (the broker is closing: no PUBACK goes out). */
  close(): void {
    for (const queue of this.queues.values()) {
      clearTimeout(queue.timer);
      for (const held of queue.items.slice(queue.head)) {
        this.opts.metrics.throttledWaiting.dec();
        held.proceed(false);
      }
    }
    this.queues.clear();
  }

  private account(deviceId: string, waitMs: number) {
    const { metrics, now } = this.opts;
    const t = now();
    const until = t + waitMs;
    const from = Math.max(t, this.heldUntil.get(deviceId) ?? 0);
    if (until > from) metrics.throttledSeconds.inc((until - from) / 1000);
    this.heldUntil.set(deviceId, Math.max(until, this.heldUntil.get(deviceId) ?? 0));
    metrics.throttledMessages.inc();
    const last = this.noticedAt.get(deviceId);
    if (last !== undefined && t - last < NOTICE_EVERY_MS) return;
    this.noticedAt.set(deviceId, t);
    this.opts.errors.add(
      deviceId,
      `slowed down: more than ${this.opts.ratePerSecond} messages per second (burst ${this.opts.burst}); ` +
        'the broker held its messages until its rate allowed them, none were dropped ' +
        '(recorded at most once a minute)',
      '',
    );
  }

  // One queue and timer per device rather than a timer per message: timers set a few ms apart in
  // one busy turn can fire out of order, and a device's messages must reach the journal in order.
  private release(deviceId: string, queue: Queue) {
    queue.timer = undefined;
    const t = this.opts.now();
    while (queue.head < queue.items.length && (queue.items[queue.head] as Held).due <= t) {
      const { client, proceed } = queue.items[queue.head++] as Held;
      this.opts.metrics.throttledWaiting.dec();
      if (client.closed) proceed(false);
      else {
        keepaliveTimerOf(client)?.refresh();
        proceed(true);
      }
    }
    if (queue.head === queue.items.length) {
      this.queues.delete(deviceId);
      return;
    }
    // Several connections of one device can keep its queue from ever emptying.
    if (queue.head > 1024 && queue.head * 2 > queue.items.length) {
      queue.items = queue.items.slice(queue.head);
      queue.head = 0;
    }
    this.schedule(deviceId, queue);
  }

  // A connection that closes while messages of it are held: they are released at once as not
  // acknowledged (the device sends them again), and their tokens go back to the device.
  private watch(client: Client, deviceId: string) {
    if (this.watched.has(client)) return;
    this.watched.add(client);
    client.conn.once('close', () => setImmediate(() => this.dropHeld(client, deviceId)));
  }

  private dropHeld(client: Client, deviceId: string) {
    const queue = this.queues.get(deviceId);
    if (!queue) return;
    const mine = queue.items.slice(queue.head).filter((held) => held.client === client);
    if (mine.length === 0) return;
    queue.items = queue.items.slice(queue.head).filter((held) => held.client !== client);
    queue.head = 0;
    this.buckets.refund(deviceId, mine.length);
    if (queue.items.length === 0) {
      clearTimeout(queue.timer);
      this.queues.delete(deviceId);
    }
    for (const held of mine) {
      this.opts.metrics.throttledWaiting.dec();
      held.proceed(false);
    }
  }

  private schedule(deviceId: string, queue: Queue) {
    const next = queue.items[queue.head] as Held;
    queue.timer ??= setTimeout(() => this.release(deviceId, queue), Math.max(0, next.due - this.opts.now()));
  }
}
