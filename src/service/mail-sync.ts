// `caliop sync` (docs/api.md §8.8, docs/vault-contents.md §5.2): flush the outbox,
// fetch new mail into the vault, then delete it from the relay; senders learnt on first use.
import { refreshDeliveries } from './delivery-reports.js';
import { bareAddress } from '../core/message-payload.js';
import type { StoredMessage } from '../core/vault-contents.js';
import { CaliopError, isCaliopError } from '../errors.js';
import type { RelayClient } from '../edges/relay-client.js';
import type { CertResponse, MailboxPageResponse } from '../api/schemas.js';
import type * as openpgp from 'openpgp';
import { findContact, mergedDirectoryCert, readKeyChangeAnnouncement, recordCert, verificationCerts } from './contacts.js';
import { receiveStreamed, type StreamedArrival } from './mail-arrival-stream.js';
import { keyReminder, republishOwnCertIfChanged, revocationOf } from './key-lifecycle.js';
import { adoptPublishedRenewal } from './published-renewal.js';
import { flushOutbox, type FailedMessage } from './mail-outbox.js';
import { learnFromAutocrypt, type Arrival, type AutocryptLearning } from './autocrypt.js';
import { certAddresses, checkCertSignatures, fingerprintOf, readCert, readCerts } from './pgp.js';
import { arrivalOpener, openArrivalContent, type ArrivalOpener, type OpenedArrival } from './mail-open.js';
import { relayClientFor } from './relay-account.js';
import { blobRefsOf, isLargeCiphertext, putAttachmentBlobs, putCiphertextBlob } from './message-blobs.js';
import type { StickSession } from './stick-session.js';

const utf8 = new TextEncoder();

export interface SyncReport {
  readonly sent: number;
  readonly queued: number;
  readonly received: number;
  readonly errors: readonly string[];
  /** docs/vault-contents.md §4.2: every failed message in the outbox after this sync (marked now or before). */
  readonly failed: readonly FailedMessage[];
  /** docs/gateway.md §4.5.1: what the Autocrypt headers of the new mail did to the contacts. */
  readonly autocrypt: readonly AutocryptLearning[];
  /** docs/ceremony.md §6.6: said at most once a week, from 90 days before the key expires (absent otherwise). */
  readonly keyReminder?: { readonly state: 'renew-soon' | 'expired'; readonly expiresAt: string; readonly daysLeft: number };
  /** docs/lost-stick.md §3: contacts whose key this sync learnt is revoked, with the owner's reason. */
  readonly revokedContacts: readonly { readonly address: string; readonly reason: string; readonly at: string }[];
  /**
   * docs/lost-stick.md §4, docs/api.md §7.1: contacts whose directory now serves another key (the
   * changed-key alarm): the key known, the new one, and the date the directory announced (null when
   * it announced none). Sending to them stops until `contacts accept` or `contacts verify`.
   */
  readonly changedContacts: readonly ChangedContact[];
  /** docs/ceremony.md §6.6: the date of a renewal of this stick's own key, made on another stick, that this sync adopted. */
  readonly renewalAdopted?: string;
  /** docs/vault-contents.md §6: this sync gave the relay's directory this stick's changed cert (true), or had nothing to give. */
  readonly certPublished: boolean;
  /** docs/vault-contents.md §5.5: delivery reports of queued sent copies recorded by this sync (delivered, bounced, expired). */
  readonly deliveryReports: number;
}

export interface ChangedContact {
  readonly address: string;
  readonly fingerprint: string;
  readonly newFingerprint: string;
  readonly announcedAt: string | null;
}

/** A page fetched, checked, its messages being opened (issue 13: the next page opens while one is stored). */
interface PageInFlight {
  readonly page: MailboxPageResponse;
  /** Its messages the stick did not hold when it came. */
  readonly waiting: MailboxPageResponse['messages'];
  /** By relay id: the opening of each message the opener opens (not the streamed or large ones). */
  readonly opened: ReadonlyMap<string, Promise<OpenedArrival>>;
}

interface ContactRefresh {
  readonly revoked: { address: string; reason: string; at: string }[];
  readonly changed: ChangedContact[];
}

