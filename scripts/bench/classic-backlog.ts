// The sync bench's backlog made readable by the peer (issue 13, "gpg --decrypt-files on the
// same 1,000 ciphertexts"). Between two Caliop sticks a message is post-quantum
// (ML-KEM-768+X25519, docs/decisions/post-quantum.md), which gpg 2.2 cannot read; so each
// message waiting in the relay is opened with the recipient's key and sealed again, same
// payload, same signer, to the classic Cv25519 subkeys: what a stick made before the
// post-quantum subkey, or any OpenPGP sender, would have sent. The relay must be stopped.
import Database from 'better-sqlite3';
import type * as openpgp from 'openpgp';
import { decryptData, encryptData } from '../../src/service/pgp.js';

/** Rewrites every message of `recipient`'s mailbox in the relay's SQLite file; returns how many. */
export async function makeBacklogClassic(
  relaySqlite: string,
  recipient: string,
  recipientKey: openpgp.PrivateKey,
  sender: { readonly privateKey: openpgp.PrivateKey; readonly publicKey: openpgp.PublicKey },
): Promise<number> {
  const db = new Database(relaySqlite);
  try {
    const rows = db
      .prepare('SELECT messages.id AS id, messages.armored_message AS armored FROM mailbox JOIN messages ON messages.id = mailbox.message_id WHERE mailbox.recipient = ?')
      .all(recipient) as { id: string; armored: string }[];
    const update = db.prepare('UPDATE messages SET armored_message = ?, size = ? WHERE id = ?');
    const recipients = [recipientKey.toPublic(), sender.publicKey];
    for (const row of rows) {
      const opened = await decryptData(new TextEncoder().encode(row.armored), recipientKey, []);
      const classic = new TextDecoder().decode(await encryptData({ data: opened.data, recipients, signingKey: sender.privateKey, armor: true, postQuantum: false }));
      update.run(classic, Buffer.byteLength(classic, 'utf8'), row.id);
    }
    return rows.length;
  } finally {
    db.close();
  }
}
