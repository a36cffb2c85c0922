// Mail between sticks through the relay (docs/api.md §8, docs/vault-contents.md
// §4-§5): send (encrypt + sign locally, queue, submit), sync (flush the outbox,
// fetch into the vault, then delete from the relay), inbox and read.
import type * as openpgp from 'openpgp';
import { overLimitReasonIn, type OverLimitReason } from '../core/message-limits.js';
import { bareAddress, formatPayload, type OutgoingAttachment } from '../core/message-payload.js';
import { parseAddress } from '../api/address.js';
import { readMailContent, type AttachmentPart, type MailContent } from '../core/mail-content.js';
import { normaliseAddress, type Contact, type OutboxItem, type StoredMessage, type VaultContents } from '../core/vault-contents.js';
import { CaliopError, isCaliopError } from '../errors.js';
import type { RelayClient } from '../edges/relay-client.js';
import { lookupWkd, type WkdOptions } from '../edges/wkd-client.js';
import { buildAutocryptHeader, buildPgpMimeMessage, buildPlainMessage } from '../core/outgoing-mime.js';
import { recordCert } from './contacts.js';
import { certAddresses, certName, checkCertSignatures, decryptData, encryptData, fingerprintOf, isValidSignature, readCert, readCerts, verifyData, type SignatureCheck } from './pgp.js';
import type { OpenedSignature } from '../core/message-facts.js';
import { relayClientFor } from './relay-account.js';
import { assessRecipientFacts, exposedRecipients, recipientFacts, type SendAssessment } from './send-preview.js';
import type { StickSession } from './stick-session.js';

const utf8 = new TextEncoder();

/**
 * Local message ids are small numbers, stable for the life of the vault. Outbox
 * items (in the vault's document) and stored messages (in the store) share them:
 * the store keeps the counter (docs/store.md §2), above every queued id.
 */
async function reserveLocalIds(session: StickSession, n: number): Promise<string[]> {
  const queued = session.contents.outbox.map((item) => Number(item.id)).filter(Number.isFinite);
  return session.store.allocateIds(n, queued.length === 0 ? 1 : Math.max(...queued) + 1);
}

function contactFor(contents: VaultContents, address: string): Contact | undefined {
  const wanted = normaliseAddress(address);
  return contents.contacts.find((contact) => contact.address === wanted);
}

async function tryRelay(session: StickSession): Promise<RelayClient | undefined> {
  try {
    return await relayClientFor(session);
  } catch (error) {
    if (isCaliopError(error, 'relay_not_configured')) return undefined;
    throw error;
  }
}

function isUnreachable(error: unknown): boolean {
  return isCaliopError(error, 'relay_unreachable');
}

export interface ResolvedRecipient {
  readonly address: string;
  readonly fingerprint: string;
  readonly verification: Contact['verification'];
  readonly source: Contact['source'];
}

/**
 * The cert for a recipient: the pinned contact, else the relay's directory on first
 * use (TOFU, then pinned). When the directory now serves another cert for a known
 * contact, sending stops (contact_key_changed) and the change is kept aside.
 */
