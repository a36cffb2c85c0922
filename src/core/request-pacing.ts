// The client's side of the relay's rate limit (docs/api.md §4.4, §5.3): the relay keeps
// one token bucket per device (burst, perMinute), which it publishes in GET /v1/relay
// (§6.1). The client keeps the same bucket and plans each signed request ahead: it
// sends at once while tokens remain, then spaces its requests at the refill rate, so a
// long sync meets no 429 instead of waiting each one out. Pure: the clock is passed in.

export interface PublishedRateLimit {
  /** Requests a device may make at once. */
  readonly burst: number;
  /** Tokens the relay adds per minute. */
  readonly perMinute: number;
}

/**
 * §4.4: the client refills a little slower than the relay does, so that rounding and
 * the time a request spends on the way never put it one token ahead of the relay.
 */
export const PACING_MARGIN = 0.95;

export class RequestPacer {
  readonly #burst: number;
  readonly #perMs: number;
  #tokens: number;
  #updatedAt: number | undefined;

  constructor(limit: PublishedRateLimit) {
    if (!(limit.burst >= 1) || !(limit.perMinute > 0)) throw new RangeError('burst must be >= 1 and perMinute > 0');
    // One token kept in hand: the relay takes a token when the request reaches it, which a
    // loaded machine makes later or earlier than planned by a request or so.
    this.#burst = Math.max(1, Math.floor(limit.burst) - 1);
    this.#perMs = (limit.perMinute * PACING_MARGIN) / 60_000;
    this.#tokens = this.#burst;
  }

  /**
   * Reserves the next request's token. Returns how many milliseconds to wait before
   * sending it (0: now). Tokens may go below zero: each reservation then waits its turn.
   */
  reserve(nowMs: number): number {
    const elapsed = this.#updatedAt === undefined ? 0 : Math.max(0, nowMs - this.#updatedAt);
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#perMs);
    this.#updatedAt = nowMs;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens / this.#perMs);
  }

  /** After a 429 the relay's bucket is empty, whatever we counted: start again from none. */
  drained(nowMs: number): void {
    this.#tokens = Math.min(this.#tokens, 0);
    this.#updatedAt = nowMs;
  }
}
