/**
 * Load mode for benchmarks. `rate`: a fixed number of messages per second across the fleet, spread
 * round-robin; a message that finds no device able to send (all disconnected or at their in-flight
 * window) is skipped and counted, never queued, so a slow platform shows up as a shortfall instead
 * of a burst later. `max`: every device keeps `window` QoS 1 publishes in flight and sends the next
 * one on each PUBACK (as fast as acknowledged).
 */
import type { SimDevice } from './device.js';

export interface LoadOptions {
  mode: 'rate' | 'max';
  /** Messages per second across the fleet (mode `rate`). */
  rate?: number | undefined;
  /** QoS 1 publishes in flight per device: default 16 for `max`, 1000 for `rate`. */
  window?: number | undefined;
  /** Readings per message (1: `{ts, values}`; more: an array batch). */
  batchSize?: number | undefined;
}

export interface LoadDriver {
  /** Messages the `rate` mode could not place. */
  readonly skipped: number;
  stop(): void;
}

const TICK_MS = 5;

export function startLoad(devices: readonly SimDevice[], options: LoadOptions): LoadDriver {
  const batch = Math.max(1, options.batchSize ?? 1);
  let stopped = false;
  let skipped = 0;

  if (options.mode === 'max') {
    const window = Math.max(1, options.window ?? 16);
    const listeners: [SimDevice, () => void][] = [];
    for (const device of devices) {
      const pump = () => {
        while (!stopped && device.canSend(window)) device.sendBatch(batch);
      };
      device.on('ack', pump);
      device.on('connect', pump);
      listeners.push([device, pump]);
      pump();
    }
    return {
      get skipped() {
        return skipped;
      },
      stop() {
        stopped = true;
        for (const [d, fn] of listeners) {
          d.off('ack', fn);
          d.off('connect', fn);
        }
      },
    };
  }

  const rate = options.rate ?? 0;
  if (!(rate > 0)) throw new Error('load mode "rate" needs a positive rate (messages per second)');
  const window = Math.max(1, options.window ?? 1000);
  const started = performance.now();
  let issued = 0;
  let next = 0;
  const timer = setInterval(() => {
    const due = Math.floor((rate * (performance.now() - started)) / 1000) - issued;
    for (let i = 0; i < due; i++) {
      issued++;
      let sent = false;
      for (let tries = 0; tries < devices.length && !sent; tries++) {
        const device = devices[next]!;
        next = (next + 1) % devices.length;
        if (device.canSend(window)) {
          device.sendBatch(batch);
          sent = true;
        }
      }
      if (!sent) skipped++;
    }
  }, TICK_MS);
  return {
    get skipped() {
      return skipped;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