async function resolveRecipients(session: StickSession, client: RelayClient | undefined, addresses: readonly string[], now: Date) {
  const certs: openpgp.PublicKey[] = [];
  const resolved: ResolvedRecipient[] = [];
  const changes: string[] = [];
  const identity = await session.identity();
  for (const raw of addresses) {
    const address = normaliseAddress(raw);
    if (address === session.contents.identity.email.toLowerCase()) {
      // Writing to ourselves: our own cert, never the directory's word about it.
      certs.push(identity.publicKey);
      resolved.push({ address, fingerprint: identity.fingerprint, verification: 'verified', source: 'imported' });
      continue;
    }
    let directoryCert: string | null | undefined;
    if (client) {
      try {
        directoryCert = await client.lookupCert(address);
      } catch (error) {
        if (!isUnreachable(error)) throw error;
        directoryCert = undefined; // offline: the pinned contact alone decides
      }
    }
    const known = contactFor(session.contents, address);
    if (directoryCert) {
      const [key] = await readCerts(utf8.encode(directoryCert));
      const fingerprint = fingerprintOf(key!);
      if (known?.fingerprint !== fingerprint && known?.changedCert?.fingerprint !== fingerprint) {
        let outcome: ReturnType<typeof recordCert> | undefined;
        await session.update((draft) => {
          outcome = recordCert(draft.contacts, address, { fingerprint, armoredCert: key!.toPublic().armor() }, 'relay-directory', now);
        });
        if (outcome === 'changed') changes.push(address);
      }
    }
    const contact = contactFor(session.contents, address);
    if (!contact) {
      if (client && directoryCert === undefined) {
        throw new CaliopError('relay_unreachable', `the relay could not be reached to find the certificate of ${address}`, {
          hint: 'a first message to someone needs the relay once, to learn their certificate; try again when online',
        });
      }
      throw new CaliopError('unknown_recipient', `no certificate is known for ${address}${client ? ', and the relay does not know this address' : ''}`);
    }
    if (contact.changedCert || changes.includes(address)) {
      throw new CaliopError(
        'contact_key_changed',
        `the certificate of ${address} has changed: you know ${contact.fingerprint}, ${known ? 'the relay now gives' : 'now seen'} ${contact.changedCert?.fingerprint ?? 'another one'}. Nothing was sent.`,
      );
    }
    certs.push(await readCert(contact.armoredCert));
    resolved.push({ address, fingerprint: contact.fingerprint, verification: contact.verification, source: contact.source });
  }
  return { certs, resolved };
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/**
 * An outside recipient's cert (docs/gateway.md §4.1): the pinned contact, else the
 * recipient domain's Web Key Directory on first use (pinned as source "wkd"), else
 * none: the message could then only leave readable.
 */
async function resolveExternal(session: StickSession, raw: string, now: Date, wkd: WkdOptions | undefined) {
  const address = normaliseAddress(raw);
  let contact = contactFor(session.contents, address);
  if (!contact) {
    const found = await lookupWkd(address, wkd);
    if (found) {
      const [key] = await readCerts(found.cert);
      if (key && certAddresses(key).includes(address)) {
        await session.update((draft) => {
          recordCert(draft.contacts, address, { fingerprint: fingerprintOf(key), armoredCert: key.toPublic().armor(), name: certName(key) }, 'wkd', now);
        });
        contact = contactFor(session.contents, address);
      }
    }
  }
  if (contact?.changedCert) {
    throw new CaliopError('contact_key_changed', `the certificate of ${address} has changed: you know ${contact.fingerprint}, now seen ${contact.changedCert.fingerprint}. Nothing was sent.`);
  }
  return { address, contact, cert: contact ? await readCert(contact.armoredCert) : undefined };
}

/** What the face answers after seeing the assessment: cancel, send, or send with consent to exposure. */
export type SendDecision = boolean | 'allow-exposed';

export interface SendInput {
  readonly to: readonly string[];
  readonly subject: string;
  readonly body: string;
  /** docs/message-payload.md §2.1: files sent inside the encryption (read by the face from the named files). */
  readonly attachments?: readonly OutgoingAttachment[];
  readonly now: Date;
  readonly random: (length: number) => Uint8Array;
  /**
   * Shown the assessment before anything leaves; false cancels (docs/exposure.md §2.3).
   * 'allow-exposed' is the user's consent, given right there, to recipients who would
   * read the message in the clear.
   */
  readonly beforeSend?: (assessment: SendAssessment) => Promise<SendDecision> | SendDecision;
  /**
   * Consent given up front (`caliop send --allow-exposed`). Without it, or an
   * 'allow-exposed' answer from beforeSend, a message that would leave Caliop
   * readable is refused here, whatever face called (fail closed).
   */
  readonly allowExposed?: boolean;
  /** Where outside recipients' Web Key Directories are looked up (tests point it at loopback). */
  readonly wkd?: WkdOptions;
}

export interface SendReport {
  readonly id: string;
  /** true when the relay could not be reached: the message waits in the outbox. */
  readonly queued: boolean;
  /** Outside recipients without a cert have null fingerprint, verification and source. */
  readonly recipients: readonly (ResolvedRecipient | { address: string; fingerprint: null | string; verification: null | Contact['verification']; source: null | Contact['source'] })[];
  readonly exposure: SendAssessment;
}

/** `caliop send`: encrypted and signed on the stick; the relay only ever sees ciphertext. */
export async function sendMessage(session: StickSession, input: SendInput): Promise<SendReport> {
  if (input.to.length === 0) throw new CaliopError('usage', 'no recipient', { hint: 'caliop send --to ADDR < body' });
  const invalid = input.to.filter((address) => parseAddress(address) === null);
  if (invalid.length > 0) throw new CaliopError('usage', `not an address: ${invalid.map((address) => JSON.stringify(address)).join(', ')}`, { hint: 'give each recipient as local@domain' });
  const client = await tryRelay(session);
  try {
    const own = session.contents.identity.email;
    const internalAddresses = input.to.filter((address) => domainOf(address) === domainOf(own));
    const externalAddresses = input.to.filter((address) => domainOf(address) !== domainOf(own));
    const internal = internalAddresses.length > 0 ? await resolveRecipients(session, client, internalAddresses, input.now) : { certs: [], resolved: [] };
    const external = [];
    for (const address of externalAddresses) external.push(await resolveExternal(session, address, input.now, input.wkd));

    const exposure = assessRecipientFacts([
      ...internal.resolved.map((recipient) =>
        recipientFacts(own, recipient.address, recipient.address === own.toLowerCase() ? { verification: 'verified', source: 'imported' } : contactFor(session.contents, recipient.address)),
      ),
      ...external.map((recipient) => recipientFacts(own, recipient.address, recipient.contact)),
    ]);
    const decision = input.beforeSend ? await input.beforeSend(exposure) : true;
    if (decision === false) {
      throw new CaliopError('confirmation_required', 'sending was cancelled after the exposure assessment', { hint: 'nothing was sent or queued' });
    }
    // Fail closed (docs/exposure.md §2.3): readable mail leaves only with explicit consent.
    const exposed = exposedRecipients(exposure);
    if (exposed.length > 0 && input.allowExposed !== true && decision !== 'allow-exposed') {
      throw new CaliopError('exposed_send_refused', `this message would leave Caliop readable for ${exposed.join(', ')}`);
    }
    const identity = await session.identity();
    const domain = domainOf(own);
    const messageId = `${Buffer.from(input.random(12)).toString('hex')}@${domain}`;
    const payload = {
      from: `${session.contents.identity.name} <${own}>`,
      to: input.to.map(normaliseAddress),
      subject: input.subject,
      date: input.now.toISOString(),
      messageId,
      body: input.body,
      attachments: input.attachments ?? [],
      boundary: `=_caliop_${Buffer.from(input.random(12)).toString('hex')}`,
    };
    const payloadBytes = utf8.encode(formatPayload(payload));
    const encryptFor = async (certs: readonly openpgp.PublicKey[]) =>
      new TextDecoder().decode(await encryptData({ data: payloadBytes, recipients: [...certs, identity.publicKey], signingKey: identity.privateKey, armor: true, date: input.now }));

    const items: OutboxItem[] = [];
    const queue = (to: string[], armoredMessage: string, outbound?: OutboxItem['outbound']) =>
      items.push({
        id: '',
        to,
        subject: input.subject,
        createdAt: input.now.toISOString(),
        armoredMessage,
        attempts: 0,
        sentAssessment: exposure.message,
        ...(outbound ? { outbound } : {}),
      });

    // Inside Caliop: one end-to-end message through the relay (docs/api.md §8.2).
    if (internal.resolved.length > 0) queue(internal.resolved.map((recipient) => recipient.address), await encryptFor(internal.certs));

    // Outside with certs: PGP/MIME (RFC 3156), the real headers protected inside.
    const autocryptHeader = buildAutocryptHeader({ address: own, keydata: identity.publicKey.write() as Uint8Array, preferEncrypt: 'mutual' });
    const outer = { from: payload.from, date: payload.date, messageId, autocryptHeader };
    const encryptedOut = external.filter((recipient) => recipient.cert !== undefined);
    if (encryptedOut.length > 0) {
      const armoredEncryptedPart = await encryptFor(encryptedOut.map((recipient) => recipient.cert!));
      const rawMessage = buildPgpMimeMessage({ ...outer, to: payload.to, armoredEncryptedPart });
      queue(encryptedOut.map((recipient) => recipient.address), armoredEncryptedPart, { rawMessage, exposed: false });
    }
    // Outside without a cert: readable, only with the user's consent (beforeSend said yes).
    const readableOut = external.filter((recipient) => recipient.cert === undefined);
    if (readableOut.length > 0) {
      const rawMessage = buildPlainMessage({ ...outer, to: payload.to, subject: input.subject, body: input.body, attachments: payload.attachments, boundary: payload.boundary });
      queue(readableOut.map((recipient) => recipient.address), await encryptFor([]), { rawMessage, exposed: true });
    }

    // docs/cli.md §3.11: the relay announces its limit (GET /v1/relay); nothing is queued that it would refuse for size.
    if (client) await checkSizes(client, items);
    const ids = await reserveLocalIds(session, items.length);
    items.forEach((item, index) => (item.id = ids[index]!));
    await session.update((draft) => {
      draft.outbox.push(...items);
    });
    const flushed = client ? await flushOutbox(session, client, input.now) : undefined;
    const refused = items.map((item) => flushed?.failures.get(item.id)).find((error) => error !== undefined);
    if (refused) {
      throw new CaliopError(refused.code, `${refused.message}; the message stays in the outbox as failed`, {
        hint: 'see "caliop outbox"; fix the cause and "caliop outbox retry ID", or "caliop outbox drop ID"',
        cause: refused,
      });
    }
    const first = items[0]!.id;
    return {
      id: first,
      queued: items.some((item) => !(flushed?.sent.includes(item.id) ?? false)),
      recipients: [
        ...internal.resolved,
        ...external.map((recipient) => ({
          address: recipient.address,
          fingerprint: recipient.contact?.fingerprint ?? null,
          verification: recipient.contact?.verification ?? null,
          source: recipient.contact?.source ?? null,
        })),
      ],
      exposure,
    };
  } finally {
    client?.close();
  }
}

async function checkSizes(client: RelayClient, items: readonly OutboxItem[]): Promise<void> {
  let limit: number;
  try {
    limit = (await client.info()).limits.maxMessageBytes;
  } catch (error) {
    if (isUnreachable(error)) return; // offline: the message waits, and the relay's own check stands
    throw error;
  }
  for (const item of items) {
    const size = Buffer.byteLength(item.outbound?.rawMessage ?? item.armoredMessage, 'utf8');
    if (size > limit) {
      throw new CaliopError('relay_too_large', `this message is ${size} bytes once encrypted; the relay accepts at most ${limit} bytes (${(limit / 1048576).toFixed(1)} MiB). Nothing was sent or queued.`);
    }
  }
}

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
  /** Marked failed during this flush. */
  failed: FailedMessage[];
  /** The error of each message marked failed, by local id (send reports it as its own). */
  failures: Map<string, CaliopError>;
}

