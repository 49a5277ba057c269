/**
 * Outage plans: the device disconnects its MQTT client for a while and buffers readings on disk.
 * Scheduled windows are relative to the fleet's start; random outages draw exponential gaps
 * (a Poisson process) and uniform durations from the fleet's seed.
 */
import type { SimDevice } from './device.js';
import { createRng, hashSeed } from './signals.js';

export interface OutageWindow {
  /** Milliseconds after the fleet started. */
  startMs: number;
  durationMs: number;
  /** Indexes into the fleet's devices; all devices when absent. */
  devices?: number[] | undefined;
}

export interface RandomOutages {
  /** Mean time between the end of one outage and the start of the next, per device. */
  meanGapMs: number;
  minDurationMs: number;
  maxDurationMs: number;
}

export interface OutagePlan {
  schedule?: OutageWindow[] | undefined;
  random?: RandomOutages | undefined;
}

export function startOutages(
  devices: readonly SimDevice[],
  plan: OutagePlan,
  seed: number,
): { stop(): void } {
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(
      () => {
        timers.delete(t);
        if (!stopped) fn();
      },
      Math.max(0, ms),
    );
    timers.add(t);
  };

  for (const window of plan.schedule ?? []) {
    const targets = window.devices
      ? window.devices.map((i) => devices[i]).filter((d) => d !== undefined)
      : devices;
    later(window.startMs, () => {
      for (const d of targets) void d.goOffline();
      later(window.durationMs, () => {
        for (const d of targets) d.goOnline();
      });
    });
  }

  const random = plan.random;
  if (random) {
    for (const device of devices) {
      const rng = createRng(hashSeed(seed, device.id, '$outages'));
      const cycle = () => {
        const gap = -Math.log(1 - rng()) * random.meanGapMs;
        const duration = random.minDurationMs + rng() * (random.maxDurationMs - random.minDurationMs);
        later(gap, () => {
          void device.goOffline();
          later(duration, () => {
            device.goOnline();
            cycle();
          });
        });
      };
      cycle();
    }
  }

  return {
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
