// docs/gateway.md §3.6: the relay's seal. Every inbound message, readable or
// already encrypted, rests as one OpenPGP message per recipient: the RFC 5322
// bytes as literal data, encrypted (SEIPDv1, no AEAD, so GnuPG 2.2 reads it) to
// the recipient's cert, unsigned.

import * as openpgp from 'openpgp';

export async function sealToRecipient(rawMessage: Uint8Array, recipientCert: Uint8Array): Promise<string> {
  const encryptionKey = await openpgp.readKey({ binaryKey: recipientCert as Uint8Array<ArrayBuffer> });
  return openpgp.encrypt({
    message: await openpgp.createMessage({ binary: rawMessage, format: 'binary' }),
    encryptionKeys: encryptionKey,
    format: 'armored',
    config: { aeadProtect: false },
  });
}