/** docs/vault-contents.md §3.3: a contact's directory copy is asked for at most this often, and so many per sync. */
const CONTACT_REFRESH_INTERVAL_MS = 24 * 60 * 60 * 1000;
const CONTACT_REFRESHES_PER_SYNC = 20;

/**
 * docs/vault-contents.md §3.3: known contacts of this relay's domain get the directory's
 * newer copy of their key (a renewal, a revocation), checked and merged; a different key
 * is kept aside as a change (§3.2), as for any cert seen.
 */
async function refreshContacts(session: StickSession, client: RelayClient, now: Date): Promise<ContactRefresh> {
  const own = session.contents.identity.email.toLowerCase();
  const domain = own.slice(own.lastIndexOf('@'));
  const due = session.contents.contacts
    .filter((contact) => contact.address.endsWith(domain))
    .filter((contact) => contact.directoryCheckedAt === undefined || now.getTime() - new Date(contact.directoryCheckedAt).getTime() >= CONTACT_REFRESH_INTERVAL_MS)
    .slice(0, CONTACT_REFRESHES_PER_SYNC);
  const revoked: ContactRefresh['revoked'] = [];
  const changed: ChangedContact[] = [];
  for (const contact of due) {
    let answer: CertResponse | null;
    try {
      answer = await client.lookupDirectory(contact.address);
    } catch (error) {
      if (isCaliopError(error, 'relay_unreachable')) break;
      throw error;
    }
    const [read] = answer ? await readCerts(utf8.encode(answer.armoredCert)).catch(() => [undefined]) : [];
    // docs/cli.md §6.5: a new key is set aside only when its signatures verify and it names the address.
    const key = read ? await checkCertSignatures(read).catch(() => undefined) : undefined;
    const wasRevoked = await revocationOf(await readCert(contact.armoredCert));
    const sameKey = key !== undefined && fingerprintOf(key) === contact.fingerprint;
    const newKey = key !== undefined && !sameKey && certAddresses(key).includes(contact.address) ? key : undefined;
    // docs/api.md §6.6: another key, announced: the date, and the old key's own revocation if it carries one.
    const announcement = newKey ? await readKeyChangeAnnouncement(contact, answer?.keyChange) : {};
    const merged = sameKey ? await mergedDirectoryCert(contact, key) : announcement.oldKeyMerged;
    const alreadyAside = newKey !== undefined && contact.changedCert?.fingerprint === fingerprintOf(newKey);
    await session.update((draft) => {
      const target = findContact(draft.contacts, contact.address);
      if (!target) return;
      target.directoryCheckedAt = now.toISOString();
      if (merged !== undefined) target.armoredCert = merged;
      if (newKey && !alreadyAside) {
        recordCert(draft.contacts, contact.address, { fingerprint: fingerprintOf(newKey), armoredCert: newKey.armor(), announcedAt: announcement.announcedAt }, 'relay-directory', now);
      }
    });
    if (newKey && !alreadyAside) {
      changed.push({ address: contact.address, fingerprint: contact.fingerprint, newFingerprint: fingerprintOf(newKey), announcedAt: announcement.announcedAt ?? null });
    }
    const revocation = merged !== undefined && !wasRevoked ? await revocationOf(await readCert(merged)) : undefined;
    if (revocation) revoked.push({ address: contact.address, ...revocation });
  }
  return { revoked, changed };
}

/**
 * docs/ceremony.md §6.6: at most once a day, the directory's copy of this stick's own key:
 * a renewal made on another stick of the account is adopted when the seed derives it
 * (published-renewal.ts). Returns the renewal date adopted.
 */
async function refreshOwnCert(session: StickSession, client: RelayClient, now: Date): Promise<string | undefined> {
  const identity = session.contents.identity;
  if (identity.revoked || !session.contents.relayAccount) return undefined;
  if (identity.directoryCheckedAt !== undefined && now.getTime() - new Date(identity.directoryCheckedAt).getTime() < CONTACT_REFRESH_INTERVAL_MS) return undefined;
  let armored: string | null;
  try {
    armored = await client.lookupCert(session.contents.relayAccount.address);
  } catch (error) {
    if (isCaliopError(error, 'relay_unreachable')) return undefined;
    throw error;
  }
  const adopted = armored === null ? undefined : await adoptPublishedRenewal(session, armored);
  await session.update((draft) => {
    draft.identity.directoryCheckedAt = now.toISOString();
  });
  return adopted;
}

