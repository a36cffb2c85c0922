// How exposed a message will be, per recipient, before it is sent (docs/exposure.md
// §2.3). The CLI prints it before sending; the UI's compose screen shows it live.
import { assessOutgoing, type ExposureAssessment, type RecipientFacts } from '../core/exposure.js';
import { hasPostQuantumSubkey } from '../core/outsider-cert.js';
import { normaliseAddress, type Contact } from '../core/vault-contents.js';
import type { StickSession } from './stick-session.js';

export interface SendAssessment {
  readonly message: ExposureAssessment;
  readonly perRecipient: readonly { readonly address: string; readonly assessment: ExposureAssessment }[];
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

function keyStateOf(contact: Pick<Contact, 'verification' | 'changedCert'>): 'verified-in-person' | 'tofu' | 'changed' {
  if (contact.changedCert) return 'changed';
  return contact.verification === 'verified' ? 'verified-in-person' : 'tofu';
}

/** docs/exposure.md §2.3: where an outside recipient's key was found, as the reason names it. */
function certSource(source: Contact['source']): 'contacts' | 'wkd' | 'autocrypt' | 'autocrypt-gossip' {
  return source === 'wkd' || source === 'autocrypt' || source === 'autocrypt-gossip' ? source : 'contacts';
}

/**
 * docs/exposure.md §2.3: an address of our relay's domain is internal (end to end
 * through the relay); any other is outside Caliop, PGP/MIME with a cert, readable without.
 */
export function recipientFacts(
  ownAddress: string,
  address: string,
  contact: Pick<Contact, 'verification' | 'changedCert' | 'source'> | undefined,
  known: {
    /** docs/exposure.md §2.3: the relay answered that the domain's policy guarantees TLS (docs/api.md §8.11); false when not asked. */
    readonly tlsGuaranteed?: boolean;
    /** docs/decisions/post-quantum.md: an internal message will be encrypted to the post-quantum subkeys. */
    readonly postQuantum?: boolean;
  } = {},
): RecipientFacts {
  const { tlsGuaranteed = false, postQuantum = false } = known;
  const normalised = normaliseAddress(address);
  if (domainOf(normalised) === domainOf(ownAddress)) {
    // docs/decisions/post-quantum.md: said when the message will be encrypted to the post-quantum subkeys.
    return { address: normalised, kind: 'internal', keyState: contact ? keyStateOf(contact) : 'tofu', ...(postQuantum ? { postQuantum } : {}) };
  }
  return {
    address: normalised,
    kind: 'external',
    cert: contact ? { source: certSource(contact.source), keyState: keyStateOf(contact) } : null,
    tlsGuaranteed: contact ? false : tlsGuaranteed,
  };
}

export function assessRecipientFacts(facts: readonly RecipientFacts[]): SendAssessment {
  return assessOutgoing(facts);
}

/**
 * The live preview from the vault's contacts alone (an internal address not yet
 * pinned counts as trusted on first use: the relay's directory will give its cert).
 * Writes nothing and needs no network.
 */
export function assessRecipients(session: StickSession, addresses: readonly string[]): SendAssessment {
  const own = session.contents.identity.email;
  const contactOf = (address: string) => session.contents.contacts.find((candidate) => candidate.address === normaliseAddress(address));
  // docs/decisions/post-quantum.md: post-quantum when every internal recipient's pinned cert carries the subkey
  // (ours always does: it is derived with it). `sendMessage` decides again on the certs it resolved.
  const internal = addresses.filter((address) => domainOf(address) === domainOf(own));
  const postQuantum = internal.length > 0 && internal.every((address) => {
    const contact = contactOf(address);
    const bytes = contact === undefined ? undefined : armoredCertBytes(contact.armoredCert);
    return normaliseAddress(address) === normaliseAddress(own) || (bytes !== undefined && hasPostQuantumSubkey(bytes));
  });
  return assessRecipientFacts(addresses.map((address) => recipientFacts(own, address, contactOf(address), { postQuantum })));
}

/** RFC 9580 §6.2: the base64 body of an armored cert, without its headers and checksum; undefined when it is not one. */
function armoredCertBytes(armored: string): Uint8Array | undefined {
  const lines = armored.split(/\r?\n/).map((line) => line.trim());
  const begin = lines.findIndex((line) => line.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----'));
  const end = lines.findIndex((line) => line.startsWith('-----END PGP PUBLIC KEY BLOCK-----'));
  if (begin < 0 || end < begin) return undefined;
  const blank = lines.indexOf('', begin);
  const body = lines.slice(blank < 0 || blank > end ? begin + 1 : blank + 1, end).filter((line) => !line.startsWith('='));
  try {
    return Uint8Array.from(Buffer.from(body.join(''), 'base64'));
  } catch {
    return undefined;
  }
}

/**
 * The recipients for whom the message would leave Caliop readable (cleartext or
 * readable by the servers on the way): `caliop send` needs --allow-exposed for them.
 */
export function exposedRecipients(assessment: SendAssessment): string[] {
  return assessment.perRecipient
    .filter(({ assessment: each }) => each.level === 'tls-only' || each.level === 'cleartext')
    .map(({ address }) => address);
}
