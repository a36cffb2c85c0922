// `caliop send` (docs/api.md §8.2, docs/gateway.md §4, docs/exposure.md §2.3):
// recipients resolved (pinned contact, relay directory, WKD), encrypted and signed
// on the stick, queued in the outbox, then submitted (src/service/mail-outbox.ts).
import type * as openpgp from 'openpgp';
import { formatPayload, formatPayloadStream, type OutgoingAttachment, type StreamedAttachment } from '../core/message-payload.js';
import { parseAddress } from '../api/address.js';
import { normaliseAddress, type Contact, type OutboxItem } from '../core/vault-contents.js';
import { CaliopError, isCaliopError } from '../errors.js';
import type { RelayClient } from '../edges/relay-client.js';
import { randomBytes } from '../edges/random.js';
import { lookupWkd, type WkdOptions } from '../edges/wkd-client.js';
import { certForOutsiders } from '../core/outsider-cert.js';
import { buildAutocryptHeader, buildPgpMimeMessage, buildPgpMimeMessageStream, buildPlainMessage, buildPlainMessageStream } from '../core/outgoing-mime.js';
import type { KeyChange } from '../api/schemas.js';
import { findContact, keyChangedError, readKeyChangeAnnouncement, recordCert, refuseRevoked } from './contacts.js';
import { assertOwnKeyUsable } from './key-lifecycle.js';
import { flushOutbox } from './mail-outbox.js';
import { allHavePostQuantumSubkey, certAddresses, certName, checkCertSignatures, encryptData, fingerprintOf, readCert, readCerts } from './pgp.js';
import { relayClientFor } from './relay-account.js';
import { isLargeCiphertext, LARGE_CIPHERTEXT_BYTES, outboxBlobRefs, putCiphertextBlob } from './message-blobs.js';
import { encryptArmoredStream } from './pgp-stream.js';
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

async function tryRelay(session: StickSession): Promise<RelayClient | undefined> {
  try {
    return await relayClientFor(session);
  } catch (error) {
    if (isCaliopError(error, 'relay_not_configured')) return undefined;
    throw error;
  }
}

/**
 * docs/api.md §8.11: the recipient domains whose TLS the relay guarantees by policy. A
 * relay that cannot say (unreachable, an older relay, an error) guarantees nothing.
 */
async function tlsGuaranteedDomains(client: RelayClient, domains: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const domain of new Set(domains)) {
    try {
      if ((await client.tlsPolicy(domain)).tlsGuaranteed) out.add(domain);
    } catch {
      break; // not guaranteed, the honest default (docs/exposure.md §2.3); an unreachable relay is not asked again
    }
  }
  return out;
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
    let keyChange: KeyChange | undefined;
    if (client) {
      try {
        const answer = await client.lookupDirectory(address);
        directoryCert = answer?.armoredCert ?? null;
        keyChange = answer?.keyChange;
      } catch (error) {
        if (!isCaliopError(error, 'relay_unreachable')) throw error;
        directoryCert = undefined; // offline: the pinned contact alone decides
      }
    }
    const known = findContact(session.contents.contacts, address);
    if (directoryCert) {
      const key = (await checkedPublishedCert(utf8.encode(directoryCert), address, 'the relay directory'))!;
      const fingerprint = fingerprintOf(key);
      if (known?.fingerprint === fingerprint) {
        // The same key with new material (a renewal, the post-quantum subkey of
        // docs/decisions/post-quantum.md): merged, as `contacts import` merges (docs/cli.md §6.4).
        const merged = (await (await readCert(known.armoredCert)).update(key)).armor();
        if (merged !== known.armoredCert) {
          await session.update((draft) => {
            findContact(draft.contacts, address)!.armoredCert = merged;
          });
        }
      } else if (known?.changedCert?.fingerprint !== fingerprint) {
        // docs/api.md §6.6: a key change the directory announced carries its date, and the old key's revocation if any.
        const announcement = known ? await readKeyChangeAnnouncement(known, keyChange) : {};
        await session.update((draft) => {
          if (announcement.oldKeyMerged !== undefined) findContact(draft.contacts, address)!.armoredCert = announcement.oldKeyMerged;
          recordCert(draft.contacts, address, { fingerprint, armoredCert: key.armor(), announcedAt: announcement.announcedAt }, 'relay-directory', now);
        });
      }
    }
    const contact = findContact(session.contents.contacts, address);
    if (!contact) {
      if (client && directoryCert === undefined) {
        throw new CaliopError('relay_unreachable', `the relay could not be reached to find the certificate of ${address}`, {
          hint: 'a first message to someone needs the relay once, to learn their certificate; try again when online',
        });
      }
      throw new CaliopError('unknown_recipient', `no certificate is known for ${address}${client ? ', and the relay does not know this address' : ''}`);
    }
    if (contact.changedCert) throw keyChangedError(contact);
    const cert = await readCert(contact.armoredCert);
    await refuseRevoked(address, cert);
    certs.push(cert);
    resolved.push({ address, fingerprint: contact.fingerprint, verification: contact.verification, source: contact.source });
  }
  return { certs, resolved };
}

