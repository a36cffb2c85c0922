// docs/gateway.md §4.7: outbound messages the smarthost deferred (4xx, no connection,
// timeout) wait in the store's outbound_queue and are tried again with an exponential,
// bounded backoff; delivered, they leave the queue; refused for good (5xx) or still
// deferred at the give-up time, they leave it as a bounce in the sender's mailbox.
// Every relay process with a smarthost runs this; the store's claims keep two
// processes from sending one message at once.

import type { NewMessage, QueuedOutbound, RelayStore } from '../store/relay-store.js';
import { bounceFacts, buildBounce, sanitizedReply } from './bounce.js';
import { sealToRecipient } from './seal.js';
import { OUTBOUND_REPORT_RETENTION_S } from '../../api/outbound.js';
import { outboundFacts } from './outbound-facts.js';
import { DeliveryError, type OutboundTransport } from './outbound-transport.js';
import { chunkedMessage } from './outbound-stream.js';

async function headWithFirstChunk(store: RelayStore, item: QueuedOutbound): Promise<Uint8Array> {
  for await (const chunk of store.uploadChunks(item.id, 1)) return Buffer.concat([item.message, chunk]);
  return item.message;
}

export interface RetryPolicy {
  /** Delay before the first retry; doubled after each failed attempt. */
  readonly firstDelayMs: number;
  /** The doubling stops here. */
  readonly maxDelayMs: number;
  /** After this long in the queue the message is bounced. */
  readonly giveUpAfterMs: number;
}

/** docs/gateway.md §4.7 defaults: 1 min, doubling to at most 1 h, given up after 2 days. */
export const DEFAULT_RETRY: RetryPolicy = { firstDelayMs: 60_000, maxDelayMs: 3_600_000, giveUpAfterMs: 2 * 86_400_000 };

/** The wait after `attempts` failed attempts (1: the first retry). */
export function retryDelayMs(attempts: number, policy: RetryPolicy): number {
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
}

export interface OutboundQueueDeps {
  readonly store: RelayStore;
  /** The smarthost, or the recipients' MX (docs/gateway.md §4.8). */
  readonly transport: OutboundTransport;
  readonly domain: string;
  readonly hostname: string;
  readonly retry: RetryPolicy;
  readonly clock: () => Date;
  readonly randomId: () => string;
  readonly log: (fields: Record<string, unknown>) => void;
  /** Named as the peer of a bounce: the smarthost, or our own name with MX delivery. */
  readonly smarthostHost: string;
}

/** A claim outlives any one attempt (the smarthost timeouts are shorter). */
const LEASE_MS = 10 * 60_000;
const BATCH = 16;

export class OutboundQueue {
  readonly #deps: OutboundQueueDeps;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  #again = false;

  constructor(deps: OutboundQueueDeps) {
    this.#deps = deps;
  }

