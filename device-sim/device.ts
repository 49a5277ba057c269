/**
 * One simulated device, configured like real firmware: an mqtt.js client with a fixed clientId,
 * clean:false, QoS 1, reconnects. Readings go live while connected with an empty buffer, else to the
 * on-disk buffer, sent as batches that leave it only after their PUBACK [MQTT-4.4]. docs/DESIGN.md.
 */
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { telemetryTopic } from '../core/topics.js';
import { connectDeviceClient } from './brokers.js';
import { OfflineBuffer } from './buffer.js';
import { DeviceControl } from './control.js';
import { type DeviceCounters, zeroCounters } from './counters.js';
import { createReadingGenerator, type Profile } from './profiles.js';
import { createRng, hashSeed } from './signals.js';
import { type DeviceOptions, encodePayload, type Pending, type Reading } from './types.js';

export type { DeviceHooks, DeviceOptions } from './types.js';

/** Events: `ack` (a message was acknowledged), `connect`, `disconnect`. */
export class SimDevice extends EventEmitter<{ ack: []; connect: []; disconnect: [] }> {
  readonly id: string;
  readonly topic: string;
  readonly counters: DeviceCounters = zeroCounters();
  private buffer!: OfflineBuffer;
  private client: MqttClient | undefined;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private lastTs = 0;
  private flushing = false;
  private offline = false;
  private closing = false;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private lastConnectError = '';
  private readonly generate: (ts: number) => Reading;
  private readonly timingRng: () => number;
  /** Set by the `setInterval` command or the twin's desired `intervalMs`. */
  private intervalOverride: number | undefined;
  private readonly control: DeviceControl | undefined;

  constructor(readonly options: DeviceOptions) {
    super();
    this.id = options.credentials.deviceId;
    this.topic = options.credentials.topic ?? telemetryTopic(this.id);
    this.generate = createReadingGenerator(options.profile, options.seed, this.id);
    this.timingRng = createRng(hashSeed(options.seed, this.id, '$timing'));
    if (options.periodic) this.control = new DeviceControl(this, options.profile, options.logger);
  }

  get profile(): Profile {
    return this.options.profile;
  }
  /** Connected, and neither in an outage nor shutting down. */
  get connected(): boolean {
    return !this.offline && !this.closing && this.client?.connected === true;
  }
  get isOffline(): boolean {
    return this.offline;
  }
  /** Readings waiting in the disk buffer. */
  get buffered(): number {
    return this.buffer?.size ?? 0;
  }
  /** Messages sent and not yet acknowledged. */
  get inFlight(): number {
    return this.pending.size;
  }

  async start(): Promise<void> {
    this.buffer = await OfflineBuffer.open(this.options.bufferDir, this.id);
    // Keep timestamps strictly increasing across restarts: a reading's ts is its identity.
    this.lastTs = this.buffer.lastTs ?? 0;
    this.connect();
    if (this.options.periodic) {
      this.timer = setTimeout(() => this.tick(), Math.floor(this.timingRng() * this.intervalMs));
    }
  }

  /** Takes one reading, publishing it live or buffering it. */
  takeReading(): Reading {
    const reading = this.generate(this.nextTs());
    this.counters.readingsGenerated++;
    this.options.hooks.onReading?.(this.id, reading);
    return reading;
  }

  /** For load drivers: may a live message go out now without exceeding `window` in flight? */
  canSend(window: number): boolean {
    return this.canPublishLive() && this.pending.size < window;
  }

  /** For load drivers: takes `count` readings and publishes them as one message. */
  sendBatch(count: number): void {
    const readings: Reading[] = [];
    for (let i = 0; i < count; i++) readings.push(this.takeReading());
    this.submit(readings);
  }

  /** Starts an outage: stops publishing, persists unacknowledged readings, disconnects. */
  async goOffline(drainMs = 2000): Promise<void> {
    if (this.offline || this.closing) return;
    this.offline = true;
    this.options.logger.info({ device: this.id }, 'simulated outage: going offline');
    await this.disconnect(drainMs);
  }

  /** Ends an outage: reconnects; the buffer is flushed once connected. */
  goOnline(): void {
    if (!this.offline || this.closing) return;
    this.offline = false;
    this.options.logger.info({ device: this.id }, 'simulated outage over: reconnecting');
    this.connect();
  }

  /**
   * Stops taking readings, waits up to `drainMs` for messages in flight, puts what is still
   * unacknowledged into the disk buffer and disconnects. The buffer stays for the next run.
   */
  async close(drainMs = 3000): Promise<void> {
    if (this.closing) return;
    clearTimeout(this.timer);
    await this.disconnect(drainMs, true);
    await this.buffer?.settled();
  }

  get intervalMs(): number {
    return this.intervalOverride ?? this.options.intervalMs ?? this.options.profile.intervalMs;
  }

