// Contacts: the certs we know, and how far we trust them (docs/vault-contents.md §3).
import type * as openpgp from 'openpgp';
import type { KeyChange } from '../api/schemas.js';
import { fingerprintNumbers, fingerprintWords } from '../core/fingerprint-words.js';
import { normaliseAddress, type Contact } from '../core/vault-contents.js';
import { CaliopError } from '../errors.js';
import {
  certAddresses,
  certName,
  certStatus,
  checkCertSignatures,
  describeCertUpdate,
  fingerprintOf,
  normaliseFingerprint,
  readCert,
  readCerts,
  type CertStatus,
} from './pgp.js';
import { revocationOf } from './key-lifecycle.js';
import type { StickSession } from './stick-session.js';

export interface ContactImportReport {
  readonly added: string[];
  readonly unchanged: string[];
  /** Addresses whose known cert differs: recorded as a pending change, not applied. */
  readonly changed: string[];
  /** docs/cli.md §6.4: the same key, with new signatures, user ids, subkeys or revocations: merged. */
  readonly updated: { address: string; changes: string[] }[];
  /** docs/cli.md §6.3: the state of each imported cert, by fingerprint. */
  readonly certs: { fingerprint: string; version: number; state: CertStatus['state']; detail: string; addresses: string[] }[];
}

export function findContact(contacts: readonly Contact[], address: string): Contact | undefined {
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
  cert: { fingerprint: string; armoredCert: string; name?: string | undefined; announcedAt?: string | undefined },
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
  existing.changedCert = {
    fingerprint: cert.fingerprint,
    armoredCert: cert.armoredCert,
    seenAt: now.toISOString(),
    source,
    ...(cert.announcedAt !== undefined ? { announcedAt: cert.announcedAt } : {}),
  };
  return 'changed';
}

/**
 * docs/cli.md §3.5, §6.4: every cert is checked (checkCertSignatures) before anything is
 * written; one refused cert refuses the whole import and the vault is not rewritten.
 * A cert with the fingerprint of a known contact is merged into the stored one (openpgp.js
 * `update`, which keeps only signatures that verify) and the changes are reported.
 */
export async function importContacts(session: StickSession, data: Uint8Array, now: Date): Promise<ContactImportReport> {
  const keys = await readCerts(data);
  const checked = [];
  for (const key of keys) checked.push(await checkCertSignatures(key));
  const report: ContactImportReport = { added: [], unchanged: [], changed: [], updated: [], certs: [] };
  const own = session.contents.identity.fingerprint;
  type Outcome = { address: string; fingerprint: string; armoredCert: string; name: string | undefined; changes?: string[] };
  const plan: Outcome[] = [];
  for (const key of checked) {
    const fingerprint = fingerprintOf(key);
    if (fingerprint === own) continue;
    const addresses = certAddresses(key);
    const status = await certStatus(key, now);
    report.certs.push({ fingerprint, version: status.version, state: status.state, detail: status.detail, addresses });
    for (const address of addresses) {
      const known = findContact(session.contents.contacts, address);
      if (known && known.fingerprint === fingerprint) {
        const stored = await readCert(known.armoredCert);
        const merged = await stored.update(key);
        const changes = await describeCertUpdate(stored, merged);
        plan.push({ address, fingerprint, armoredCert: merged.armor(), name: certName(key), changes });
      } else {
        plan.push({ address, fingerprint, armoredCert: key.armor(), name: certName(key) });
      }
    }
  }
  if (plan.length === 0 && report.certs.length === 0 && checked.length > 0 && checked.every((key) => fingerprintOf(key) === own)) {
    throw new CaliopError('bad_input', 'this is your own certificate', { hint: 'import the certificates of the people you write to' });
  }
  if (plan.length === 0) {
    throw new CaliopError('bad_input', 'the certificate carries no user id with an e-mail address', {
      hint: 'a contact is known by its address; import a certificate with a user id such as "Name <addr@example.org>"',
    });
  }
  const writes = plan.filter((outcome) => outcome.changes === undefined || outcome.changes.length > 0);
  for (const outcome of plan) {
    if (outcome.changes === undefined) continue;
    if (outcome.changes.length === 0) report.unchanged.push(outcome.address);
    else report.updated.push({ address: outcome.address, changes: outcome.changes });
  }
  // Nothing new: the vault is not rewritten (a refused or empty import leaves it byte for byte).
  if (writes.length === 0) return report;
  await session.update((draft) => {
    for (const outcome of writes) {
      if (outcome.changes !== undefined) {
        const target = findContact(draft.contacts, outcome.address);
        if (target) target.armoredCert = outcome.armoredCert;
        continue;
      }
      const result = recordCert(draft.contacts, outcome.address, { fingerprint: outcome.fingerprint, armoredCert: outcome.armoredCert, name: outcome.name }, 'imported', now);
      if (result === 'added') report.added.push(outcome.address);
      else if (result === 'changed') report.changed.push(outcome.address);
      else report.unchanged.push(outcome.address);
    }
  });
  return report;
}

/**
 * docs/ui.md §3: words or numbers as typed after hearing them: Unicode form, accents, case,
 * spacing and punctuation between them, and a number's leading zeros do not count (a French
 * keyboard types "tiède" composed, the word list holds it decomposed; "0714" is said "714").
 */
export function spokenTokens(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[\s,.;-]+/)
    .filter(Boolean)
    .map((token) => (/^[0-9]+$/.test(token) ? String(Number(token)) : token))
    .join(' ');
}

/**
 * docs/ui.md §3: the fingerprint whose 8 words (in either language) or 8 numbers are the
 * ones read aloud (as spokenTokens compares them), among the contact's known and new keys.
 */
