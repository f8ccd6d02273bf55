// Per-token rate limits as token buckets: each token may send `burst` requests at once and `rate` per second
// sustained; a request that finds its bucket empty learns how long until the next one is allowed (the
// Retry-After of its 429). Buckets are kept per token id, so memory is bounded by the tokens that exist.

export class TokenBuckets {
  private readonly buckets = new Map<number, { level: number; at: number }>();

  /** `rate` requests per second sustained (0: no limit), at most `burst` at once. */
  constructor(readonly rate: number, readonly burst: number) {}

  /** Take one request from `key`'s bucket at time `nowMs`: 0 when allowed, else the seconds to wait. */
  take(key: number, nowMs: number): number {
    if (this.rate <= 0) return 0;
    const size = Math.max(1, this.burst);
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { level: size, at: nowMs }));
    b.level = Math.min(size, b.level + ((nowMs - b.at) / 1000) * this.rate);
    b.at = nowMs;
    if (b.level >= 1) {
      b.level -= 1;
      return 0;
    }
    return (1 - b.level) / this.rate;
  }
}