  /** Polls at least every min(first delay, 30 s), and at once when woken. */
  start(): void {
    const every = Math.max(250, Math.min(this.#deps.retry.firstDelayMs, 30_000));
    const tick = () => {
      if (this.#stopped) return;
      this.wake();
      this.#timer = setTimeout(tick, every);
      this.#timer.unref();
    };
    tick();
  }

  /** Runs the due messages now (or right after the run under way). */
  wake(): void {
    if (this.#running !== null) {
      this.#again = true;
      return;
    }
    this.#running = this.#runDue()
      .catch((error: unknown) => this.#deps.log({ event: 'outbound_queue_error', error: error instanceof Error ? error.message : String(error) }))
      .finally(() => {
        this.#running = null;
        if (this.#again && !this.#stopped) {
          this.#again = false;
          this.wake();
        }
      });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#running;
  }

  async #runDue(): Promise<void> {
    // docs/disclosure.md §1: delivery reports are kept 30 days.
    await this.#deps.store.purgeOutboundReports(new Date(this.#deps.clock().getTime() - OUTBOUND_REPORT_RETENTION_S * 1000).toISOString());
    for (;;) {
      const now = this.#deps.clock();
      const due = await this.#deps.store.claimOutbound(now.toISOString(), new Date(now.getTime() + LEASE_MS).toISOString(), BATCH);
      for (const item of due) await this.#attempt(item);
      if (due.length < BATCH || this.#stopped) return;
    }
  }

  async #attempt(item: QueuedOutbound): Promise<void> {
    const { store, transport, retry, clock, log } = this.#deps;
    const attempts = item.attempts + 1;
    try {
      // One queued item is one SMTP transaction (the route queues one per domain with MX delivery).
      // docs/api.md §8.7.1: a message streamed in is read from its chunks for each attempt, never whole.
      const chunks = item.chunks ?? 0;
      const message = chunks > 0 ? chunkedMessage(store, item.id, item.message, null, chunks) : Buffer.from(item.message);
      const delivery = await transport.deliver({ from: item.sender, to: item.recipients }, message, { requireTls: item.requireTls });
      // docs/api.md §8.12: the facts a 200 would have carried, kept for the sender's stick in the same commit.
      const facts = outboundFacts([delivery], clock().toISOString(), this.#deps.hostname, transport.kind, item.exposed);
      await store.finishOutbound(item.id, null, { id: item.id, sender: item.sender, state: 'delivered', at: facts.sentAt, detail: JSON.stringify(facts) });
      log({ event: 'outbound_sent', queued: true, attempts, recipients: item.recipients.length, bytes: chunks > 0 ? null : item.message.length, streamed: chunks > 0, tls: delivery.tls?.version ?? null, tlsPolicy: delivery.tlsPolicy, requireTls: delivery.requireTls, exposed: item.exposed });
      return;
    } catch (error) {
      if (!(error instanceof DeliveryError)) throw error;
      const now = clock();
      const diagnostic = sanitizedReply(error.smtpReply ?? error.message);
      const next = new Date(now.getTime() + retryDelayMs(attempts, retry));
      if (error.kind === 'unreachable' && next.toISOString() < item.giveUpAt) {
        await store.deferOutbound(item.id, attempts, next.toISOString(), diagnostic);
        log({ event: 'outbound_deferred', attempts, recipients: item.recipients.length, nextAttemptAt: next.toISOString(), error: diagnostic });
        return;
      }
      await store.finishOutbound(item.id, await this.#bounce(item, attempts, diagnostic, error.kind === 'refused', now), {
        id: item.id,
        sender: item.sender,
        state: 'bounced',
        at: now.toISOString(),
        detail: diagnostic,
      });
      log({ event: 'outbound_bounced', attempts, recipients: item.recipients.length, refused: error.kind === 'refused', error: diagnostic });
    }
  }

  /** The bounce for the sender's mailbox; null when the sender has no account any more. */
  async #bounce(item: QueuedOutbound, attempts: number, diagnostic: string, refused: boolean, now: Date): Promise<NewMessage | null> {
    const { store, domain, hostname, randomId } = this.#deps;
    const account = await store.accountByAddress(item.sender);
    if (account === undefined) return null;
    // A message in chunks: its header section is in the DKIM field and the first chunk (the report quotes only the headers).
    const original = item.chunks ? await headWithFirstChunk(store, item) : item.message;
    const raw = buildBounce({ domain, hostname, sender: item.sender, recipients: item.recipients, original, createdAt: item.createdAt, now, attempts, diagnostic, refused, messageId: randomId() });
    const armoredMessage = await sealToRecipient(raw, account.cert);
    raw.fill(0);
    return {
      id: randomId(),
      sender: `mailer-daemon@${domain}`,
      recipients: [item.sender],
      size: Buffer.byteLength(armoredMessage, 'utf8'),
      facts: bounceFacts({ now, smarthostHost: this.#deps.smarthostHost, smarthostIp: '', hostname, domain, tls: null }),
      armoredMessage,
      entryIds: [randomId()],
    };
  }
}
