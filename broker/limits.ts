/**
 * Per-device publish rate limit: a token bucket per device (shared by all of a device's
 * connections) holding one second's worth of messages, refilled continuously. A device that sends
 * at most `ratePerSecond` on average never notices it; a burst beyond one second's worth is dropped.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly ratePerSecond: number,
    private readonly now: () => number,
  ) {}

  /** Takes one token for `key`; false when the bucket is empty (the message is over the limit). */
  take(key: string): boolean {
    const t = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.ratePerSecond, at: t };
      this.buckets.set(key, bucket);
    } else {
      const refill = ((t - bucket.at) * this.ratePerSecond) / 1000;
      if (refill > 0) {
        bucket.tokens = Math.min(this.ratePerSecond, bucket.tokens + refill);
        bucket.at = t;
      }
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forgets buckets that have refilled completely (idle devices), so memory follows activity. */
  prune(): void {
    const t = this.now();
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((t - bucket.at) * this.ratePerSecond) / 1000 >= this.ratePerSecond) {
        this.buckets.delete(key);
      }
    }
  }
}
