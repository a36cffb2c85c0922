// The outbox (docs/vault-contents.md §4, docs/cli.md §3.17): submitting queued
// messages one by one (used by send and sync), `caliop outbox`, its drop and retry.
import { sha256 } from '@noble/hashes/sha2.js';
import type { OutboxItem } from '../core/vault-contents.js';
import { CaliopError, isCaliopError } from '../errors.js';
import { RelayErrorResponse, type RelayClient } from '../edges/relay-client.js';
import { relayClientFor } from './relay-account.js';
import { blobSha256, ciphertextBytes, ciphertextText, outboxBlobRefs } from './message-blobs.js';
import type { CiphertextBlob } from '../core/vault-contents.js';
import type { StickSession } from './stick-session.js';

/** docs/vault-contents.md §4.1: only these leave a message queued (and hold the rest); any other refusal is this message's. */
function isTransient(error: unknown): boolean {
  return isCaliopError(error, 'relay_unreachable') || isCaliopError(error, 'relay_rate_limited');
}

/** One outbox message as a failure report (`caliop sync`, `caliop outbox`). */
export interface FailedMessage {
  readonly id: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly code: string;
  readonly reason: string;
}

interface FlushResult {
  sent: string[];
  queued: string[];
  /** Transient errors met (the message stays queued). */
  errors: string[];
  /** The transient error that stopped the flush, by the local id it met (send tells why a message waits). */
  waitingOn?: { readonly id: string; readonly error: CaliopError };
  /** Marked failed during this flush. */
  failed: FailedMessage[];
  /** The error of each message marked failed, by local id (send reports it as its own). */
  failures: Map<string, CaliopError>;
}

/**
 * docs/vault-contents.md §4.1: an outbox message's idempotency key; one queued before
 * keys existed gets one derived from its content, the same on every attempt.
 */
function outboxIdempotencyKey(item: OutboxItem): string {
  if (item.idempotencyKey !== undefined) return item.idempotencyKey;
  const digest = sha256(new TextEncoder().encode(`caliop outbox ${item.id}\n${item.outbound?.rawMessage ?? item.armoredMessage}`));
  return Buffer.from(digest).toString('base64url');
}

/**
 * docs/api.md §8.2.1, docs/store.md §5.1: a large ciphertext goes from its blob to the
 * relay as a stream, never whole in memory: the digest the signature covers was taken
 * as the blob was written (docs/store.md §5.1; read back only for a blob of an earlier
 * session), then one pass for the body.
 */
async function submitBlob(session: StickSession, client: RelayClient, to: string[], blob: CiphertextBlob, idempotencyKey: string) {
  const sha256 = await blobSha256(session.store, blob);
  try {
    return await client.submitStream({ to, idempotencyKey, size: blob.size, sha256, open: () => session.store.openBlob(blob.ref) });
  } catch (error) {
    // A relay from before §8.2.1 reads any body as JSON: the message goes the old way, held whole once.
    if (!(isCaliopError(error, 'relay_bad_request') && error.cause instanceof RelayErrorResponse && error.cause.code === 'malformed_json')) throw error;
    return client.submit({ to, armoredMessage: await ciphertextText(session.store, { armoredMessage: '', ciphertextBlob: blob }), idempotencyKey });
  }
}

/**
 * docs/api.md §8.7.1, docs/store.md §5.1: a message to the outside goes from its blob to the
 * relay as a stream, never whole in memory; a relay from before §8.7.1 gets it as JSON.
 */
