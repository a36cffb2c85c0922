// docs/api.md §6.2, §7.3: a newer copy of an enrolled key (same fingerprint) is merged into
// the one the directory holds; a cert only grows (RFC 9580 §10.1): a new subkey (the
// post-quantum one of a stick made before it, docs/decisions/post-quantum.md), a renewal's
// bindings, a revocation. A copy that lacks something held (a stick with older software)
// takes nothing away, and a revoked key stays revoked.
import * as openpgp from 'openpgp';

/** The binary cert the directory holds after `incoming` (already checked: same fingerprint, public). */
export async function mergedCert(stored: Uint8Array, incoming: openpgp.Key): Promise<Uint8Array> {
  const held = await openpgp.readKey({ binaryKey: stored as Uint8Array<ArrayBuffer> });
  // A null date: no signature is dropped for its date here (the relay judges no validity;
  // contacts check every signature when they merge the directory's copy, docs/vault-contents.md §3.3).
  return (await held.update(incoming.toPublic(), null as unknown as Date)).toPublic().write();
}
