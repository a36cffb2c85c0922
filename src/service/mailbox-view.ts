// What the faces show of the vault's messages: the inbox list and one message
// (docs/cli.md §3.13-§3.14). Signatures are judged against today's contacts, so
// verifying a contact in person shows on the next read.
import type { RelayFacts } from '../api/facts.js';
import { assessDelivered, assessReceived, type ExposureAssessment } from '../core/exposure.js';
import { deliveryFactsOf, deliveryOf, type DeliveryView } from './delivery-reports.js';
import { overLimitText, type OverLimitReason } from '../core/message-limits.js';
import { stickFactsOf } from '../core/message-facts.js';
import { bareAddress } from '../core/message-payload.js';
import { displayMailbox } from '../core/mail-content.js';
import { senderLine, type UnprovenSender } from '../core/mailbox-fit.js';
import { verificationCerts } from './contacts.js';
import { findMessage, markRead, openStoredMessage, type OpenedMessage, type SignatureStatus, type SenderCheck } from './mail-read.js';
import type { CharsetGuess } from '../core/text-charset.js';
import type { StickSession } from './stick-session.js';

export interface InboxEntry {
  readonly id: string;
  readonly direction: 'in' | 'out';
  /** The sender as shown; docs/exposure.md §4.1.1: an unproven From is marked (`senderLine`). */
  readonly from: string;
  /** docs/exposure.md §4.1.1: the From names a contact (or us) and is not proven: the From as written and the sender the relay vouches for; else null. */
  readonly fromUnproven: (UnprovenSender & { readonly reason: 'contact-unproven' | 'not-submitter' }) | null;
  readonly to: readonly string[];
  readonly subject: string;
  readonly date: string;
  readonly unread: boolean;
  readonly signature: SignatureStatus;
  /** The From's key as held; `unsigned` when the From names a contact but the message is not signed by them (docs/exposure.md §4.1.1). */
  readonly senderKey: SenderCheck['senderKey'] | 'unsigned';
  readonly signerFingerprint: string | null;
  /** docs/exposure.md: how exposed this message was, and every reason. */
  readonly exposure: ExposureAssessment;
  /** docs/limits.md §3: why the message stays sealed ({reason, text}), or null. */
  readonly sealed: { readonly reason: OverLimitReason; readonly text: string } | null;
  /** docs/cli.md §3.13: how a sent copy to outside addresses left (docs/api.md §8.12); null otherwise. */
  readonly delivery: DeliveryView | null;
}

/** docs/cli.md §3.14: one attachment as `caliop read --json` lists it. */
export interface AttachmentEntry {
  readonly index: number;
  readonly name: string;
  readonly type: string;
  readonly size: number;
  readonly sha256: string;
}

export interface MessageView extends InboxEntry {
  readonly body: string | null;
  readonly attachments: readonly AttachmentEntry[];
  readonly protectedHeaders: boolean;
  readonly relayFacts: unknown;
  /** docs/message-payload.md §4.5: the charset the text was shown in without the sender saying so (a guess), or null. */
  readonly charsetGuess: CharsetGuess | null;
}

/**
 * The index for a stored message: received messages from the stick's verdicts and the
 * relay's arrival facts; sent copies keep the assessment made when they were sent.
 */
export function exposureOf(opened: OpenedMessage): ExposureAssessment {
  const { message, sender } = opened;
  if (message.direction === 'out' && message.sentAssessment !== undefined) {
    // docs/exposure.md §4.6: once the relay said how it left, the facts replace the prediction.
    const deliveries = deliveryFactsOf(deliveryOf(message));
    const sent = message.sentAssessment as ExposureAssessment;
    return deliveries.length === 0 ? sent : assessDelivered(sent, deliveries);
  }
  const relay = (message.relayFacts ?? null) as RelayFacts | null;
  const stick = stickFactsOf(
    { decrypted: opened.body !== null, signature: sender.signature, senderKey: sender.senderKey, protectedHeaders: opened.protectedHeaders, postQuantum: opened.postQuantum === true, ...(sender.fromClaim ? { fromClaim: sender.fromClaim } : {}) },
    relay,
  );
  return assessReceived({ stick, relay });
}