async function submitOutboundBlob(session: StickSession, client: RelayClient, item: OutboxItem & { outbound: NonNullable<OutboxItem['outbound']> }, blob: CiphertextBlob, idempotencyKey: string) {
  const envelope = { envelopeTo: item.to, exposed: item.outbound.exposed, idempotencyKey, ...(item.outbound.requireTlsFor ? { requireTlsFor: item.outbound.requireTlsFor } : {}) };
  const sha256 = await blobSha256(session.store, blob);
  try {
    return await client.submitOutboundStream({ ...envelope, size: blob.size, sha256, open: () => session.store.openBlob(blob.ref) });
  } catch (error) {
    if (!(isCaliopError(error, 'relay_bad_request') && error.cause instanceof RelayErrorResponse && error.cause.code === 'malformed_json')) throw error;
    return client.submitOutbound({ ...envelope, rawMessage: Buffer.from(await ciphertextBytes(session.store, { armoredMessage: '', ciphertextBlob: blob })).toString('utf8') });
  }
}

/**
 * docs/vault-contents.md §4.1: submits the queued messages one by one. A refusal for
 * good marks that message failed and the next one is tried; only an unreachable or
 * throttling relay stops the flush. `only` limits it to some ids (retry); failed
 * messages are skipped unless named there.
 */
export async function flushOutbox(session: StickSession, client: RelayClient, now: Date, only?: readonly string[]): Promise<FlushResult> {
  const result: FlushResult = { sent: [], queued: [], errors: [], failed: [], failures: new Map() };
  for (const item of [...session.contents.outbox]) {
    if (only !== undefined ? !only.includes(item.id) : item.failed !== undefined) continue;
    // docs/store.md §6: a yank after the sent copy was stored but before the outbox
    // was rewritten leaves the item in both: it was sent, it is only dropped.
    if ((await session.store.entry(item.id))?.direction === 'out') {
      await session.update((draft) => {
        draft.outbox = draft.outbox.filter((queued) => queued.id !== item.id);
      });
      continue;
    }
    try {
      // docs/api.md §8.10: the same key on every attempt, so a submission whose answer was lost is not delivered twice.
      const idempotencyKey = outboxIdempotencyKey(item);
      const receipt = item.outbound?.messageBlob
        ? await submitOutboundBlob(session, client, { ...item, outbound: item.outbound }, item.outbound.messageBlob, idempotencyKey)
        : item.outbound
        ? await client.submitOutbound({ envelopeTo: item.to, rawMessage: item.outbound.rawMessage, exposed: item.outbound.exposed, idempotencyKey, ...(item.outbound.requireTlsFor ? { requireTlsFor: item.outbound.requireTlsFor } : {}) })
        : item.ciphertextBlob
          ? await submitBlob(session, client, item.to, item.ciphertextBlob, idempotencyKey)
          : await client.submit({ to: item.to, armoredMessage: item.armoredMessage, idempotencyKey });
      // docs/api.md §8.7: delivered at once (200), or some domains delivered next to the queued ones (202 `delivered`).
      const facts = 'facts' in receipt ? receipt.facts : 'queued' in receipt ? receipt.delivered : undefined;
      // docs/vault-contents.md §5.5: what the relay queued is asked about on each sync until it reports.
      const pending = 'queued' in receipt ? (receipt.queuedIds ?? [receipt.id]) : [];
      // docs/store.md §5.1: a large ciphertext's blob passes from the outbox to the sent copy, not copied.
      await session.store.put([
        {
          blobs: item.ciphertextBlob ? [item.ciphertextBlob.ref] : [],
          message: {
            id: item.id,
            direction: 'out',
            relayId: receipt.id,
            from: session.contents.identity.email,
            to: item.to,
            subject: item.subject,
            date: item.createdAt,
            storedAt: now.toISOString(),
            unread: false,
            armoredMessage: item.armoredMessage,
            ...(item.ciphertextBlob ? { ciphertextBlob: item.ciphertextBlob } : {}),
            ...(facts !== undefined ? { relayFacts: facts } : {}),
            ...(item.sentAssessment !== undefined ? { sentAssessment: item.sentAssessment } : {}),
            ...(pending.length > 0 ? { delivery: { pending, reports: [] } } : {}),
          },
        },
      ]);
      await session.update((draft) => {
        draft.outbox = draft.outbox.filter((queued) => queued.id !== item.id);
      });
      // docs/store.md §5.1: the message to the outside is not kept once handed over (the sent copy is the ciphertext).
      if (item.outbound?.messageBlob) await session.store.discardBlobs([item.outbound.messageBlob.ref]);
      result.sent.push(item.id);
    } catch (error) {
      if (!isCaliopError(error)) throw error;
      const message = `${error.code}: ${error.message}`;
      const transient = isTransient(error);
      await session.update((draft) => {
        const queued = draft.outbox.find((candidate) => candidate.id === item.id);
        if (!queued) return;
        queued.attempts += 1;
        queued.lastError = message;
        if (!transient) queued.failed = { at: now.toISOString(), code: error.code, reason: error.message };
      });
      if (transient) {
        result.errors.push(`message ${item.id}: ${message}`);
        result.waitingOn = { id: item.id, error };
        break; // the relay is away: the others would meet the same
      }
      result.failed.push({ id: item.id, to: item.to, subject: item.subject, code: error.code, reason: error.message });
      result.failures.set(item.id, error);
    }
  }
  result.queued = session.contents.outbox.map((item) => item.id);
  return result;
}

