// Contacts: the certs we know, and how far we trust them (docs/vault-contents.md §3).
import type * as openpgp from 'openpgp';
import { normaliseAddress, type Contact } from '../core/vault-contents.js';
import { CaliopError } from '../errors.js';
import { certAddresses, certName, fingerprintOf, normaliseFingerprint, readCert, readCerts } from './pgp.js';
import type { StickSession } from './stick-session.js';

export interface ContactImportReport {
  readonly added: string[];
  readonly unchanged: string[];
  /** Addresses whose known cert differs: recorded as a pending change, not applied. */
  readonly changed: string[];
}

function findContact(contacts: readonly Contact[], address: string): Contact | undefined {
  const wanted = normaliseAddress(address);
  return contacts.find((contact) => contact.address === wanted);
}

/**
 * Records a cert seen for an address (docs/vault-contents.md §3.1-§3.2): a new
 * address is added as unverified; the same fingerprint changes nothing; a
 * different one is kept aside as `changedCert` and never replaces the known one.
 */
export function recordCert(
  draft: Contact[],
  address: string,
  cert: { fingerprint: string; armoredCert: string; name?: string | undefined },
  source: Contact['source'],
  now: Date,
): 'added' | 'unchanged' | 'changed' {
  const existing = findContact(draft, address);
  if (!existing) {
    draft.push({
      address: normaliseAddress(address),
      ...(cert.name ? { name: cert.name } : {}),
      fingerprint: cert.fingerprint,
      armoredCert: cert.armoredCert,
      verification: 'unverified',
      source,
      addedAt: now.toISOString(),
    });
    return 'added';
  }
  if (existing.fingerprint === cert.fingerprint) {
    existing.armoredCert = cert.armoredCert; // may carry new signatures or subkeys
    return 'unchanged';
  }
  existing.changedCert = { fingerprint: cert.fingerprint, armoredCert: cert.armoredCert, seenAt: now.toISOString(), source };
  return 'changed';
}

export async function importContacts(session: StickSession, data: Uint8Array, now: Date): Promise<ContactImportReport> {
  const keys = await readCerts(data);
  const report = { added: [] as string[], unchanged: [] as string[], changed: [] as string[] };
  const own = session.contents.identity.fingerprint;
  await session.update((draft) => {
    for (const key of keys) {
      const fingerprint = fingerprintOf(key);
      if (fingerprint === own) continue;
      const armoredCert = key.toPublic().armor();
      for (const address of certAddresses(key)) {
        const outcome = recordCert(draft.contacts, address, { fingerprint, armoredCert, name: certName(key) }, 'imported', now);
        report[outcome].push(address);
      }
    }
  });
  if (report.added.length + report.unchanged.length + report.changed.length === 0) {
    throw new CaliopError('bad_input', 'the certificate carries no user id with an e-mail address', {
      hint: 'a contact is known by its address; import a certificate with a user id such as "Name <addr@example.org>"',
    });
  }
  return report;
}

/** docs/vault-contents.md §3.3: in-person verification moves a contact to "verified". */
export async function verifyContact(session: StickSession, address: string, fingerprintText: string, now: Date): Promise<Contact> {
  const fingerprint = normaliseFingerprint(fingerprintText);
  const contact = findContact(session.contents.contacts, address);
  if (!contact) throw new CaliopError('unknown_recipient', `${address} is not a contact`);
  if (fingerprint !== contact.fingerprint && fingerprint !== contact.changedCert?.fingerprint) {
    throw new CaliopError('contact_key_changed', `the fingerprint you read (${fingerprint}) is not the one known for ${contact.address} (${contact.fingerprint})`, {
      hint: 'read the fingerprint again with your contact; if it really differs, do not trust this certificate',
    });
  }
  await session.update((draft) => {
    const target = findContact(draft.contacts, address)!;
    if (target.changedCert && target.changedCert.fingerprint === fingerprint) {
      // The user confirmed the new key in person: it replaces the old one.
      target.fingerprint = target.changedCert.fingerprint;
      target.armoredCert = target.changedCert.armoredCert;
    }
    delete target.changedCert;
    target.verification = 'verified';
    target.verifiedAt = now.toISOString();
  });
  return findContact(session.contents.contacts, address)!;
}

export async function removeContact(session: StickSession, address: string): Promise<void> {
  if (!findContact(session.contents.contacts, address)) throw new CaliopError('unknown_recipient', `${address} is not a contact`);
  const wanted = normaliseAddress(address);
  await session.update((draft) => {
    draft.contacts = draft.contacts.filter((contact) => contact.address !== wanted);
  });
}

/**
 * The cert to encrypt to, by address or fingerprint. A contact with a pending
 * changed cert stops encryption (docs/vault-contents.md §3.2).
 */
export async function recipientCert(session: StickSession, addressOrFingerprint: string): Promise<{ contact: Contact | undefined; cert: openpgp.PublicKey }> {
  const identity = await session.identity();
  const wantedFingerprint = normaliseFingerprint(addressOrFingerprint);
  const wantedAddress = normaliseAddress(addressOrFingerprint);
  if (wantedFingerprint === identity.fingerprint || wantedAddress === session.contents.identity.email.toLowerCase()) {
    return { contact: undefined, cert: identity.publicKey };
  }
  const contact =
    session.contents.contacts.find((candidate) => candidate.fingerprint === wantedFingerprint) ?? findContact(session.contents.contacts, wantedAddress);
  if (!contact) throw new CaliopError('unknown_recipient', `no certificate is known for ${addressOrFingerprint}`);
  if (contact.changedCert) {
    throw new CaliopError(
      'contact_key_changed',
      `the certificate of ${contact.address} has changed: known ${contact.fingerprint}, now ${contact.changedCert.fingerprint}`,
    );
  }
  return { contact, cert: await readCert(contact.armoredCert) };
}

/** Every cert a signature may come from: ours and our contacts'. */
export async function verificationCerts(session: StickSession): Promise<openpgp.PublicKey[]> {
  const identity = await session.identity();
  const certs = await Promise.all(session.contents.contacts.map((contact) => readCert(contact.armoredCert)));
  return [identity.publicKey, ...certs];
}

export function contactByFingerprint(session: StickSession, fingerprint: string | undefined): Contact | undefined {
  return fingerprint === undefined ? undefined : session.contents.contacts.find((contact) => contact.fingerprint === fingerprint);
}
