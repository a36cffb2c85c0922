// docs/ceremony.md §6.6: a stick learns a renewal of its own key made on another stick of
// the account (or before it was rebuilt from the recovery sheet) from the relay's directory.
// The renewal's bindings are deterministic from the seed and the renewal date; only the
// date comes from the directory, and the stick adopts it only when its own derivation with
// that date gives, byte for byte, the bindings the directory serves (the relay is not trusted).
import type * as openpgp from 'openpgp';
import { deriveIdentity } from '../core/key-derivation.js';
import { readCerts } from './pgp.js';
import { hexToBytes, type StickSession } from './stick-session.js';

const utf8 = new TextEncoder();

const bytesEqual = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((byte, index) => byte === b[index]);

function bindingBytes(key: openpgp.PublicKey | openpgp.PrivateKey, created: number): Uint8Array[] {
  return key.subkeys.flatMap((subkey) => subkey.bindingSignatures.filter((signature) => signature.created?.getTime() === created).map((signature) => signature.write()));
}

/**
 * Adopts the latest renewal in `armoredCert` (the directory's copy of this stick's own
 * key) when it is later than the one the vault records and this stick derives it exactly.
 * Returns the renewal date adopted, or undefined (nothing newer, another key, or bindings
 * the seed does not make).
 */
export async function adoptPublishedRenewal(session: StickSession, armoredCert: string): Promise<string | undefined> {
  const record = session.contents.identity;
  const [published] = await readCerts(utf8.encode(armoredCert)).catch(() => []);
  if (!published || published.getFingerprint().toUpperCase() !== record.fingerprint) return undefined;
  const known = new Date(record.renewedAt ?? record.creationDate).getTime();
  const dates = published.subkeys.flatMap((subkey) => subkey.bindingSignatures.map((signature) => signature.created?.getTime() ?? 0));
  const latest = Math.max(0, ...dates);
  if (latest <= known) return undefined;
  let derived;
  try {
    derived = await deriveIdentity({
      seed: hexToBytes(record.seedHex),
      name: record.name,
      email: record.email,
      creationDate: new Date(record.creationDate),
      renewedAt: new Date(latest),
    });
  } catch {
    return undefined; // not a date a renewal can have (docs/ceremony.md §6.6)
  }
  const ours = bindingBytes(derived.publicKey, latest);
  const theirs = bindingBytes(published, latest);
  if (ours.length !== derived.publicKey.subkeys.length || !ours.every((mine) => theirs.some((served) => bytesEqual(mine, served)))) return undefined;
  const renewedAt = new Date(latest).toISOString();
  await session.update((draft) => {
    draft.identity.renewedAt = renewedAt;
    delete draft.identity.renewalRemindedAt;
  });
  return renewedAt;
}
