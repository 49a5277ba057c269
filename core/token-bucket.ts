/**
 * Token buckets per key (a device id): `ratePerSecond` flow in, at most `burst` are kept. `reserve`
 * (the broker) goes into debt and says how long to hold the message; `tryTake` (HTTP ingest) takes
 * one only if there is one, else says when. Full buckets are forgotten. docs/DESIGN.md.
 */
type Bucket = { tokens: number; at: number };

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private prunedAt: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
    private readonly pruneEveryMs = 10_000,
  ) {
    this.prunedAt = now();
  }

  /** Takes a token, into debt if need be; returns the ms until this message's turn (0: now). */
  reserve(key: string): number {
    const bucket = this.refilled(key);
    bucket.tokens -= 1;
    return bucket.tokens >= 0 ? 0 : Math.ceil((-bucket.tokens * 1000) / this.ratePerSecond);
  }

  /** Takes a token if there is one (returns 0); else returns the ms until one is there, taking none. */
  tryTake(key: string): number {
    const bucket = this.refilled(key);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - bucket.tokens) * 1000) / this.ratePerSecond));
  }

  /** Gives back tokens reserved for messages that were not sent after all (their connection closed). */
  refund(key: string, tokens: number): void {
    const bucket = this.buckets.get(key);
    if (bucket) bucket.tokens = Math.min(this.burst, bucket.tokens + tokens);
  }

  /** Buckets currently kept (active keys). */
  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string): Bucket {
    const t = this.now();
    if (t - this.prunedAt >= this.pruneEveryMs) this.prune(t);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.burst, at: t };
      this.buckets.set(key, bucket);
    } else if (t > bucket.at) {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((t - bucket.at) * this.ratePerSecond) / 1000);
      bucket.at = t;
    }
    return bucket;
  }

  private prune(t: number): void {
    this.prunedAt = t;
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((t - bucket.at) * this.ratePerSecond) / 1000 >= this.burst) {
        this.buckets.delete(key);
      }
    }
  }
}