  /** A new reading period, from the next reading on. */
  setIntervalMs(ms: number): void {
    this.intervalOverride = ms;
    if (this.timer === undefined || this.closing) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), ms);
  }

  /** The `reboot` command: an outage of `downMs`. */
  reboot(downMs: number): void {
    void this.goOffline(500).then(() => setTimeout(() => this.goOnline(), downMs));
  }

  private tick(): void {
    if (this.closing) return;
    this.submit([this.takeReading()]);
    const { profile, jitterMs } = this.options;
    // An overridden interval scales the profile's jitter with it (10 s +/- 2 s becomes 20 ms +/- 4 ms).
    const jitter = jitterMs ?? (profile.jitterMs * this.intervalMs) / profile.intervalMs;
    const delay = Math.max(1, Math.round(this.intervalMs + (this.timingRng() * 2 - 1) * jitter));
    this.timer = setTimeout(() => this.tick(), delay);
  }

  private nextTs(): number {
    this.lastTs = Math.max(this.options.now(), this.lastTs + 1);
    return this.lastTs;
  }

  /** Live only when nothing older waits in the buffer, so readings leave oldest first. */
  private canPublishLive(): boolean {
    return this.connected && !this.flushing && this.buffer.size === 0;
  }

  private submit(readings: Reading[]): void {
    if (this.canPublishLive()) this.publish(readings, 'live');
    else this.toBuffer(readings);
  }

  private toBuffer(readings: readonly Reading[]): void {
    this.counters.readingsBuffered += readings.length;
    this.buffer.append(readings).then(
      () => this.flush(),
      (err: Error) => this.fail(err),
    );
  }

  private publish(readings: readonly Reading[], kind: Pending['kind'], settle?: Pending['settle']): void {
    const client = this.client!;
    const token = ++this.seq;
    this.pending.set(token, { readings, kind, settle });
    this.counters.messagesSent++;
    this.counters.readingsSent += readings.length;
    client.publish(this.topic, encodePayload(readings), { qos: 1 }, (err) => {
      const entry = this.pending.get(token);
      if (!entry) return; // already put back into the buffer (outage or shutdown)
      this.pending.delete(token);
      if (err) {
        this.fail(err);
        if (entry.kind === 'live') void this.buffer.restore(entry.readings).then(() => this.flush());
      } else {
        this.counters.messagesAcked++;
        this.counters.readingsAcked += entry.readings.length;
        this.options.hooks.onAck?.(this.id, entry.readings);
      }
      entry.settle?.(err ?? undefined);
      if (this.pending.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      if (!err) this.emit('ack');
    });
  }

  /** Sends the disk buffer oldest first, one batch in flight, removing each batch once acknowledged. */
  private async flush(): Promise<void> {
    if (this.flushing || !this.connected || this.buffer.size === 0) return;
    this.flushing = true;
    try {
      while (this.connected) {
        const batch = await this.buffer.peek(this.options.flushBatchSize);
        if (batch.length === 0 || !this.connected) break;
        const failed = await new Promise<Error | undefined>((resolve) =>
          this.publish(batch, 'buffer', resolve),
        );
        if (failed) break; // still buffered; the next connect flushes again
        await this.buffer.remove(batch.length);
        this.counters.readingsFlushed += batch.length;
      }
    } catch (err) {
      this.fail(err as Error);
    } finally {
      this.flushing = false;
    }
    // Readings appended while the last batch was in flight.
    if (this.connected && this.buffer.size > 0) void this.flush();
    else if (this.connected) this.emit('ack');
  }

  private connect(): void {
    const client = connectDeviceClient(this.options);
    this.client = client;
    this.control?.attach(client);
    let wasConnected = false;
    client.on('connect', () => {
      if (this.client !== client) return;
      wasConnected = true;
      this.lastConnectError = '';
      this.counters.connects++;
      this.options.logger.debug({ device: this.id, buffered: this.buffer.size }, 'connected');
      this.emit('connect');
      void this.flush();
    });
    client.on('close', () => {
      if (this.client !== client || !wasConnected) return;
      wasConnected = false;
      this.counters.disconnects++;
      this.options.logger.debug({ device: this.id }, 'disconnected');
      this.emit('disconnect');
    });
    client.on('error', (err) => {
      if (this.client !== client) return;
      this.counters.connectErrors++;
      // Log each distinct failure once, not on every reconnect attempt.
      if (err.message !== this.lastConnectError) {
        this.lastConnectError = err.message;
        this.options.logger.warn({ device: this.id, err: err.message }, 'MQTT connection failed; retrying');
      }
    });
  }

  private async disconnect(drainMs: number, closing = false): Promise<void> {
    const client = this.client;
    if (closing) this.closing = true;
    if (client?.connected && this.pending.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    // Whatever is still unacknowledged goes back to disk; buffer batches never left it.
    const unacked: Reading[] = [];
    for (const entry of this.pending.values()) {
      if (entry.kind === 'live') unacked.push(...entry.readings);
      entry.settle?.(new Error('device went offline'));
    }
    this.pending.clear();
    for (const wake of this.idleWaiters.splice(0)) wake();
    this.client = undefined; // its late events are ignored from here on
    if (client?.connected) {
      this.counters.disconnects++;
      this.emit('disconnect');
    }
    await this.buffer.restore(unacked);
    if (client) await client.endAsync(true).catch(() => {});
  }

  private fail(err: Error): void {
    this.counters.errors++;
    this.options.logger.warn({ device: this.id, err: err.message }, 'publish failed');
    this.options.hooks.onError?.(this.id, err);
  }
}