/** docs/cli.md §3.17: one outbox message as `caliop outbox` shows it. */
export interface OutboxEntry {
  readonly id: string;
  readonly state: 'queued' | 'failed';
  readonly to: readonly string[];
  readonly subject: string;
  readonly createdAt: string;
  readonly attempts: number;
  /** failed: why (the relay's words); queued: the last transient error, if any. */
  readonly reason: string | null;
  readonly code: string | null;
  readonly exposed: boolean;
}

export function listOutbox(session: StickSession): OutboxEntry[] {
  return session.contents.outbox.map((item) => ({
    id: item.id,
    state: item.failed ? 'failed' : 'queued',
    to: item.to,
    subject: item.subject,
    createdAt: item.createdAt,
    attempts: item.attempts,
    reason: item.failed?.reason ?? item.lastError ?? null,
    code: item.failed?.code ?? null,
    exposed: item.outbound?.exposed ?? false,
  }));
}

function outboxItem(session: StickSession, id: string): OutboxItem {
  const item = session.contents.outbox.find((candidate) => candidate.id === id);
  if (!item) throw new CaliopError('message_not_found', `there is no message ${id} in the outbox`, { hint: 'run "caliop outbox" to see the waiting messages' });
  return item;
}

/** `caliop outbox drop ID`: the message leaves the outbox unsent. */
export async function dropOutboxMessage(session: StickSession, id: string): Promise<OutboxEntry> {
  const item = outboxItem(session, id);
  const entry = listOutbox(session).find((candidate) => candidate.id === id)!;
  await session.update((draft) => {
    draft.outbox = draft.outbox.filter((queued) => queued.id !== id);
  });
  // docs/store.md §5.1: its ciphertext blob goes with it (after the vault no longer names it).
  await session.store.discardBlobs(outboxBlobRefs(item));
  return entry;
}

/** `caliop outbox retry ID`: clears the failure and submits that message now. */
export async function retryOutboxMessage(session: StickSession, id: string, now: Date): Promise<{ id: string; sent: boolean; queued: boolean }> {
  outboxItem(session, id);
  await session.update((draft) => {
    const item = draft.outbox.find((candidate) => candidate.id === id);
    if (item) delete item.failed;
  });
  const client = await relayClientFor(session);
  try {
    const flushed = await flushOutbox(session, client, now, [id]);
    const refused = flushed.failures.get(id);
    if (refused) throw new CaliopError(refused.code, `${refused.message}; the message stays in the outbox as failed`, { cause: refused });
    if (flushed.errors.length > 0) throw new CaliopError('relay_unreachable', `${flushed.errors[0]}; the message stays queued`);
    return { id, sent: flushed.sent.includes(id), queued: !flushed.sent.includes(id) };
  } finally {
    client.close();
  }
}