/**
 * docs/cli.md §6.5: a cert fetched during `send` (relay directory, WKD) passes the checks
 * of `contacts import` (every self-signature, binding, back-signature and revocation, §6.4)
 * and names the address, or nothing is sent (published_cert_refused). Returns the cert as
 * checked, or null when `ignoreOtherAddress` and it names another address (WKD: the draft
 * says such a key is not the one asked for).
 */
async function checkedPublishedCert(data: Uint8Array, address: string, where: string, ignoreOtherAddress = false): Promise<openpgp.PublicKey | null> {
  const refuse = (why: string, cause?: unknown) =>
    new CaliopError('published_cert_refused', `the certificate ${where} gives for ${address} was refused: ${why}. Nothing was sent.`, cause === undefined ? {} : { cause });
  let key: openpgp.PublicKey;
  try {
    const [first] = await readCerts(data);
    key = await checkCertSignatures(first!);
  } catch (error) {
    if (isCaliopError(error, 'cert_refused') || isCaliopError(error, 'bad_input')) throw refuse(error.message, error);
    throw error;
  }
  if (!certAddresses(key).includes(address)) {
    if (ignoreOtherAddress) return null;
    throw refuse('it carries no user id with this address');
  }
  return key;
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
  let contact = findContact(session.contents.contacts, address);
  if (!contact) {
    const found = await lookupWkd(address, wkd);
    if (found) {
      const key = await checkedPublishedCert(found.cert, address, 'the Web Key Directory of its domain', true);
      if (key) {
        await session.update((draft) => {
          recordCert(draft.contacts, address, { fingerprint: fingerprintOf(key), armoredCert: key.armor(), name: certName(key) }, 'wkd', now);
        });
        contact = findContact(session.contents.contacts, address);
      }
    }
  }
  if (contact?.changedCert) throw keyChangedError(contact);
  return { address, contact, cert: contact ? await readCert(contact.armoredCert) : undefined };
}

/** What the face answers after seeing the assessment: cancel, send, or send with consent to exposure. */
export type SendDecision = boolean | 'allow-exposed';

export interface SendInput {
  readonly to: readonly string[];
  readonly subject: string;
  readonly body: string;
  /**
   * docs/message-payload.md §2.1: files sent inside the encryption, whole or streamed from
   * the named files (issue 9: `caliop send --attach` streams; only mail to outside
   * addresses still reads them whole).
   */
  readonly attachments?: readonly (OutgoingAttachment | StreamedAttachment)[];
  readonly now: Date;
  /** Default: the OS random source (src/edges/random.ts); tests may hand their own. */
  readonly random?: (length: number) => Uint8Array;
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
  /** true when the message waits in the outbox (the relay could not be reached, or asked to wait: `waitReason`). */
  readonly queued: boolean;
  /** Why it waits: the transient error met (relay_unreachable when no relay answered at all). */
  readonly waitReason?: CaliopError;
  /** Outside recipients without a cert have null fingerprint, verification and source. */
  readonly recipients: readonly (ResolvedRecipient | { address: string; fingerprint: null | string; verification: null | Contact['verification']; source: null | Contact['source'] })[];
  readonly exposure: SendAssessment;
}

