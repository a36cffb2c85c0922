// docs/vault-contents.md §5.5, docs/api.md §8.12: what became of the sent copies the
// relay queued. Each sync asks the relay about their pending ids (a bounded number,
// oldest first) and keeps the reports on the sent copy; the faces read the copy's
// delivery (deliveryOf) and its exposure judged again on the facts (docs/exposure.md §4.6).

import { SmtpOutboundFactsSchema, type OutboundDeliveryFacts, type RelayFacts, type TlsFacts } from '../api/facts.js';
import type { DeliveryFacts } from '../core/exposure.js';
import type { StoredMessage } from '../core/vault-contents.js';
import type { RelayClient } from '../edges/relay-client.js';
import type { StickSession } from './stick-session.js';

/** docs/api.md §8.12: at most this many ids are asked about per sync. */
export const MAX_STATUS_REQUESTS_PER_SYNC = 20;

/** docs/cli.md §3.13: one transaction of a sent copy, as `caliop inbox --json` shows it. */
export interface DeliveryEntry {
  readonly recipients: readonly string[];
  readonly server: string;
  readonly via: 'mx' | 'smarthost';
  readonly tls: TlsFacts | null;
  readonly tlsPolicy: 'dane' | 'mta-sts' | 'opportunistic' | 'absent';
  readonly requireTls: boolean;
  /** When the relay's next hop said 250. */
  readonly at: string;
  /** true: the relay queued it first and reported it later (§8.12). */
  readonly later: boolean;
}

/** docs/cli.md §3.13: `delivery` of a sent copy to outside addresses; null for other messages. */
export interface DeliveryView {
  /** queued: some transactions not reported yet; bounced: at least one bounced or forgotten, none pending. */
  readonly state: 'queued' | 'delivered' | 'bounced';
  readonly deliveries: readonly DeliveryEntry[];
  readonly pending: readonly string[];
  readonly bounced: readonly { readonly id: string; readonly at: string; readonly reason: string }[];
}

function entriesOf(facts: unknown, later: boolean): DeliveryEntry[] {
  const parsed = SmtpOutboundFactsSchema.safeParse(facts);
  if (!parsed.success) return [];
  return (parsed.data.deliveries ?? []).map((delivery: OutboundDeliveryFacts) => ({
    recipients: [...delivery.recipients],
    server: delivery.server,
    via: delivery.via,
    tls: delivery.tls,
    tlsPolicy: delivery.tlsPolicy,
    requireTls: delivery.requireTls,
    at: parsed.data.sentAt,
    later,
  }));
}

/** What the vault knows of how a sent copy left; null for a received message or an internal one. */
export function deliveryOf(message: StoredMessage): DeliveryView | null {
  if (message.direction !== 'out') return null;
  const relay = (message.relayFacts ?? null) as RelayFacts | null;
  const atOnce = relay?.route === 'smtp-outbound' ? entriesOf(relay, false) : [];
  const reports = message.delivery?.reports ?? [];
  const later = reports.flatMap((report) => (report.state === 'delivered' ? entriesOf(report.facts, true) : []));
  const bounced = reports
    .filter((report) => report.state !== 'delivered')
    .map((report) => ({ id: report.id, at: report.at, reason: report.reason ?? 'the relay no longer knows this message (its report expired)' }));
  const pending = message.delivery?.pending ?? [];
  if (atOnce.length === 0 && later.length === 0 && bounced.length === 0 && pending.length === 0) return null;
  const state = pending.length > 0 ? 'queued' : bounced.length > 0 ? 'bounced' : 'delivered';
  return { state, deliveries: [...atOnce, ...later], pending: [...pending], bounced };
}

/** docs/exposure.md §4.6: the facts assessDelivered judges. */
export function deliveryFactsOf(view: DeliveryView | null): DeliveryFacts[] {
  return (view?.deliveries ?? []).map(({ recipients, server, via, tlsPolicy }) => ({ recipients, server, via, tlsPolicy }));
}

/**
 * docs/vault-contents.md §5.5: asks the relay about the pending ids of sent copies,
 * oldest first, at most MAX_STATUS_REQUESTS_PER_SYNC; a copy changes only when a report
 * came. Returns how many reports were recorded.
 */
export async function refreshDeliveries(session: StickSession, client: RelayClient, now: Date): Promise<number> {
  const waiting = (await session.store.awaitingDelivery()).sort((a, b) => Number(a.id) - Number(b.id));
  let asked = 0;
  let recorded = 0;
  for (const entry of waiting) {
    if (asked >= MAX_STATUS_REQUESTS_PER_SYNC) break;
    const message = await session.store.get(entry.id);
    const delivery = message.delivery;
    if (delivery === undefined) continue;
    const pending: string[] = [];
    const reports = [...delivery.reports];
    for (const id of delivery.pending) {
      if (asked >= MAX_STATUS_REQUESTS_PER_SYNC) {
        pending.push(id);
        continue;
      }
      asked += 1;
      const status = await client.outboundStatus(id);
      if (status === null) reports.push({ id, state: 'expired', at: now.toISOString() });
      else if (status.state === 'delivered') reports.push({ id, state: 'delivered', at: status.at, facts: status.facts });
      else if (status.state === 'bounced') reports.push({ id, state: 'bounced', at: status.at, reason: status.reason });
      else pending.push(id);
    }
    if (reports.length === delivery.reports.length) continue;
    recorded += reports.length - delivery.reports.length;
    await session.store.replace({ ...message, delivery: { pending, reports } });
  }
  return recorded;
}