function failedInOutbox(session: StickSession): FailedMessage[] {
  return session.contents.outbox
    .filter((item) => item.failed !== undefined)
    .map((item) => ({ id: item.id, to: item.to, subject: item.subject, code: item.failed!.code, reason: item.failed!.reason }));
}

/**
 * `caliop sync`: flush the outbox, then fetch new mail into the vault and delete it
 * from the relay only once the vault holding it is written (docs/vault-contents.md
 * §5.2): a stick pulled mid-sync loses nothing, and a re-fetched message is
 * recognised by its relay id.
 */
export async function syncMailbox(session: StickSession, now: Date): Promise<SyncReport> {
  const client = await relayClientFor(session, 'many');
  try {
    const flushed = await flushOutbox(session, client, now);
    // docs/api.md §4.4: the relay's published rate limit plans the requests that follow
    // (not asked when the outbox just found the relay away: that would wait a second timeout).
    if (flushed.errors.length === 0) await client.learnLimits();
    // docs/vault-contents.md §6: the cert derived at unlock reaches the directory once when it changed
    // (the post-quantum subkey of a stick enrolled before it, docs/decisions/post-quantum.md).
    const certPublished = flushed.errors.length === 0 && (await republishOwnCertIfChanged(session, client));
    let received = 0;
    const autocrypt: AutocryptLearning[] = [];
    // docs/api.md §8.8, hostile relays: a sync always ends. A cursor given twice, a page
    // that is empty yet promises more, or page after page with nothing new is refused.
    const cursorsSeen = new Set<string>();
    let pagesWithNothingNew = 0;
    // Issue 13: the messages are opened on every core (src/service/mail-open.ts) while this
    // thread fetches the next page and writes the stick; started at the first page worth it.
    let opener: Promise<ArrivalOpener> | undefined;
    /**
     * A page as it comes: checked (docs/api.md §8.8), and its messages given to the opener at
     * once, so the workers open page n+1 while this thread stores and acknowledges page n
     * (nothing is acknowledged before it is stored, docs/vault-contents.md §5.2). At most one
     * page ahead: what waits is bounded by two pages.
     */
    const begin = async (page: MailboxPageResponse): Promise<PageInFlight> => {
      if (page.nextCursor !== null && page.messages.length === 0) throw pagingRefused('an empty page that announces more');
      if (page.nextCursor !== null && cursorsSeen.has(page.nextCursor)) throw pagingRefused(`the cursor ${JSON.stringify(page.nextCursor)} a second time`);
      if (page.nextCursor !== null) cursorsSeen.add(page.nextCursor);
      const waiting = await notStored(session, page.messages);
      // docs/store.md §5.1: a large message is opened in this thread, in order (its parts are needed).
      const toOpen = waiting.filter((full) => full.armoredMessage !== undefined && !isLargeCiphertext(full.armoredMessage));
      const opened = new Map<string, Promise<OpenedArrival>>();
      if (toOpen.length > 0) {
        opener ??= session.identity().then((identity) => arrivalOpener(identity.privateKey, toOpen.length));
        const ready = opener;
        for (const full of toOpen) {
          const one = ready.then((open) => open.open(full.armoredMessage!));
          one.catch(() => undefined); // awaited in order below; a sync that stops early drops it
          opened.set(full.id, one);
        }
      }
      return { page, waiting, opened };
    };
    let after: string | undefined;
    let prefetched: Promise<PageInFlight> | undefined;
    try {
      for (;;) {
        // docs/api.md §8.8: one request brings a page with its ciphertexts.
        const inFlight = await (prefetched ?? client.mailboxPage(after === undefined ? {} : { after }).then(begin));
        prefetched = undefined;
        const page = inFlight.page;
        // A page with work in it: the next one is asked for now, and opened as soon as it comes.
        if (page.nextCursor !== null && inFlight.waiting.length > 0) {
          prefetched = client.mailboxPage({ after: page.nextCursor }).then(begin);
          prefetched.catch(() => undefined);
        }
        // Asked for before this page was stored: what a page before it stored meanwhile is not stored twice.
        const waiting = await notStored(session, inFlight.waiting);
        // docs/api.md §8.5.1, docs/store.md §5.2: a message the page lists by size only is
        // fetched, stored, decrypted and split as a stream, one at a time, before the others.
        const streamed = new Map<string, StreamedArrival>();
        for (const full of waiting) {
          if (full.armoredMessage !== undefined) continue;
          const identity = await session.identity();
          streamed.set(full.id, await receiveStreamed(session.store, client, full, identity.privateKey, await arrivalVerificationKeys(session, client, full.from)));
        }
        const arrivals = await Promise.all(
          waiting
            .map(async (full): Promise<Arrival> => {
              const stream = streamed.get(full.id);
              const armoredMessage = full.armoredMessage ?? '';
              // docs/store.md §5.1: a large message rests as blobs: its ciphertext, and each attachment
              // decoded once, here; it is opened in this thread (its parts are needed). Others by the opener.
              const large = stream === undefined && isLargeCiphertext(armoredMessage);
              const whole = large ? await openArrivalContent((await session.identity()).privateKey, armoredMessage) : undefined;
              const opened = stream !== undefined ? (stream.sealed ? { sealed: stream.sealed } : stream.headers) : large ? whole : await inFlight.opened.get(full.id);
              const headers = opened !== undefined && 'sealed' in opened ? undefined : opened;
              // docs/message-payload.md §7: what the encrypted part does not say, the outer message said (vouched by the relay, unprotected).
              const outer = full.facts.route === 'smtp-inbound' ? full.facts.outerHeaders : undefined;
              const ciphertextBlob = stream?.ciphertextBlob ?? (large ? await putCiphertextBlob(session.store, armoredMessage) : undefined);
              const attachmentBlobs = stream?.attachmentBlobs ?? (whole !== undefined && !('sealed' in whole) ? await putAttachmentBlobs(session.store, whole.attachments) : undefined);
              return { content: headers, message: {
                id: '',
                direction: 'in',
                relayId: full.id,
                from: headers?.from ?? outer?.from ?? full.from,
                to: headers?.to.length ? [...headers.to] : outer?.to.length ? [...outer.to] : full.to,
                subject: headers?.subject ?? outer?.subject ?? '(no subject)',
                date: headers?.date ?? isoOrUndefined(outer?.date) ?? full.facts.receivedAt,
                storedAt: now.toISOString(),
                unread: true,
                armoredMessage: ciphertextBlob ? '' : armoredMessage,
                ...(ciphertextBlob ? { ciphertextBlob } : {}),
                ...(attachmentBlobs ? { attachmentBlobs } : {}),
                ...(stream?.openedAtArrival ? { openedAtArrival: stream.openedAtArrival } : {}),
                relayFacts: full.facts,
                // docs/limits.md §3: over a limit, it is kept sealed and never decrypted again.
                ...(opened !== undefined && 'sealed' in opened ? { sealed: { reason: opened.sealed, at: now.toISOString() } } : {}),
              } };
            }),
        );
        const fresh = arrivals.map((arrival) => arrival.message);
        if (fresh.length > 0 || page.through) {
          // docs/store.md §4: the page's objects, then one journal record naming them all (and the cursor).
          const stored = await session.store.put(
            fresh.map((message) => ({ message, blobs: blobRefsOf(message) })),
            page.through ? { relayCursor: page.through } : {},
          );
          received += stored.length;
        }
        await learnSenders(session, client, fresh, now);
        // docs/gateway.md §4.5.1: the Autocrypt headers of the mail from outside, once the page is stored.
        autocrypt.push(...(await learnFromAutocrypt(session, arrivals, now)));
        // docs/vault-contents.md §5.2: only now that the stick holds the page, one request deletes it from the relay.
        if (page.through) await client.ackMailbox(page.through);
        if (page.nextCursor === null) break;
        pagesWithNothingNew = arrivals.length === 0 ? pagesWithNothingNew + 1 : 0;
        if (pagesWithNothingNew > MAX_PAGES_WITH_NOTHING_NEW) throw pagingRefused(`${pagesWithNothingNew} pages in a row with nothing new`);
        after = page.nextCursor;
      }
    } finally {
      await (await opener?.catch(() => undefined))?.close();
    }
    const deliveryReports = await refreshDeliveries(session, client, now);
    const refreshed = await refreshContacts(session, client, now);
    const renewal = await refreshOwnCert(session, client, now);
    const reminder = await keyReminder(session, now);
    return {
      sent: flushed.sent.length,
      queued: session.contents.outbox.length,
      received,
      errors: flushed.errors,
      failed: failedInOutbox(session),
      autocrypt,
      revokedContacts: refreshed.revoked,
      changedContacts: refreshed.changed,
      ...(renewal !== undefined ? { renewalAdopted: renewal } : {}),
      certPublished,
      deliveryReports,
      ...(reminder && reminder.state !== 'valid' ? { keyReminder: { state: reminder.state, expiresAt: reminder.expiresAt.toISOString(), daysLeft: reminder.daysLeft } } : {}),
    };
  } finally {
    client.close();
  }
}

