// Per-device rate limit (docs/api.md §5.3): one token bucket per device key.
// Needs middleware/device-auth.ts before it.

import type { MiddlewareHandler } from 'hono';
import { RelayHttpError } from '../http-error.js';
import type { RelayEnv } from '../relay-env.js';

export interface TokenBucketOptions {
  /** Requests a device may make in a burst. */
  readonly burst: number;
  /** Tokens added per minute. */
  readonly perMinute: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** A token bucket per key. Pure apart from the clock it is given (milliseconds). */
export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();
  readonly #options: TokenBucketOptions;

  constructor(options: TokenBucketOptions) {
    if (!(options.burst >= 1) || !(options.perMinute > 0)) throw new RangeError('burst must be >= 1 and perMinute > 0');
    this.#options = options;
  }

  /** Takes one token; returns 0 when allowed, else the seconds to wait for the next token. */
  take(key: string, nowMs: number): number {
    const perMs = this.#options.perMinute / 60_000;
    const bucket = this.#buckets.get(key) ?? { tokens: this.#options.burst, updatedAt: nowMs };
    bucket.tokens = Math.min(this.#options.burst, bucket.tokens + Math.max(0, nowMs - bucket.updatedAt) * perMs);
    bucket.updatedAt = nowMs;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > 100_000) this.#forgetFull(nowMs);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / perMs / 1000);
  }

  /** Drops the buckets that are full again (they behave like new ones). */
  #forgetFull(nowMs: number): void {
    const perMs = this.#options.perMinute / 60_000;
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (nowMs - bucket.updatedAt) * perMs >= this.#options.burst) this.#buckets.delete(key);
    }
  }
}

/** Takes a token of the device's bucket, or throws the 429 (docs/api.md §5.3). */
export function takeToken(buckets: TokenBuckets, fingerprint: string, nowMs: number): void {
  const wait = buckets.take(fingerprint, nowMs);
  if (wait > 0) {
    throw new RelayHttpError(429, 'rate_limited', `too many requests from this device; retry in ${wait} s`, {
      headers: { 'Retry-After': String(wait) },
    });
  }
}

export function rateLimit(buckets: TokenBuckets, clock: () => Date): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    takeToken(buckets, c.get('device').fingerprint, clock().getTime());
    await next();
  };
}
