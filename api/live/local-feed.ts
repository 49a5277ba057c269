/** A feed fed in-process (`publish`): a deployment without a broker between ingest and API, and tests. */
import { type LiveFeed, LiveHub, type StoredBatch } from './hub.js';

export function createLocalLiveFeed(): LiveFeed & { publish(batch: StoredBatch): void } {
  const hub = new LiveHub();
  return {
    subscribe: (filter, listener) => hub.subscribe(filter, listener),
    listenerCount: () => hub.listenerCount(),
    publish: (batch) => hub.publish(batch),
    async close() {},
  };
}