/** `caliop send`: encrypted and signed on the stick; the relay only ever sees ciphertext. */
export async function sendMessage(session: StickSession, input: SendInput): Promise<SendReport> {
  if (input.to.length === 0) throw new CaliopError('usage', 'no recipient', { hint: 'caliop send --to ADDR < body' });
  const invalid = input.to.filter((address) => parseAddress(address) === null);
  if (invalid.length > 0) throw new CaliopError('usage', `not an address: ${invalid.map((address) => JSON.stringify(address)).join(', ')}`, { hint: 'give each recipient as local@domain' });
  // docs/ceremony.md §6.6-§6.7: nothing is signed with an expired or revoked key.
  assertOwnKeyUsable(session, input.now);
  const client = await tryRelay(session);
  try {
    const own = session.contents.identity.email;
    const internalAddresses = input.to.filter((address) => domainOf(address) === domainOf(own));
    const externalAddresses = input.to.filter((address) => domainOf(address) !== domainOf(own));
    const internal = internalAddresses.length > 0 ? await resolveRecipients(session, client, internalAddresses, input.now) : { certs: [], resolved: [] };
    const external = [];
    for (const address of externalAddresses) external.push(await resolveExternal(session, address, input.now, input.wkd));

    // docs/exposure.md §2.3, docs/api.md §8.11: for a readable outside recipient, the relay says whether the domain's policy guarantees TLS.
    const guaranteedDomains = client ? await tlsGuaranteedDomains(client, external.filter((recipient) => recipient.cert === undefined).map((recipient) => domainOf(recipient.address))) : new Set<string>();
    const identity = await session.identity();
    // docs/decisions/post-quantum.md: to the post-quantum subkeys when every cert, ours included, has one; else
    // as before. Decided before the assessment, which says so (send-encrypted-pq, docs/exposure.md §4.5).
    const postQuantum = internal.resolved.length > 0 && (await allHavePostQuantumSubkey([...internal.certs, identity.publicKey], input.now));
    const exposure = assessRecipientFacts([
      ...internal.resolved.map((recipient) =>
        recipientFacts(own, recipient.address, recipient.address === own.toLowerCase() ? { verification: 'verified', source: 'imported' } : findContact(session.contents.contacts, recipient.address), { postQuantum }),
      ),
      ...external.map((recipient) => recipientFacts(own, recipient.address, recipient.contact, { tlsGuaranteed: guaranteedDomains.has(domainOf(recipient.address)) })),
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
    const domain = domainOf(own);
    const random = input.random ?? randomBytes;
    const messageId = `${Buffer.from(random(12)).toString('hex')}@${domain}`;
    const files = input.attachments ?? [];
    const payload = {
      from: `${session.contents.identity.name} <${own}>`,
      to: input.to.map(normaliseAddress),
      subject: input.subject,
      date: input.now.toISOString(),
      messageId,
      body: input.body,
      boundary: `=_caliop_${Buffer.from(random(12)).toString('hex')}`,
    };
    // Small messages are built whole (docs/store.md §5.1): the files are read once for them.
    let wholeFiles: OutgoingAttachment[] | undefined;
    const filesWhole = async () => (wholeFiles ??= await Promise.all(files.map(readWhole)));
    let payloadBytes: Uint8Array | undefined;
    const encryptFor = async (certs: readonly openpgp.PublicKey[], postQuantum = false) => {
      payloadBytes ??= utf8.encode(formatPayload({ ...payload, attachments: await filesWhole() }));
      return new TextDecoder().decode(await encryptData({ data: payloadBytes, recipients: [...certs, identity.publicKey], signingKey: identity.privateKey, armor: true, date: input.now, postQuantum }));
    };
    // docs/store.md §5.1, issue 9: with files, the internal message is built, encrypted and sealed
    // into the store as one stream (files → MIME → OpenPGP → blob), never whole in memory.
    const sealStreamed = async (certs: readonly openpgp.PublicKey[], postQuantum: boolean) =>
      session.store.putBlob(
        encryptArmoredStream({
          data: utf8Pieces(formatPayloadStream({ ...payload, attachments: files.map(asStreamed) })),
          recipients: [...certs, identity.publicKey],
          signingKey: identity.privateKey,
          date: input.now,
          postQuantum,
        }),
        { digest: true },
      );

    // Files whose ciphertext would stay under one object chunk go the whole way (docs/store.md §5.1: no blob for a small message).
    const fileBytes = files.reduce((sum, file) => sum + ('open' in file ? file.size : file.content.length), 0);
    const large = fileBytes * 2 > LARGE_CIPHERTEXT_BYTES;
    const items: OutboxItem[] = [];
    const queue = (to: string[], armoredMessage: string, outbound?: OutboxItem['outbound'], ciphertextBlob?: OutboxItem['ciphertextBlob']) =>
      items.push({
        id: '',
        to,
        subject: input.subject,
        createdAt: input.now.toISOString(),
        armoredMessage,
        idempotencyKey: Buffer.from(random(16)).toString('base64url'),
        attempts: 0,
        sentAssessment: exposure.message,
        ...(outbound ? { outbound } : {}),
        ...(ciphertextBlob ? { ciphertextBlob } : {}),
      });

    // Inside Caliop: one end-to-end message through the relay (docs/api.md §8.2), post-quantum as assessed above.
    if (internal.resolved.length > 0) {
      const to = internal.resolved.map((recipient) => recipient.address);
      if (large) queue(to, '', undefined, await sealStreamed(internal.certs, postQuantum));
      else queue(to, await encryptFor(internal.certs, postQuantum));
    }

    // Outside with certs: PGP/MIME (RFC 3156), the real headers protected inside.
    // docs/decisions/post-quantum.md: outside mail carries the cert outsiders get (RNP refuses the post-quantum subkey).
    const autocryptHeader = buildAutocryptHeader({ address: own, keydata: certForOutsiders(identity.publicKey.write() as Uint8Array), preferEncrypt: 'mutual' });
    const outer = { from: payload.from, date: payload.date, messageId, autocryptHeader };
    const encryptedOut = external.filter((recipient) => recipient.cert !== undefined);
    // docs/store.md §5.1, issue 9: with files, the message to the outside is built as a stream into its own blob, as is its sent copy.
    const putMessageBlob = (pieces: AsyncIterable<string | Uint8Array>) => session.store.putBlob(utf8Pieces(pieces), { digest: true });
    if (encryptedOut.length > 0 && large) {
      const ciphertextBlob = await sealStreamed(encryptedOut.map((recipient) => recipient.cert!), false);
      const messageBlob = await putMessageBlob(buildPgpMimeMessageStream({ ...outer, to: payload.to, armoredEncryptedPart: session.store.openBlob(ciphertextBlob.ref) }));
      queue(encryptedOut.map((recipient) => recipient.address), '', { rawMessage: '', messageBlob, exposed: false }, ciphertextBlob);
    } else if (encryptedOut.length > 0) {
      const armoredEncryptedPart = await encryptFor(encryptedOut.map((recipient) => recipient.cert!));
      const rawMessage = buildPgpMimeMessage({ ...outer, to: payload.to, armoredEncryptedPart });
      queue(encryptedOut.map((recipient) => recipient.address), armoredEncryptedPart, { rawMessage, exposed: false });
    }
    // Outside without a cert: readable, only with the user's consent (beforeSend said yes).
    const readableOut = external.filter((recipient) => recipient.cert === undefined);
    if (readableOut.length > 0 && large) {
      const requireTlsFor = readableOut.filter((recipient) => guaranteedDomains.has(domainOf(recipient.address))).map((recipient) => normaliseAddress(recipient.address));
      const messageBlob = await putMessageBlob(buildPlainMessageStream({ ...outer, to: payload.to, subject: input.subject, body: input.body, attachments: files.map(asStreamed), boundary: payload.boundary }));
      queue(readableOut.map((recipient) => recipient.address), '', { rawMessage: '', messageBlob, exposed: true, ...(requireTlsFor.length > 0 ? { requireTlsFor } : {}) }, await sealStreamed([], false));
    } else if (readableOut.length > 0) {
      const rawMessage = buildPlainMessage({ ...outer, to: payload.to, subject: input.subject, body: input.body, attachments: await filesWhole(), boundary: payload.boundary });
      // docs/api.md §8.7: those judged on the relay's guarantee may leave only under it.
      const requireTlsFor = readableOut.filter((recipient) => guaranteedDomains.has(domainOf(recipient.address))).map((recipient) => normaliseAddress(recipient.address));
      queue(readableOut.map((recipient) => recipient.address), await encryptFor([]), { rawMessage, exposed: true, ...(requireTlsFor.length > 0 ? { requireTlsFor } : {}) });
    }

    // docs/cli.md §3.11: the relay announces its limit (GET /v1/relay); nothing is queued that it would refuse for size.
    try {
      if (client) await checkSizes(client, items);
    } catch (error) {
      await session.store.discardBlobs(items.flatMap(outboxBlobRefs));
      throw error;
    }
    // docs/store.md §5.1: a large ciphertext waits in the store as a blob, not in the vault document.
    for (const item of items) {
      if (item.outbound || item.ciphertextBlob || !isLargeCiphertext(item.armoredMessage)) continue;
      item.ciphertextBlob = await putCiphertextBlob(session.store, item.armoredMessage);
      item.armoredMessage = '';
    }
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
    const queued = items.some((item) => !(flushed?.sent.includes(item.id) ?? false));
    const waitReason = !queued ? undefined : (flushed?.waitingOn?.error ?? new CaliopError('relay_unreachable'));
    return {
      id: first,
      queued,
      ...(waitReason === undefined ? {} : { waitReason }),
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

/** A file given whole or streamed, as a stream (formatPayloadStream). */
function asStreamed(file: OutgoingAttachment | StreamedAttachment): StreamedAttachment {
  if ('open' in file) return file;
  return {
    name: file.name,
    type: file.type,
    size: file.content.length,
    async *open() {
      yield file.content;
    },
  };
}

/** A streamed file read whole (mail to outside addresses is still built whole). */
async function readWhole(file: OutgoingAttachment | StreamedAttachment): Promise<OutgoingAttachment> {
  if (!('open' in file)) return file;
  const pieces: Uint8Array[] = [];
  for await (const piece of file.open()) pieces.push(piece);
  return { name: file.name, type: file.type, content: new Uint8Array(Buffer.concat(pieces)) };
}

/** UTF-8 bytes of text pieces, one piece at a time. */
/** Text pieces as UTF-8; pieces already bytes (the files' base64) as they are. */
async function* utf8Pieces(texts: AsyncIterable<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const text of texts) if (text.length > 0) yield typeof text === 'string' ? utf8.encode(text) : text;
}

async function checkSizes(client: RelayClient, items: readonly OutboxItem[]): Promise<void> {
  let limit: number;
  try {
    limit = (await client.info()).limits.maxMessageBytes;
  } catch (error) {
    if (isCaliopError(error, 'relay_unreachable')) return; // offline: the message waits, and the relay's own check stands
    throw error;
  }
  for (const item of items) {
    const size = item.outbound ? (item.outbound.messageBlob?.size ?? Buffer.byteLength(item.outbound.rawMessage, 'utf8')) : (item.ciphertextBlob?.size ?? Buffer.byteLength(item.armoredMessage, 'utf8'));
    if (size > limit) {
      throw new CaliopError('relay_too_large', `this message is ${size} bytes once encrypted; the relay accepts at most ${limit} bytes (${(limit / 1048576).toFixed(1)} MiB). Nothing was sent or queued.`);
    }
  }
}
