// DANE for SMTP (RFC 7672): which TLSA records of an MX host are usable, and whether the
// certificate chain the MX presented matches one of them. docs/gateway.md §4.8.2.

import { createHash, X509Certificate } from 'node:crypto';

export interface TlsaRecord {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly data: Uint8Array;
}

/**
 * RFC 7672 §3.1: SMTP uses DANE-TA(2) and DANE-EE(3); PKIX-TA(0) and PKIX-EE(1) are
 * unusable (§3.1.3), as are unknown selectors (0 full cert, 1 SPKI) and matching types
 * (0 exact, 1 SHA-256, 2 SHA-512; RFC 6698 §2.1).
 */
export function usableTlsa(records: readonly TlsaRecord[]): TlsaRecord[] {
  return records.filter((record) => (record.usage === 2 || record.usage === 3) && (record.selector === 0 || record.selector === 1) && record.matchingType <= 2);
}

function selected(cert: X509Certificate, selector: number): Buffer {
  // RFC 6698 §2.1.2: 0 the whole certificate (DER), 1 its SubjectPublicKeyInfo (DER).
  return selector === 0 ? cert.raw : cert.publicKey.export({ type: 'spki', format: 'der' });
}

function matches(record: TlsaRecord, cert: X509Certificate): boolean {
  const bytes = selected(cert, record.selector);
  const digest = record.matchingType === 0 ? bytes : createHash(record.matchingType === 1 ? 'sha256' : 'sha512').update(bytes).digest();
  return Buffer.from(record.data).equals(digest);
}

export type DaneVerdict = { readonly ok: true; readonly usage: 2 | 3 } | { readonly ok: false; readonly reason: string };

/**
 * RFC 7672 §3.1.1-§3.1.2: `chain` is the peer's chain as presented, leaf first (DER).
 * DANE-EE(3): the leaf matches, no name or expiry check (§3.1.1). DANE-TA(2): some
 * certificate of the chain matches, the leaf chains up to it by signatures, and the
 * leaf names one of `names` (the MX host, §3.2.2).
 */
export function verifyDane(records: readonly TlsaRecord[], chain: readonly Uint8Array[], names: readonly string[]): DaneVerdict {
  const usable = usableTlsa(records);
  if (usable.length === 0) return { ok: false, reason: 'no usable TLSA record' };
  let certs: X509Certificate[];
  try {
    certs = chain.map((der) => new X509Certificate(der));
  } catch {
    return { ok: false, reason: 'the server sent a certificate that does not parse' };
  }
  const leaf = certs[0];
  if (leaf === undefined) return { ok: false, reason: 'the server sent no certificate' };
  if (usable.some((record) => record.usage === 3 && matches(record, leaf))) return { ok: true, usage: 3 };
  for (const record of usable.filter((each) => each.usage === 2)) {
    const anchorAt = certs.findIndex((cert) => matches(record, cert));
    if (anchorAt < 0) continue;
    let signed = true;
    for (let at = 0; at < anchorAt; at += 1) {
      const child = certs[at] as X509Certificate;
      const parent = certs[at + 1] as X509Certificate;
      if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) signed = false;
    }
    if (!signed) continue;
    if (!names.some((name) => leaf.checkHost(name, { wildcards: true, singleLabelSubdomains: false }) !== undefined)) continue;
    const now = Date.now();
    if (Date.parse(leaf.validTo) < now || Date.parse(leaf.validFrom) > now) continue;
    return { ok: true, usage: 2 };
  }
  return { ok: false, reason: 'no TLSA record matches the certificate presented' };
}
