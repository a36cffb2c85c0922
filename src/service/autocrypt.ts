// Incoming Autocrypt at sync (docs/gateway.md §4.5.1): the `Autocrypt` header of mail
// from outside, readable or encrypted, and the `Autocrypt-Gossip` headers inside the
// encryption update the Level 1 peer state kept in the contacts (docs/vault-contents.md
// §3.4). The rules are src/core/autocrypt.ts; this file reads the keys and writes the vault.
import type * as openpgp from 'openpgp';
import type { SmtpInboundArrivalFacts } from '../api/facts.js';
import {
  autocryptContactStep,
  autocryptSkipReason,
  effectiveDate,
  gossipAddressIsRecipient,
  parseAutocryptHeader,
  senderAutocryptHeader,
  updatePeerFromGossip,
  updatePeerFromHeader,
  type AutocryptContactStep,
  type AutocryptHeader,
} from '../core/autocrypt.js';
import type { ArrivalHeaders } from '../core/mail-content.js';
import { bareAddress } from '../core/message-payload.js';
import { normaliseAddress, type AutocryptPeer, type Contact, type StoredMessage } from '../core/vault-contents.js';
import { isCaliopError } from '../errors.js';
import { findContact, verificationCerts } from './contacts.js';
import { openStoredMessage } from './mail-read.js';
import { certName, certStatus, checkCertSignatures, fingerprintOf, readCerts } from './pgp.js';
import type { StickSession } from './stick-session.js';

/** One change to the contacts that `caliop sync` reports (docs/gateway.md §4.5.1). */
export interface AutocryptLearning {
  readonly address: string;
  /** add: a new contact; replace: an Autocrypt-learnt key replaced by a younger one; change: a pinned key kept, the new one is the changed-key alarm. */
  readonly step: Extract<AutocryptContactStep, 'add' | 'replace' | 'change'>;
  readonly source: 'autocrypt' | 'autocrypt-gossip';
  readonly fingerprint: string;
}

/** A message as sync has just stored it, with its header fields as src/service/mail-open.ts read them (undefined: not readable). */
export interface Arrival {
  readonly message: StoredMessage;
  readonly content: ArrivalHeaders | undefined;
}

interface UsableKey {
  readonly fingerprint: string;
  readonly armoredCert: string;
  readonly name: string | undefined;
}

