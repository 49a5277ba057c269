/**
 * The live feed behind `/telemetry/stream`: stored batches fanned out to the open streams, keyed by
 * pilot so a batch visits only its pilot's listeners. Fed over MQTT (mqtt-feed.ts) or in-process.
 */
import type { Logger } from 'pino';
import type { DeviceChange } from '../../core/command-json.js';
import type { TelemetryValue as Value } from '../../core/reading.js';
import type { LiveInterest } from '../../core/topics.js';

export interface LiveReading {
  /** Epoch ms. */
  ts: number;
  values: Record<string, Value>;
}

export interface StoredBatch {
  pilotId: string;
  deviceId: string;
  readings: LiveReading[];
}

/** A whole pilot, or one device of it. */
export interface LiveFilter {
  pilotId: string;
  deviceId?: string | undefined;
}

export type LiveListener = (batch: StoredBatch) => void;

export interface LiveFeed {
  /** Returns the unsubscribe function. */
  subscribe(filter: LiveFilter, listener: LiveListener): () => void;
  /**
   * Resolves once ingest can know about the latest subscription (the live interest reached the
   * broker); a stream waits for it before it answers, so readings stored after the answer reach it.
   */
  interestSent?(): Promise<void>;
  /** Listeners currently subscribed (for tests and metrics). */
  listenerCount(): number;
  /** Command and twin changes of the filter's devices (api/live/device-changes.ts), when served. */
  subscribeChanges?(
    filter: LiveFilter,
    listener: (deviceId: string, change: DeviceChange) => void,
  ): () => void;
  close(): Promise<void>;
}

/** In-process fan-out. */
export class LiveHub {
  private readonly byPilot = new Map<string, Set<{ filter: LiveFilter; listener: LiveListener }>>();
  private count = 0;
  /** Called when the set of watched pilots and devices may have changed. */
  onChange: (() => void) | undefined;

  /** What the open streams watch: whole pilots and single devices. */
  interest(): LiveInterest {
    const pilots: string[] = [];
    const devices = new Set<string>();
    for (const [pilotId, set] of this.byPilot) {
      if ([...set].some((e) => e.filter.deviceId === undefined)) pilots.push(pilotId);
      else for (const { filter } of set) devices.add(filter.deviceId!);
    }
    return { pilots, devices: [...devices] };
  }

  subscribe(filter: LiveFilter, listener: LiveListener): () => void {
    const entry = { filter, listener };
    let set = this.byPilot.get(filter.pilotId);
    if (!set) {
      set = new Set();
      this.byPilot.set(filter.pilotId, set);
    }
    set.add(entry);
    this.count++;
    this.onChange?.();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.count--;
      set.delete(entry);
      if (set.size === 0) this.byPilot.delete(filter.pilotId);
      this.onChange?.();
    };
  }

  /** Whether a batch of this device would reach any listener (checked before parsing it). */
  wants(pilotId: string, deviceId: string): boolean {
    const set = this.byPilot.get(pilotId);
    if (!set) return false;
    for (const { filter } of set) {
      if (filter.deviceId === undefined || filter.deviceId === deviceId) return true;
    }
    return false;
  }

  publish(batch: StoredBatch, logger?: Logger): void {
    for (const { filter, listener } of [...(this.byPilot.get(batch.pilotId) ?? [])]) {
      if (filter.deviceId !== undefined && filter.deviceId !== batch.deviceId) continue;
      try {
        listener(batch);
      } catch (err) {
        logger?.warn({ err }, 'live listener failed');
      }
    }
  }

  listenerCount(): number {
    return this.count;
  }
}
