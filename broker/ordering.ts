/**
 * Keeps QoS 1 packets reaching online subscribers in the order aedes numbered them.
 *
 * aedes numbers every packet from a broker-wide counter when `publish` starts (aedes-packet
 * `packet.js` line 17, `brokerCounter = ++broker.counter`) and, per subscriber, forwards a packet only
 * when its number is higher than the last one it forwarded to that subscriber (`dedupe`,
 * `lib/client.js` lines 103 and 447-458: meant to drop duplicates in a cluster). Between numbering and
 * forwarding, a QoS 1 publish awaits `outgoingEnqueueCombi` (aedes.js line 361), which with
 * aedes-persistence-level is one LevelDB put per persistent subscriber. Puts run on libuv's thread
 * pool and can finish out of order: then packet 11 is emitted before packet 10, and packet 10 is
 * skipped for that subscriber as a "duplicate". It is not lost (it stays in the session's queue on
 * disk), but the subscriber gets it only after its next reconnect. We measured this (when ingest
 * still took telemetry through a persistent session): 500 concurrent publishes left one behind in
 * most runs.
 *
 * The fix: let the puts run concurrently, but resolve each `outgoingEnqueueCombi` only after every
 * earlier call has settled, so aedes emits QoS 1 packets in numbering order.
 */
type EnqueueCombi = (subs: unknown[], packet: unknown) => Promise<unknown>;

export function keepEnqueueOrder(persistence: { outgoingEnqueueCombi: EnqueueCombi }): void {
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
