// The relay's state on top of SQLite: accounts, mailboxes, nonces, used invites.
// Every method is one small transaction; callers never see SQL.

import type { ArrivalFacts } from '../../api/facts.js';
import type { Statement } from 'better-sqlite3';
import type { RelayDatabase } from './database.js';

export interface Account {
  readonly address: string;
  readonly localPart: string;
  readonly cert: Uint8Array;
  readonly certFingerprint: string;
  readonly devicePublicKey: Uint8Array;
  readonly enrolledAt: string;
}

export interface StoredMessage {
  /** The mailbox entry id (what the recipient sees). */
  readonly id: string;
  readonly cursor: string;
  readonly from: string;
  readonly to: string[];
  readonly size: number;
  readonly facts: ArrivalFacts;
}

interface AccountRow {
  address: string;
  local_part: string;
  cert: Buffer;
  cert_fingerprint: string;
  device_public_key: Buffer;
  enrolled_at: string;
}

interface MailboxRow {
  seq: number;
  id: string;
  sender: string;
  recipients: string;
  size: number;
  facts: string;
}

function toAccount(row: AccountRow): Account {
  return {
    address: row.address,
    localPart: row.local_part,
    cert: new Uint8Array(row.cert),
    certFingerprint: row.cert_fingerprint,
    devicePublicKey: new Uint8Array(row.device_public_key),
    enrolledAt: row.enrolled_at,
  };
}

function toStoredMessage(row: MailboxRow): StoredMessage {
  return {
    id: row.id,
    cursor: String(row.seq),
    from: row.sender,
    to: JSON.parse(row.recipients) as string[],
    size: row.size,
    facts: JSON.parse(row.facts) as ArrivalFacts,
  };
}

export type NewAccountResult = 'created' | 'address_taken' | 'device_taken' | 'invite_used';

/** How long deleted ciphertext may stay in the WAL before a checkpoint erases it. */
export const ERASE_DELAY_MS = 1000;

export class RelayStore {
  readonly #db: RelayDatabase;
  readonly #statements = new Map<string, Statement>();
  #eraseTimer: NodeJS.Timeout | undefined;

