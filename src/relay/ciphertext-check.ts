// docs/api.md §8.2: the relay stores internal mail only as the ciphertext the sender
// made, so it refuses anything that is not an encrypted OpenPGP message: session
// key packets followed by one integrity-protected encrypted data packet.

import * as openpgp from 'openpgp';

const SESSION_KEY_PACKETS = new Set<number>([openpgp.enums.packet.publicKeyEncryptedSessionKey, openpgp.enums.packet.symEncryptedSessionKey]);
const ENCRYPTED_DATA_PACKETS = new Set<number>([openpgp.enums.packet.symEncryptedIntegrityProtectedData, openpgp.enums.packet.aeadEncryptedData]);

export async function isEncryptedOpenPgpMessage(armoredMessage: string): Promise<boolean> {
  let message: openpgp.Message<Uint8Array>;
  try {
    message = await openpgp.readMessage({ armoredMessage });
  } catch {
    return false;
  }
  const tags = Array.from(message.packets, (packet) => (packet.constructor as unknown as { tag: number }).tag);
  const last = tags.at(-1);
  return (
    tags.length >= 2 &&
    last !== undefined &&
    ENCRYPTED_DATA_PACKETS.has(last) &&
    tags.slice(0, -1).every((tag) => SESSION_KEY_PACKETS.has(tag))
  );
}