function fingerprintOfSpoken(contact: Contact, spoken: string): string | undefined {
  const said = spokenTokens(spoken);
  const candidates = [contact.fingerprint, ...(contact.changedCert ? [contact.changedCert.fingerprint] : [])];
  return candidates.find((fingerprint) =>
    [fingerprintWords(fingerprint, 'en'), fingerprintWords(fingerprint, 'fr'), fingerprintNumbers(fingerprint)].some((words) => spokenTokens(words.join(' ')) === said),
  );
}

/**
 * docs/vault-contents.md §3.3: in-person verification moves a contact to "verified".
 * `spoken` is the fingerprint read aloud, or (`by: 'words'`) its 8 words or numbers
 * (docs/cli.md §3.5); a changed key confirmed so replaces the known one.
 */
export async function verifyContact(session: StickSession, address: string, spoken: string, now: Date, by: 'fingerprint' | 'words' = 'fingerprint'): Promise<Contact> {
  const contact = findContact(session.contents.contacts, address);
  if (!contact) throw new CaliopError('unknown_recipient', `${address} is not a contact`);
  const fingerprint = by === 'words' ? fingerprintOfSpoken(contact, spoken) : normaliseFingerprint(spoken);
  if (fingerprint === undefined) {
    throw new CaliopError('contact_key_changed', `the words you read are not those of any key known for ${contact.address}`, {
      hint: 'read the words again with your contact; if they really differ, do not trust this certificate',
    });
  }
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

/**
 * `caliop contacts accept ADDR` (docs/cli.md §3.5): the user takes a contact's changed key
 * without meeting them. It replaces the known one, as "unverified": sending resumes.
 */
export async function acceptContactChange(session: StickSession, address: string, now: Date): Promise<Contact> {
  const contact = findContact(session.contents.contacts, address);
  if (!contact) throw new CaliopError('unknown_recipient', `${address} is not a contact`);
  if (!contact.changedCert) throw new CaliopError('no_key_change', `the key of ${contact.address} has not changed: there is nothing to accept`);
  await session.update((draft) => {
    const target = findContact(draft.contacts, address)!;
    target.fingerprint = target.changedCert!.fingerprint;
    target.armoredCert = target.changedCert!.armoredCert;
    target.source = target.changedCert!.source as Contact['source'];
    delete target.changedCert;
    target.verification = 'unverified';
    delete target.verifiedAt;
    target.addedAt = now.toISOString();
  });
  return findContact(session.contents.contacts, address)!;
}

/**
 * docs/api.md §6.6, §7.1: what the directory's announcement of a key change tells about a
 * known contact whose key it no longer serves: the date, when the announcement names the
 * key we pinned; and that key merged with the previous certificate (its revocation, when
 * its owner made one), checked signature by signature, when that adds anything. The
 * announcement is the relay's word: nothing else is taken from it.
 */
export async function readKeyChangeAnnouncement(known: Contact, keyChange: KeyChange | undefined): Promise<{ announcedAt?: string; oldKeyMerged?: string }> {
  if (!keyChange || normaliseFingerprint(keyChange.previousFingerprint) !== known.fingerprint) return {};
  const [previous] = await readCerts(new TextEncoder().encode(keyChange.previousCert)).catch(() => []);
  const oldKeyMerged = previous ? await mergedDirectoryCert(known, previous) : undefined;
  return { announcedAt: keyChange.changedAt, ...(oldKeyMerged !== undefined ? { oldKeyMerged } : {}) };
}

/** docs/cli.md §3.11: the words of the changed-key refusal, with the directory's date when it announced the change. */
export function keyChangedError(contact: Contact): CaliopError {
  const change = contact.changedCert!;
  const announced = change.announcedAt ? ` (the relay's directory announced a new key on ${change.announcedAt.slice(0, 10)})` : '';
  return new CaliopError(
    'contact_key_changed',
    `the certificate of ${contact.address} has changed${announced}: you know ${contact.fingerprint}, now seen ${change.fingerprint}. Nothing was sent.`,
  );
}

export async function removeContact(session: StickSession, address: string): Promise<void> {
  if (!findContact(session.contents.contacts, address)) throw new CaliopError('unknown_recipient', `${address} is not a contact`);
  const wanted = normaliseAddress(address);
  await session.update((draft) => {
    draft.contacts = draft.contacts.filter((contact) => contact.address !== wanted);
  });
}

/**
 * docs/lost-stick.md §3, docs/ceremony.md §6.6: the directory's newer copy of a known
 * contact's key (the same fingerprint: a renewal or a revocation), checked signature
 * by signature (docs/cli.md §6.4) and merged into the stored one, so that nothing the
 * stick already knew (a revocation above all) is dropped. Returns the merged armor,
 * or undefined when the directory's copy does not verify or adds nothing.
 */
export async function mergedDirectoryCert(known: Contact, incoming: openpgp.PublicKey): Promise<string | undefined> {
  const checked = await checkCertSignatures(incoming).catch(() => undefined);
  if (!checked || fingerprintOf(checked) !== known.fingerprint) return undefined;
  const stored = await readCert(known.armoredCert);
  const merged = await stored.update(checked);
  const armored = merged.armor();
  return armored === known.armoredCert ? undefined : armored;
}

/** docs/lost-stick.md §3: a contact whose key its owner revoked stops encryption, with the reason. */
export async function refuseRevoked(address: string, cert: openpgp.PublicKey): Promise<void> {
  const revocation = await revocationOf(cert);
  if (revocation) {
    throw new CaliopError('contact_key_revoked', `${address} revoked their key on ${revocation.at.slice(0, 10)}: ${revocation.reason}. Nothing was sent.`);
  }
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
  if (contact.changedCert) throw keyChangedError(contact);
  const cert = await readCert(contact.armoredCert);
  await refuseRevoked(contact.address, cert);
  return { contact, cert };
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