/**
 * Pages in a row whose messages the stick already holds: a stick pulled after storing a
 * page and before acknowledging it gets that one page again, never dozens.
 */
const MAX_PAGES_WITH_NOTHING_NEW = 20;

/** What was stored stays stored; the next sync resumes after it. */
/** docs/vault-contents.md §5.2: the messages whose relay id the store does not hold yet (the first call of a session reads the whole index, docs/store.md §2.1). */
async function notStored<T extends { readonly id: string }>(session: StickSession, messages: readonly T[]): Promise<T[]> {
  const stored = await Promise.all(messages.map((full) => session.store.hasRelayId(full.id)));
  return messages.filter((_, i) => !stored[i]);
}

function pagingRefused(what: string): CaliopError {
  return new CaliopError('relay_bad_request', `the relay sent ${what} (docs/api.md §8.8); sync stopped, what was stored stays stored`);
}

function isoOrUndefined(date: string | null | undefined): string | undefined {
  if (date === null || date === undefined) return undefined;
  const parsed = new Date(date);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed.toISOString();
}

/**
 * docs/store.md §5.2: the keys a streamed message's signatures are checked with as it is
 * decrypted (it is not decrypted again to be read): the contacts', and, for a sender not
 * yet a contact, the directory's cert when its signatures verify and it names the sender
 * (the one learnSenders pins once the page is stored).
 */