/** Autocrypt keydata: one transferable public key whose self-signatures verify and which can encrypt now; else none. */
async function usableKey(keydata: Uint8Array, now: Date): Promise<UsableKey | null> {
  let key: openpgp.PublicKey;
  try {
    const keys = await readCerts(keydata);
    if (keys.length !== 1) return null;
    key = await checkCertSignatures(keys[0]!);
  } catch (error) {
    if (isCaliopError(error)) return null;
    throw error;
  }
  if ((await certStatus(key, now)).state !== 'usable') return null;
  return { fingerprint: fingerprintOf(key), armoredCert: key.armor(), name: certName(key) };
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** What the rules read of one arrival; null when Autocrypt does not apply to it at all. */
function arrivalFacts(arrival: Arrival, ownAddress: string) {
  const facts = arrival.message.relayFacts as SmtpInboundArrivalFacts | undefined;
  const content = arrival.content;
  // Mail between Caliop accounts has the relay's directory; only outside mail carries Autocrypt.
  if (facts?.route !== 'smtp-inbound' || content === undefined) return null;
  // Our choice (docs/gateway.md §4.5.1): a message failing DMARC for its From domain plants no key.
  if (facts.auth.dmarc.result === 'fail') return null;
  const outer = facts.arrivedEncrypted ? facts.outerHeaders : undefined;
  const context = content.autocryptContext;
  // An encrypted arrival: the From is the protected one when the sender protected it, else the outer one the relay saw.
  const fromAddresses = context.fromAddresses.length > 0 ? context.fromAddresses : outer?.from ? [bareAddress(outer.from)] : [];
  const skip = autocryptSkipReason({
    fromAddresses,
    autoSubmitted: outer?.autoSubmitted ?? context.autoSubmitted,
    contentType: facts.arrivedEncrypted ? undefined : context.contentType,
    date: content.date,
    receivedAt: new Date(facts.receivedAt),
    autocrypt: [],
  });
  if (skip !== null) return null;
  const from = normaliseAddress(fromAddresses[0]!);
  if (from === normaliseAddress(ownAddress) || domainOf(from) === domainOf(ownAddress)) return null;
  return {
    from,
    effective: effectiveDate(content.date ?? outer?.date ?? undefined, new Date(facts.receivedAt)),
    headers: [...(outer?.autocrypt ?? []), ...content.autocrypt],
    // Autocrypt Level 1: gossip only from inside the encryption (a sealed readable message is not).
    gossip: facts.arrivedEncrypted ? content.autocryptGossip : [],
    recipients: [...(content.to.length > 0 ? content.to : (outer?.to ?? [])), ...context.replyTo],
  };
}

/** Applies one key to the draft's contacts as `autocryptContactStep` decided; the peer state is set in every case. */
function applyKey(draft: Contact[], address: string, key: UsableKey, source: AutocryptLearning['source'], peer: AutocryptPeer, now: Date): AutocryptContactStep {
  const contact = findContact(draft, address);
  const step = autocryptContactStep(contact, key.fingerprint, source === 'autocrypt' ? 'header' : 'gossip');
  if (step === 'add') {
    draft.push({
      address: normaliseAddress(address),
      ...(key.name ? { name: key.name } : {}),
      fingerprint: key.fingerprint,
      armoredCert: key.armoredCert,
      verification: 'unverified',
      source,
      addedAt: now.toISOString(),
      autocrypt: peer,
    });
    return step;
  }
  const target = contact!;
  target.autocrypt = peer;
  if (step === 'replace') {
    target.fingerprint = key.fingerprint;
    target.armoredCert = key.armoredCert;
    target.source = source;
    if (key.name) target.name = key.name;
  } else if (step === 'change') {
    // docs/vault-contents.md §3.2: kept aside; sending stops and mail from the address is the alarm until verified.
    target.changedCert = { fingerprint: key.fingerprint, armoredCert: key.armoredCert, seenAt: now.toISOString(), source };
  }
  return step;
}

function reported(learnt: AutocryptLearning[], address: string, step: AutocryptContactStep, source: AutocryptLearning['source'], fingerprint: string): void {
  if (step === 'add' || step === 'replace' || step === 'change') learnt.push({ address: normaliseAddress(address), step, source, fingerprint });
}

/**
 * docs/gateway.md §4.5.1: run after a page of mail is stored. First the senders' own
 * headers (one vault write), then the gossip of the messages whose signature is good by
 * the key we now hold for their sender (one more write, only when there is gossip).
 */
export async function learnFromAutocrypt(session: StickSession, arrivals: readonly Arrival[], now: Date): Promise<AutocryptLearning[]> {
  const own = session.contents.identity.email;
  const candidates = arrivals
    .map((arrival) => ({ arrival, facts: arrivalFacts(arrival, own) }))
    .filter((entry): entry is { arrival: Arrival; facts: NonNullable<ReturnType<typeof arrivalFacts>> } => entry.facts !== null)
    .sort((a, b) => a.facts.effective.getTime() - b.facts.effective.getTime());
  if (candidates.length === 0) return [];
  const learnt: AutocryptLearning[] = [];

  // The senders' headers. Keys are read first (async), then every change is made in one write.
  const headerKeys = new Map<string, { header: AutocryptHeader; key: UsableKey | null }>();
  for (const { facts } of candidates) {
    const header = senderAutocryptHeader(facts.headers, facts.from);
    if (header === null) continue;
    const id = Buffer.from(header.keydata).toString('base64');
    if (!headerKeys.has(id)) headerKeys.set(id, { header, key: await usableKey(header.keydata, now) });
  }
  const touchesVault = candidates.some(({ facts }) => findContact(session.contents.contacts, facts.from)?.autocrypt !== undefined) || [...headerKeys.values()].some(({ key }) => key !== null);
  if (touchesVault) {
    await session.update((draft) => {
      for (const { facts } of candidates) {
        const header = senderAutocryptHeader(facts.headers, facts.from);
        const key = header === null ? null : (headerKeys.get(Buffer.from(header.keydata).toString('base64'))?.key ?? null);
        const contact = findContact(draft.contacts, facts.from);
        const update = updatePeerFromHeader(contact?.autocrypt, facts.effective, header !== null && key !== null ? { fingerprint: key.fingerprint, preferEncrypt: header.preferEncrypt } : null);
        if (!update.took || key === null) {
          // Only last_seen may have moved; a peer is kept only beside a contact that already has one.
          if (contact?.autocrypt !== undefined && update.peer !== undefined) contact.autocrypt = update.peer;
          continue;
        }
        reported(learnt, facts.from, applyKey(draft.contacts, facts.from, key, 'autocrypt', update.peer!, now), 'autocrypt', key.fingerprint);
      }
    });
  }

  // Gossip: only from a message whose signature is good by its sender's key, as we hold it now.
  const gossiping = candidates.filter(({ facts }) => facts.gossip.length > 0);
  if (gossiping.length === 0) return learnt;
  const keys = await verificationCerts(session);
  const accepted: { address: string; key: UsableKey; effective: Date }[] = [];
  for (const { arrival, facts } of gossiping) {
    const opened = await openStoredMessage(session, arrival.message, keys);
    const sender = opened.sender;
    if ((sender.signature !== 'good' && sender.signature !== 'good-weak') || sender.senderKey === 'changed' || sender.senderKey === 'unknown') continue;
    for (const value of facts.gossip) {
      const header = parseAutocryptHeader(value);
      if (header === null) continue;
      const address = header.address;
      if (!gossipAddressIsRecipient(address, facts.recipients)) continue;
      if (address === facts.from || address === normaliseAddress(own) || domainOf(address) === domainOf(own)) continue;
      const key = await usableKey(header.keydata, now);
      if (key !== null) accepted.push({ address, key, effective: facts.effective });
    }
  }
  if (accepted.length === 0) return learnt;
  await session.update((draft) => {
    for (const { address, key, effective } of accepted) {
      const contact = findContact(draft.contacts, address);
      const update = updatePeerFromGossip(contact?.autocrypt, effective, key.fingerprint);
      if (!update.took) continue;
      reported(learnt, address, applyKey(draft.contacts, address, key, 'autocrypt-gossip', update.peer!, now), 'autocrypt-gossip', key.fingerprint);
    }
  });
  return learnt;
}