/**
 * docs/vault-contents.md §4.1: submits the queued messages one by one. A refusal for
 * good marks that message failed and the next one is tried; only an unreachable or
 * throttling relay stops the flush. `only` limits it to some ids (retry); failed
 * messages are skipped unless named there.
 */
async function flushOutbox(session: StickSession, client: RelayClient, now: Date, only?: readonly string[]): Promise<FlushResult> {
  const result: FlushResult = { sent: [], queued: [], errors: [], failed: [], failures: new Map() };
  for (const item of [...session.contents.outbox]) {
    if (only !== undefined ? !only.includes(item.id) : item.failed !== undefined) continue;
    // docs/store.md §6: a yank after the sent copy was stored but before the outbox
    // was rewritten leaves the item in both: it was sent, it is only dropped.
    if (session.store.entry(item.id)?.direction === 'out') {
      await session.update((draft) => {
        draft.outbox = draft.outbox.filter((queued) => queued.id !== item.id);
      });
      continue;
    }
    try {
      const receipt = item.outbound
        ? await client.submitOutbound({ envelopeTo: item.to, rawMessage: item.outbound.rawMessage, exposed: item.outbound.exposed })
        : await client.submit({ to: item.to, armoredMessage: item.armoredMessage });
      const facts = 'facts' in receipt ? receipt.facts : undefined;
      await session.store.put([
        {
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
            ...(facts !== undefined ? { relayFacts: facts } : {}),
            ...(item.sentAssessment !== undefined ? { sentAssessment: item.sentAssessment } : {}),
          },
        },
      ]);
      await session.update((draft) => {
        draft.outbox = draft.outbox.filter((queued) => queued.id !== item.id);
      });
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
  outboxItem(session, id);
  const entry = listOutbox(session).find((candidate) => candidate.id === id)!;
  await session.update((draft) => {
    draft.outbox = draft.outbox.filter((item) => item.id !== id);
  });
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

export interface SyncReport {
  readonly sent: number;
  readonly queued: number;
  readonly received: number;
  readonly errors: readonly string[];
  /** docs/vault-contents.md §4.2: every failed message in the outbox after this sync (marked now or before). */
  readonly failed: readonly FailedMessage[];
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
  const client = await relayClientFor(session);
  try {
    const flushed = await flushOutbox(session, client, now);
    let received = 0;
    let after: string | undefined;
    for (;;) {
      // docs/api.md §8.8: one request brings a page with its ciphertexts.
      const page = await client.mailboxPage(after === undefined ? {} : { after });
      const fresh = await Promise.all(
        page.messages
          .filter((full) => !session.store.hasRelayId(full.id))
          .map(async (full): Promise<StoredMessage> => {
            const opened = await readProtectedHeaders(session, full.armoredMessage);
            const headers = opened !== undefined && 'sealed' in opened ? undefined : opened;
            // docs/message-payload.md §7: what the encrypted part does not say, the outer message said (vouched by the relay, unprotected).
            const outer = full.facts.route === 'smtp-inbound' ? full.facts.outerHeaders : undefined;
            return {
              id: '',
              direction: 'in',
              relayId: full.id,
              from: headers?.from ?? outer?.from ?? full.from,
              to: headers?.to.length ? [...headers.to] : outer?.to.length ? [...outer.to] : full.to,
              subject: headers?.subject ?? outer?.subject ?? '(no subject)',
              date: headers?.date ?? isoOrUndefined(outer?.date) ?? full.facts.receivedAt,
              storedAt: now.toISOString(),
              unread: true,
              armoredMessage: full.armoredMessage,
              relayFacts: full.facts,
              // docs/limits.md §3: over a limit, it is kept sealed and never decrypted again.
              ...(opened !== undefined && 'sealed' in opened ? { sealed: { reason: opened.sealed, at: now.toISOString() } } : {}),
            };
          }),
      );
      if (fresh.length > 0 || page.through) {
        // docs/store.md §4: the page's objects, then one journal record naming them all (and the cursor).
        const stored = await session.store.put(
          fresh.map((message) => ({ message })),
          page.through ? { relayCursor: page.through } : {},
        );
        received += stored.length;
      }
      await learnSenders(session, client, fresh, now);
      // docs/vault-contents.md §5.2: only now that the stick holds the page, one request deletes it from the relay.
      if (page.through) await client.ackMailbox(page.through);
      if (page.nextCursor === null) break;
      after = page.nextCursor;
    }
    return { sent: flushed.sent.length, queued: session.contents.outbox.length, received, errors: flushed.errors, failed: failedInOutbox(session) };
  } finally {
    client.close();
  }
}

function isoOrUndefined(date: string | null | undefined): string | undefined {
  if (date === null || date === undefined) return undefined;
  const parsed = new Date(date);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed.toISOString();
}

/** TOFU for senders: the first message from an address pins the relay directory's cert. */
async function learnSenders(session: StickSession, client: RelayClient, messages: readonly StoredMessage[], now: Date): Promise<void> {
  const senders = new Set(messages.map((message) => bareAddress(message.from)));
  for (const address of senders) {
    if (address === session.contents.identity.email.toLowerCase() || contactFor(session.contents, address)) continue;
    let armored: string | null;
    try {
      armored = await client.lookupCert(address);
    } catch (error) {
      if (isUnreachable(error)) return;
      throw error;
    }
    if (!armored) continue;
    const [read] = await readCerts(utf8.encode(armored));
    // docs/cli.md §6.4: a directory cert whose signatures do not verify is not pinned (the relay is not trusted).
    const key = read ? await checkCertSignatures(read).catch(() => undefined) : undefined;
    if (!key) continue;
    await session.update((draft) => {
      recordCert(draft.contacts, address, { fingerprint: fingerprintOf(key), armoredCert: key.armor() }, 'relay-directory', now);
    });
  }
}

async function readProtectedHeaders(session: StickSession, armoredMessage: string): Promise<MailContent | { sealed: OverLimitReason } | undefined> {
  try {
    const identity = await session.identity();
    const result = await decryptData(utf8.encode(armoredMessage), identity.privateKey, []);
    return await readMailContent(result.data);
  } catch (error) {
    if (isCaliopError(error, 'message_over_limit')) return { sealed: overLimitReasonIn(error.message) };
    return undefined; // kept as it came; `read` reports why it cannot be opened
  }
}

/** How a message's signature relates to its sender (docs/vault-contents.md §5.3). */
export type SignatureStatus = OpenedSignature;

export interface SenderCheck {
  readonly signature: SignatureStatus;
  /** docs/exposure.md §4.1.1: the From names a contact (or us) but is not proven, or another account submitted it. */
  readonly fromClaim?: { readonly kind: 'contact-unproven' | 'not-submitter'; readonly address: string };
  /** The sender's key as we hold it: verified in person, trusted on first use, changed, unknown, or ours. */
  readonly senderKey: 'verified' | 'unverified' | 'changed' | 'unknown' | 'self';
  readonly signerFingerprint: string | null;
}

function judgeSender(session: StickSession, fromAddress: string, checks: readonly SignatureCheck[], relayFacts?: unknown): SenderCheck {
  const self = fromAddress === session.contents.identity.email.toLowerCase();
  const contact = contactFor(session.contents, fromAddress);
  const senderKey: SenderCheck['senderKey'] = self ? 'self' : contact ? (contact.changedCert ? 'changed' : contact.verification) : 'unknown';
  const expected = self ? session.contents.identity.fingerprint : contact?.fingerprint;
  // docs/cli.md §6.2: good or good-weak by the sender's key; `bad` only when a signature does not verify.
  const good = checks.find((check) => check.status === 'good' && check.signerFingerprint === expected)
    ?? checks.find((check) => isValidSignature(check) && check.signerFingerprint === expected)
    ?? checks.find(isValidSignature);
  const keyProblem = checks.find((check) => check.status === 'expired-key' || check.status === 'revoked-key' || check.status === 'unsupported-algorithm');
  let signature: SignatureStatus;
  if (checks.some((check) => check.status === 'bad')) signature = 'bad';
  else if (good && good.signerFingerprint === expected) signature = good.status === 'good-weak' ? 'good-weak' : 'good';
  else if (good) signature = 'signer-mismatch'; // a valid signature, but by someone else than the From address
  else if (keyProblem) signature = keyProblem.status as SignatureStatus;
  // docs/exposure.md §4.1.1: signed by a key we do not hold, while the From names someone whose key we do hold: not them.
  else if (expected !== undefined && checks.some((check) => check.status === 'unknown-key')) signature = 'signer-mismatch';
  else if (checks.length > 0) signature = 'unknown-key';
  else signature = 'unsigned';
  const relay = relayFacts as { route?: string; submittedBy?: string } | undefined;
  let fromClaim: SenderCheck['fromClaim'];
  if (relay?.route === 'internal' && relay.submittedBy !== undefined && relay.submittedBy.toLowerCase() !== fromAddress) fromClaim = { kind: 'not-submitter', address: fromAddress };
  else if (expected !== undefined && signature === 'unsigned') fromClaim = { kind: 'contact-unproven', address: fromAddress };
  return { signature, senderKey, signerFingerprint: good?.signerFingerprint ?? checks[0]?.signerFingerprint ?? null, ...(fromClaim ? { fromClaim } : {}) };
}

export interface OpenedMessage {
  readonly message: StoredMessage;
  readonly body: string | null;
  readonly protectedHeaders: boolean;
  readonly sender: SenderCheck;
  /** docs/message-payload.md §5: the attachments, with their bytes (empty when undecryptable). */
  readonly attachments: readonly AttachmentPart[];
  /** The headers inside the encryption (or of the sealed original), when readable. */
  readonly content: MailContent | null;
  /** docs/limits.md §3: why the message stays sealed, or null. */
  readonly sealed: OverLimitReason | null;
}

/**
 * docs/message-payload.md §6: the signatures a sender put around the content
 * (PGP/MIME multipart/signed, inline-signed, clear-signed), checked against the
 * keys we hold; an inline-signed or clear-signed block is replaced by its text.
 */
async function checkSignedContent(content: MailContent, verificationKeys: readonly openpgp.PublicKey[]): Promise<{ body: string; checks: SignatureCheck[] }> {
  const signed = content.signed;
  if (signed === null) return { body: content.body, checks: [] };
  try {
    if (signed.kind === 'pgp-mime') {
      const result = await verifyData(signed.signedBytes, verificationKeys, signed.signature);
      return { body: content.body, checks: result.signatures };
    }
    const result = await verifyData(utf8.encode(signed.armored), verificationKeys);
    // RFC 4880 §5.9: text-mode literal data carries CRLF; shown with LF like every other text.
    const text = new TextDecoder().decode(result.data).replace(/\r\n?/g, '\n');
    return { body: content.body.replace(signed.armored, () => text.replace(/\n$/, '')), checks: result.signatures };
  } catch (error) {
    if (!isCaliopError(error)) throw error;
    return { body: content.body, checks: [] }; // not a signed message after all (an encrypted block, or damaged): shown as it came
  }
}

/** Decrypts and judges one stored message against today's contacts. */
export async function openStoredMessage(session: StickSession, message: StoredMessage, verificationKeys: readonly openpgp.PublicKey[]): Promise<OpenedMessage> {
  const undecrypted = { message, body: null, protectedHeaders: false, sender: { signature: 'undecryptable', senderKey: 'unknown', signerFingerprint: null }, attachments: [], content: null } as const;
  // docs/limits.md §3: a message found over a limit is never decrypted again.
  if (message.sealed) return { ...undecrypted, sealed: message.sealed.reason };
  const identity = await session.identity();
  let result: Awaited<ReturnType<typeof decryptData>>;
  try {
    result = await decryptData(utf8.encode(message.armoredMessage), identity.privateKey, verificationKeys);
  } catch (error) {
    if (!isCaliopError(error)) throw error;
    return { ...undecrypted, sealed: isCaliopError(error, 'message_over_limit') ? overLimitReasonIn(error.message) : null };
  }
  let content: MailContent;
  try {
    content = await readMailContent(result.data);
  } catch (error) {
    if (!isCaliopError(error, 'message_over_limit')) throw error;
    return { ...undecrypted, sealed: overLimitReasonIn(error.message) };
  }
  const signedContent = await checkSignedContent(content, verificationKeys);
  const from = bareAddress(content.from ?? message.from);
  return {
    message,
    body: signedContent.body,
    protectedHeaders: content.protectedHeaders,
    sender: judgeSender(session, from, [...result.signatures, ...signedContent.checks], message.direction === 'in' ? message.relayFacts : undefined),
    attachments: content.attachments,
    content,
    sealed: null,
  };
}

/** One stored message, whole (one object read from the stick). */
export function findMessage(session: StickSession, id: string): Promise<StoredMessage> {
  return session.store.get(id);
}

/**
 * `caliop delete ID`: removes a message from the store, sealed or not (docs/limits.md §3):
 * one journal record, then its objects (docs/store.md §6). The relay already forgot it at
 * sync (docs/vault-contents.md §5.2).
 */
export async function deleteMessage(session: StickSession, id: string): Promise<StoredMessage> {
  const message = await findMessage(session, id);
  await session.store.delete([id]);
  return message;
}

/** One journal record (docs/store.md §4), whatever the number of messages stored. */
export async function markRead(session: StickSession, id: string): Promise<void> {
  await session.store.setUnread(id, false);
}