async function arrivalVerificationKeys(session: StickSession, client: RelayClient, sender: string): Promise<openpgp.PublicKey[]> {
  const keys = await verificationCerts(session);
  const address = bareAddress(sender);
  if (findContact(session.contents.contacts, address)) return keys;
  const armored = await client.lookupCert(address).catch(() => null);
  const [read] = armored ? await readCerts(utf8.encode(armored)).catch(() => [undefined]) : [];
  const key = read ? await checkCertSignatures(read).catch(() => undefined) : undefined;
  return key && certAddresses(key).includes(address) ? [...keys, key] : keys;
}

/** TOFU for senders: the first message from an address pins the relay directory's cert. */
async function learnSenders(session: StickSession, client: RelayClient, messages: readonly StoredMessage[], now: Date): Promise<void> {
  const senders = new Set(messages.map((message) => bareAddress(message.from)));
  for (const address of senders) {
    if (address === session.contents.identity.email.toLowerCase() || findContact(session.contents.contacts, address)) continue;
    let armored: string | null;
    try {
      armored = await client.lookupCert(address);
    } catch (error) {
      if (isCaliopError(error, 'relay_unreachable')) return;
      throw error;
    }
    if (!armored) continue;
    const [read] = await readCerts(utf8.encode(armored)).catch(() => [undefined]); // not a cert: not pinned
    // docs/cli.md §6.4: a directory cert whose signatures do not verify is not pinned (the relay is not trusted).
    const key = read ? await checkCertSignatures(read).catch(() => undefined) : undefined;
    // …nor one that does not name the sender (the relay could pin anyone's key for anyone).
    if (!key || !certAddresses(key).includes(address)) continue;
    await session.update((draft) => {
      recordCert(draft.contacts, address, { fingerprint: fingerprintOf(key), armoredCert: key.armor() }, 'relay-directory', now);
    });
  }
}
