// A gateway that serves everyone (docs/gateway.md §3.1.1): one address may hold at most
// `maxConnections` SMTP connections at once and open at most `connectionsPerMinute`
// (a token bucket); a connection idle for `idleTimeoutMs` is closed by smtp-server's
// socketTimeout. Many idle or eager clients from one address never take every slot.

export interface PerIpLimitsOptions {
  readonly maxConnections: number;
  readonly connectionsPerMinute: number;
  readonly clock: () => number;
}

export type Admission = { readonly ok: true } | { readonly ok: false; readonly reason: 'too-many-connections' | 'too-fast' };

/** IPv4 as itself (::ffff:a.b.c.d is a.b.c.d); IPv6 by its /64, so one host cannot rotate addresses. */
export function clientKey(remoteAddress: string): string {
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  if (v4) return v4[1]!;
  const groups = remoteAddress.toLowerCase().split('%')[0]!;
  const [head = '', tail = ''] = groups.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const full = groups.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${full.slice(0, 4).join(':')}::/64`;
}

export class PerIpLimits {
  readonly #open = new Map<string, number>();
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly options: PerIpLimitsOptions) {}

  /** Called when a connection arrives; on ok, release() must be called when it closes. */
  admit(remoteAddress: string): Admission {
    const key = clientKey(remoteAddress);
    const now = this.options.clock();
    const perMs = this.options.connectionsPerMinute / 60_000;
    const bucket = this.#buckets.get(key) ?? { tokens: this.options.connectionsPerMinute, at: now };
    bucket.tokens = Math.min(this.options.connectionsPerMinute, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if ((this.#open.get(key) ?? 0) >= this.options.maxConnections) return { ok: false, reason: 'too-many-connections' };
    if (bucket.tokens < 1) return { ok: false, reason: 'too-fast' };
    bucket.tokens -= 1;
    this.#open.set(key, (this.#open.get(key) ?? 0) + 1);
    this.#forgetFullBuckets(now);
    return { ok: true };
  }

  release(remoteAddress: string): void {
    const key = clientKey(remoteAddress);
    const count = (this.#open.get(key) ?? 0) - 1;
    if (count <= 0) this.#open.delete(key);
    else this.#open.set(key, count);
  }

  /** Addresses tracked (bounded: full buckets without open connections are forgotten). */
  get tracked(): number {
    return this.#buckets.size;
  }

  #forgetFullBuckets(now: number): void {
    if (this.#buckets.size < 10_000) return;
    for (const [key, bucket] of this.#buckets) {
      const full = bucket.tokens + (now - bucket.at) * (this.options.connectionsPerMinute / 60_000) >= this.options.connectionsPerMinute;
      if (full && !this.#open.has(key)) this.#buckets.delete(key);
    }
  }
}