  /** Prepared once, reused (preparing was a tenth of the relay's CPU time in the bench). */
  #sql(source: string): Statement {
    let statement = this.#statements.get(source);
    if (statement === undefined) {
      statement = this.#db.prepare(source);
      this.#statements.set(source, statement);
    }
    return statement;
  }

  constructor(db: RelayDatabase) {
    this.#db = db;
  }

  close(): void {
    if (this.#eraseTimer !== undefined) {
      clearTimeout(this.#eraseTimer);
      this.#eraseTimer = undefined;
      if (this.#db.open) this.#db.pragma('wal_checkpoint(TRUNCATE)');
    }
    this.#db.close();
  }

  /** Runs `transaction` with an fsync at its commit (synchronous = FULL), for writes that must survive a power cut. */
  #durably<T>(transaction: () => T): T {
    this.#db.pragma('synchronous = FULL');
    try {
      return this.#db.transaction(transaction)();
    } finally {
      this.#db.pragma('synchronous = NORMAL');
    }
  }

  /**
   * secure_delete zeroes freed pages in the database, but older copies of those pages
   * stay in the WAL until a checkpoint. Within ERASE_DELAY_MS of a deletion, write
   * the WAL back and truncate it (one checkpoint for many deletions).
   */
  #scheduleErase(): void {
    if (this.#eraseTimer !== undefined) return;
    this.#eraseTimer = setTimeout(() => {
      this.#eraseTimer = undefined;
      if (this.#db.open) this.#db.pragma('wal_checkpoint(TRUNCATE)');
    }, ERASE_DELAY_MS);
    this.#eraseTimer.unref();
  }

  accountByDevice(devicePublicKey: Uint8Array): Account | undefined {
    const row = this.#sql('SELECT * FROM accounts WHERE device_public_key = ?').get(devicePublicKey) as AccountRow | undefined;
    return row && toAccount(row);
  }

  accountByAddress(address: string): Account | undefined {
    const row = this.#sql('SELECT * FROM accounts WHERE address = ?').get(address) as AccountRow | undefined;
    return row && toAccount(row);
  }

  accountsByWkdHash(hash: string): Account[] {
    return (this.#sql('SELECT * FROM accounts WHERE wkd_hash = ? ORDER BY address').all(hash) as AccountRow[]).map(toAccount);
  }

  /** The addresses in `addresses` that have no account. */
  unknownAddresses(addresses: readonly string[]): string[] {
    const exists = this.#sql('SELECT 1 FROM accounts WHERE address = ?');
    return addresses.filter((address) => exists.get(address) === undefined);
  }

  /** Creates an account, consuming the invite token (by its SHA-256) in the same transaction. */
  createAccount(account: Account & { wkdHash: string }, inviteTokenSha256: string | null): NewAccountResult {
    return this.#durably((): NewAccountResult => {
      if (this.accountByAddress(account.address)) return 'address_taken';
      if (this.accountByDevice(account.devicePublicKey)) return 'device_taken';
      if (inviteTokenSha256 !== null) {
        const used = this.#sql('SELECT 1 FROM used_invites WHERE token_sha256 = ?').get(inviteTokenSha256);
        if (used !== undefined) return 'invite_used';
        this.#db
          .prepare('INSERT INTO used_invites (token_sha256, address, used_at) VALUES (?, ?, ?)')
          .run(inviteTokenSha256, account.address, account.enrolledAt);
      }
      this.#db
        .prepare(
          'INSERT INTO accounts (address, local_part, wkd_hash, cert, cert_fingerprint, device_public_key, enrolled_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          account.address,
          account.localPart,
          account.wkdHash,
          account.cert,
          account.certFingerprint,
          account.devicePublicKey,
          account.enrolledAt,
        );
      return 'created';
    });
  }

  isInviteUsed(tokenSha256: string): boolean {
    return this.#sql('SELECT 1 FROM used_invites WHERE token_sha256 = ?').get(tokenSha256) !== undefined;
  }

  /**
   * docs/api.md §4.3 step 6: records a nonce until `expiresAt` (Unix seconds).
   * Returns false when this device already used it (a replay). Expired nonces
   * are purged on the way. Not fsynced (docs/decisions/relay.md): a power cut may
   * forget the nonces of the last moments, whose requests were TLS-protected.
   */
  rememberNonce(devicePublicKey: Uint8Array, nonce: string, expiresAt: number, nowSeconds: number): boolean {
    return this.#db.transaction(() => {
      this.#sql('DELETE FROM nonces WHERE expires_at < ?').run(nowSeconds);
      const result = this.#db
        .prepare('INSERT OR IGNORE INTO nonces (device_public_key, nonce, expires_at) VALUES (?, ?, ?)')
        .run(devicePublicKey, nonce, expiresAt);
      return result.changes === 1;
    })();
  }

  /** Stores one submission and one mailbox entry per recipient (entryIds in the same order). */
  storeMessage(message: {
    id: string;
    sender: string;
    recipients: readonly string[];
    size: number;
    facts: ArrivalFacts;
    armoredMessage: string;
    entryIds: readonly string[];
  }): void {
    this.#durably(() => {
      this.#db
        .prepare('INSERT INTO messages (id, sender, recipients, size, facts, armored_message) VALUES (?, ?, ?, ?, ?, ?)')
        .run(message.id, message.sender, JSON.stringify(message.recipients), message.size, JSON.stringify(message.facts), message.armoredMessage);
      const insert = this.#sql('INSERT INTO mailbox (id, recipient, message_id) VALUES (?, ?, ?)');
      message.recipients.forEach((recipient, index) => insert.run(message.entryIds[index], recipient, message.id));
    });
  }

  /** Several messages in one durable transaction (docs/gateway.md §3.2: one sealed copy per SMTP recipient). */
  storeMessages(messages: readonly Parameters<RelayStore['storeMessage']>[0][]): void {
    this.#durably(() => {
      for (const message of messages) {
        this.#sql('INSERT INTO messages (id, sender, recipients, size, facts, armored_message) VALUES (?, ?, ?, ?, ?, ?)').run(
          message.id,
          message.sender,
          JSON.stringify(message.recipients),
          message.size,
          JSON.stringify(message.facts),
          message.armoredMessage,
        );
        const insert = this.#sql('INSERT INTO mailbox (id, recipient, message_id) VALUES (?, ?, ?)');
        message.recipients.forEach((recipient, index) => insert.run(message.entryIds[index], recipient, message.id));
      }
    });
  }

  /** Up to `limit` entries of `recipient`'s mailbox with a cursor after `after`, oldest first. */
  listMailbox(recipient: string, after: number, limit: number): StoredMessage[] {
    const rows = this.#db
      .prepare(
        `SELECT mailbox.seq, mailbox.id, messages.sender, messages.recipients, messages.size, messages.facts
         FROM mailbox JOIN messages ON messages.id = mailbox.message_id
         WHERE mailbox.recipient = ? AND mailbox.seq > ? ORDER BY mailbox.seq LIMIT ?`,
      )
      .all(recipient, after, limit) as MailboxRow[];
    return rows.map(toStoredMessage);
  }

  /** One entry of `recipient`'s mailbox, with its ciphertext; undefined when it is not theirs or not there. */
  mailboxEntry(recipient: string, id: string): (StoredMessage & { armoredMessage: string }) | undefined {
    const row = this.#db
      .prepare(
        `SELECT mailbox.seq, mailbox.id, messages.sender, messages.recipients, messages.size, messages.facts, messages.armored_message
         FROM mailbox JOIN messages ON messages.id = mailbox.message_id
         WHERE mailbox.recipient = ? AND mailbox.id = ?`,
      )
      .get(recipient, id) as (MailboxRow & { armored_message: string }) | undefined;
    return row && { ...toStoredMessage(row), armoredMessage: row.armored_message };
  }

  /** Deletes one entry of `recipient`'s mailbox, and the ciphertext when no mailbox holds it any more. */
  deleteMailboxEntry(recipient: string, id: string): boolean {
    // Not fsynced on its own: a deletion undone by a power cut only re-delivers a
    // message the stick already holds (it keeps mailbox ids); the erase checkpoint
    // below makes it durable within ERASE_DELAY_MS anyway.
    const outcome = this.#db.transaction((): 'missing' | 'kept' | 'erased' => {
      const row = this.#sql('SELECT message_id FROM mailbox WHERE recipient = ? AND id = ?').get(recipient, id) as
        | { message_id: string }
        | undefined;
      if (!row) return 'missing';
      this.#sql('DELETE FROM mailbox WHERE recipient = ? AND id = ?').run(recipient, id);
      const remaining = this.#sql('SELECT 1 FROM mailbox WHERE message_id = ? LIMIT 1').get(row.message_id);
      if (remaining !== undefined) return 'kept';
      this.#sql('DELETE FROM messages WHERE id = ?').run(row.message_id);
      return 'erased';
    })();
    if (outcome === 'erased') this.#scheduleErase();
    return outcome !== 'missing';
  }
}