/**
 * docs/exposure.md §4.1.1: a From naming a contact that nothing proves: the sender the relay
 * vouches for beside it when that is another address (the account that submitted it, the outer
 * From of mail from outside that arrived encrypted).
 */
function unprovenSenderOf(opened: OpenedMessage): InboxEntry['fromUnproven'] {
  const claim = opened.sender.fromClaim;
  if (claim === undefined || opened.message.direction !== 'in') return null;
  const relay = (opened.message.relayFacts ?? null) as { route?: string; submittedBy?: string; outerHeaders?: { from?: string | null } } | null;
  const vouched = relay?.route === 'internal' ? relay.submittedBy : relay?.route === 'smtp-inbound' ? relay.outerHeaders?.from ?? undefined : undefined;
  const outer = vouched !== undefined && bareAddress(vouched) !== claim.address ? displayMailbox(vouched) : null;
  return { reason: claim.kind, claimed: displayMailbox(opened.message.from), outer };
}

function entryOf(opened: OpenedMessage): InboxEntry {
  const { message, sender } = opened;
  const fromUnproven = unprovenSenderOf(opened);
  return {
    id: message.id,
    direction: message.direction,
    from: senderLine(displayMailbox(message.from), fromUnproven),
    fromUnproven,
    to: message.to,
    subject: message.subject,
    date: message.date,
    unread: message.unread,
    signature: sender.signature,
    senderKey: sender.fromClaim !== undefined && (sender.signature === 'unsigned' || sender.signature === 'partly-signed') ? 'unsigned' : sender.senderKey,
    signerFingerprint: sender.signerFingerprint,
    exposure: exposureOf(opened),
    sealed: opened.sealed === null ? null : { reason: opened.sealed, text: overLimitText(opened.sealed) },
    delivery: deliveryOf(message),
  };
}

export interface InboxPageRequest {
  /** How many of the newest messages to skip. */
  readonly offset?: number;
  /** How many to list (default: all). The cost is that of the page: its objects only (docs/store.md §2). */
  readonly limit?: number;
}

/** The inbox, newest first: the index gives the page, and only the page's messages are opened. */
export async function listInbox(session: StickSession, request: InboxPageRequest = {}): Promise<InboxEntry[]> {
  const page = await session.store.page(request.offset ?? 0, request.limit ?? Number.POSITIVE_INFINITY);
  if (page.entries.length === 0) return []; // no key is derived for an empty page (issue 16: the tests' many `inbox` runs)
  const keys = await verificationCerts(session);
  const opened: OpenedMessage[] = [];
  // A few at a time: memory holds a handful of messages, not the whole page's ciphertexts at once.
  for (let start = 0; start < page.entries.length; start += 16) {
    const slice = page.entries.slice(start, start + 16);
    opened.push(...(await Promise.all(slice.map(async (entry) => openStoredMessage(session, await session.store.get(entry.id), keys)))));
  }
  return opened.map(entryOf);
}

export async function readOne(session: StickSession, id: string): Promise<MessageView> {
  const message = await findMessage(session, id);
  const opened = await openStoredMessage(session, message, await verificationCerts(session));
  await markRead(session, id);
  return {
    ...entryOf(opened),
    unread: false,
    body: opened.body,
    attachments: opened.attachments.map(({ index, name, type, size, sha256 }) => ({ index, name, type, size, sha256 })),
    protectedHeaders: opened.protectedHeaders,
    relayFacts: message.relayFacts ?? null,
    charsetGuess: opened.charsetGuess ?? null,
  };
}

/** The sender's address: of the From, or, when it is not proven, of the sender the relay vouches for (else the claim, as written). */
export function senderAddress(entry: Pick<InboxEntry, 'from' | 'fromUnproven'>): string {
  return bareAddress(entry.fromUnproven === null ? entry.from : (entry.fromUnproven.outer ?? entry.fromUnproven.claimed));
}
