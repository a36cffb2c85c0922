// Incoming Autocrypt (Autocrypt Level 1, docs/gateway.md §4.5.1): the `Autocrypt` and
// `Autocrypt-Gossip` header fields read, the peer state updated as the spec's
// "Updating Autocrypt Peer State" and "Updating Autocrypt Peer State from Key Gossip"
// say, and what that means for the contact (a lower source than an in-person check or
// a directory: never a silent replacement of those). Pure: strings, dates and facts in,
// decisions out; reading the OpenPGP key and writing the vault are the service's job.

import { decodeWords } from 'postal-mime';
import { normaliseAddress, type AutocryptPeer, type Contact } from './vault-contents.js';

/** Autocrypt Level 1 §2.1 (`Autocrypt` header): larger headers SHOULD be treated as invalid. */
export const AUTOCRYPT_HEADER_MAX_BYTES = 10 * 1024;

export type PreferEncrypt = 'mutual' | 'nopreference';

export interface AutocryptHeader {
  readonly address: string;
  readonly preferEncrypt: PreferEncrypt;
  /** The binary transferable public key (RFC 4880 §11.1), base64-decoded. */
  readonly keydata: Uint8Array;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Autocrypt Level 1 §2.1: `addr=…; [prefer-encrypt=mutual;] keydata=BASE64`, keydata last.
 * Returns null for an invalid header: a missing or repeated `addr`/`keydata`, `keydata`
 * not last or not base64, an unknown critical attribute (a name without a leading `_`),
 * or a field over 10 KiB. `prefer-encrypt` with any value but `mutual` is `nopreference`.
 */
export function parseAutocryptHeader(raw: string): AutocryptHeader | null {
  if ('Autocrypt: '.length + raw.length > AUTOCRYPT_HEADER_MAX_BYTES) return null;
  // Measured: Python's `email` package (policy SMTP) writes a field with a token longer than a
  // line as RFC 2047 encoded-words; decoded, adjacent words join (RFC 2047 §6.2) and the value is whole again.
  const value = raw.includes('=?') ? decodeWords(raw) : raw;
  const attributes = value.split(';').map((part) => part.trim()).filter((part) => part !== '');
  const seen = new Map<string, string>();
  for (const [position, attribute] of attributes.entries()) {
    const equals = attribute.indexOf('=');
    if (equals <= 0) return null;
    const name = attribute.slice(0, equals).trim().toLowerCase();
    const attributeValue = attribute.slice(equals + 1).trim();
    if (seen.has(name)) return null;
    seen.set(name, attributeValue);
    // "For ease of parsing, the keydata attribute MUST be the last attribute in this header."
    if (name === 'keydata' && position !== attributes.length - 1) return null;
    // Unknown critical attributes make the whole header invalid; non-critical ones (`_x`) are ignored.
    if (name !== 'addr' && name !== 'prefer-encrypt' && name !== 'keydata' && !name.startsWith('_')) return null;
  }
  const address = seen.get('addr');
  const keydataText = seen.get('keydata')?.replace(/\s+/g, '');
  if (address === undefined || address === '' || keydataText === undefined || keydataText === '' || !BASE64.test(keydataText)) return null;
  // The pattern lets through what atob refuses (a length of 4n+1, '=' where no padding fits): not base64.
  let decoded: string;
  try {
    decoded = atob(keydataText);
  } catch {
    return null;
  }
  const keydata = Uint8Array.from(decoded, (char) => char.charCodeAt(0));
  if (keydata.length === 0) return null;
  return { address: normaliseAddress(address), preferEncrypt: seen.get('prefer-encrypt') === 'mutual' ? 'mutual' : 'nopreference', keydata };
}

/** What the peer-state rules need from a received message, besides its Autocrypt fields. */
export interface AutocryptMessageFacts {
  /** Every address of the `From` field (the rules apply only when there is exactly one). */
  readonly fromAddresses: readonly string[];
  /** The `Auto-Submitted` field, if any (RFC 3834). */
  readonly autoSubmitted: string | undefined;
  /** The top-level media type, lowercased (`multipart/report` is a bounce or a receipt). */
  readonly contentType: string | undefined;
  /** The `Date` field, as ISO 8601, if it was readable. */
  readonly date: string | undefined;
  /** When the message was received (the relay's arrival time). */
  readonly receivedAt: Date;
  /** The raw values of the `Autocrypt` fields. */
  readonly autocrypt: readonly string[];
}

/**
 * Autocrypt Level 1, "Updating Autocrypt Peer State": the message's effective date is its
 * `Date`, or the time of receipt if that date is in the future or unavailable.
 */
export function effectiveDate(date: string | undefined, receivedAt: Date): Date {
  const parsed = date === undefined ? Number.NaN : new Date(date).getTime();
  return Number.isNaN(parsed) || parsed > receivedAt.getTime() ? receivedAt : new Date(parsed);
}

/** Why a message does not update the sender's peer state at all (Autocrypt Level 1, "Messages SHOULD be ignored"). */
export type AutocryptSkip = 'auto-replied' | 'report' | 'from-not-single';

export function autocryptSkipReason(facts: AutocryptMessageFacts): AutocryptSkip | null {
  if (facts.fromAddresses.length !== 1) return 'from-not-single';
  // RFC 3834 §5: `auto-replied` (and `auto-generated`, which no person wrote either).
  if (facts.autoSubmitted !== undefined && /^\s*auto-(replied|generated)\b/i.test(facts.autoSubmitted)) return 'auto-replied';
  if (facts.contentType === 'multipart/report') return 'report';
  return null;
}

/**
 * "When parsing an incoming message, an MUA SHOULD examine all Autocrypt headers […]
 * If there is more than one valid header, this SHOULD be treated as an error, and all
 * Autocrypt headers discarded as invalid." A header whose `addr` is not the From
 * address is invalid. The same field seen twice (the outer header and its protected
 * copy inside the encryption) counts once.
 */
export function senderAutocryptHeader(values: readonly string[], fromAddress: string): AutocryptHeader | null {
  const distinct = [...new Set(values.map((value) => value.replace(/\s+/g, ' ').trim()))];
  const valid = distinct.map(parseAutocryptHeader).filter((header): header is AutocryptHeader => header !== null && header.address === normaliseAddress(fromAddress));
  return valid.length === 1 ? valid[0]! : null;
}

/**
 * Autocrypt Level 1, "Updating Autocrypt Peer State", steps 1-6, for the sender's peer
 * state. `header` is the single valid header (its key already read: its fingerprint),
 * or null. A peer is kept only once a header or gossip has been seen for the address:
 * `last_seen` alone would say nothing Caliop uses. Returns the new state and whether the
 * header took (it then names the peer's current key).
 */
export function updatePeerFromHeader(
  peer: AutocryptPeer | undefined,
  effective: Date,
  header: { readonly fingerprint: string; readonly preferEncrypt: PreferEncrypt } | null,
): { peer: AutocryptPeer | undefined; took: boolean } {
  const at = effective.toISOString();
  // 1. Older than the youngest header seen: nothing changes.
  if (peer?.autocryptTimestamp !== undefined && effective.getTime() < Date.parse(peer.autocryptTimestamp)) return { peer, took: false };
  // 2. last_seen moves forward.
  let next: AutocryptPeer | undefined = peer && (peer.lastSeen === undefined || Date.parse(peer.lastSeen) < effective.getTime()) ? { ...peer, lastSeen: at } : peer;
  // 3. No header: done.
  if (header === null) return { peer: next, took: false };
  // 4-6. The header's key and preference are the peer's now.
  next = { ...(next ?? { lastSeen: at }), autocryptTimestamp: at, fingerprint: header.fingerprint, preferEncrypt: header.preferEncrypt };
  return { peer: next, took: true };
}

/**
 * Autocrypt Level 1, "Updating Autocrypt Peer State from Key Gossip", steps 2-4 (step 1,
 * the address among the recipients, is checked by the caller with the message's To, Cc
 * and Reply-To).
 */
export function updatePeerFromGossip(peer: AutocryptPeer | undefined, effective: Date, fingerprint: string): { peer: AutocryptPeer | undefined; took: boolean } {
  if (peer?.gossipTimestamp !== undefined && Date.parse(peer.gossipTimestamp) > effective.getTime()) return { peer, took: false };
  const at = effective.toISOString();
  return { peer: { ...peer, gossipTimestamp: at, gossipFingerprint: fingerprint }, took: true };
}

/** Where a contact's key came from, from lowest to highest: Autocrypt's sources are the lowest. */
const AUTOCRYPT_SOURCES: ReadonlySet<Contact['source']> = new Set(['autocrypt', 'autocrypt-gossip']);

/** What a key met in an Autocrypt field does to the contact of its address. */
export type AutocryptContactStep =
  /** no contact yet: added, unverified, with the Autocrypt source */
  | 'add'
  /** the contact already holds this key (or has it pending as its changed key) */
  | 'keep'
  /** the contact's key came from Autocrypt itself and was never verified: the younger key replaces it, as the spec says */
  | 'replace'
  /** a key verified in person, or pinned from a directory, WKD or an import: kept; the new one is the changed-key alarm */
  | 'change'
  /** gossip never overrides a key learnt another way, nor anything while a change is pending */
  | 'ignore';

/**
 * docs/gateway.md §4.5.1: the peer state follows the spec; the contact follows it only
 * where Autocrypt is the best source we have. `kind` is `header` for the sender's own
 * `Autocrypt` field, `gossip` for `Autocrypt-Gossip` (someone else's word about a
 * recipient, lower still: Autocrypt Level 1 uses it only when no `public_key` is known).
 */
export function autocryptContactStep(
  contact: Pick<Contact, 'fingerprint' | 'verification' | 'source' | 'changedCert'> | undefined,
  fingerprint: string,
  kind: 'header' | 'gossip',
): AutocryptContactStep {
  if (contact === undefined) return 'add';
  if (contact.fingerprint === fingerprint || contact.changedCert?.fingerprint === fingerprint) return 'keep';
  // A pending change is the user's to resolve (docs/vault-contents.md §3.3): nothing moves it meanwhile.
  if (contact.changedCert !== undefined) return 'ignore';
  const lowSource = contact.verification === 'unverified' && AUTOCRYPT_SOURCES.has(contact.source);
  if (kind === 'gossip') return lowSource && contact.source === 'autocrypt-gossip' ? 'replace' : 'ignore';
  return lowSource ? 'replace' : 'change';
}

/** A gossip address is heeded only when the message was addressed to it (step 1). */
export function gossipAddressIsRecipient(address: string, recipients: readonly string[]): boolean {
  const wanted = normaliseAddress(address);
  return recipients.some((recipient) => normaliseAddress(recipient) === wanted);
}
