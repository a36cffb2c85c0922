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
      .prepare('SELECT messages.id AS id, messages.armored_message AS armored, messages.chunks AS chunks FROM mailbox JOIN messages ON messages.id = mailbox.message_id WHERE mailbox.recipient = ?')
      .all(recipient) as { id: string; armored: string; chunks: number }[];
    // A streamed submission's ciphertext is in message_chunks (docs/api.md §8.2.1); the classic one goes inline.
    const chunks = db.prepare('SELECT bytes FROM message_chunks WHERE message_id = ? ORDER BY seq').pluck();
    const update = db.prepare('UPDATE messages SET armored_message = ?, size = ?, chunks = 0 WHERE id = ?');
    const dropChunks = db.prepare('DELETE FROM message_chunks WHERE message_id = ?');
    const recipients = [recipientKey.toPublic(), sender.publicKey];
    for (const row of rows) {
      const armored = row.chunks > 0 ? Buffer.concat(chunks.all(row.id) as Buffer[]) : new TextEncoder().encode(row.armored);
      const opened = await decryptData(armored, recipientKey, []);
      const classic = new TextDecoder().decode(await encryptData({ data: opened.data, recipients, signingKey: sender.privateKey, armor: true, postQuantum: false }));
      update.run(classic, Buffer.byteLength(classic, 'utf8'), row.id);
      dropChunks.run(row.id);
    }
    return rows.length;
  } finally {
    db.close();
  }
}
