// The relay's state on SQLite (the default: one relay process, one file).
// Reads run directly; writes go through a group commit (group-commit.ts): the writes
// of concurrent requests share one transaction and one fsync, done off the event loop
// (wal-sync.ts). docs/decisions/relay-store.md.

import type { TlsSession, TlsSessionCount } from '../gateway/tls-rpt.js';
import { INSERT_TLS_POST, tlsPostValues, tlsSessionKey, toTlsReportPost, toTlsSessionCount, type TlsPostRow, type TlsSessionRow } from './rows.js';
import type { Statement } from 'better-sqlite3';
import { openRelayDatabase, type RelayDatabase } from './database.js';
import { GroupCommit } from './group-commit.js';
import type { ArrivalFacts } from '../../api/facts.js';
import { sessionsToEnd } from '../../api/relay-session.js';
import { CIPHERTEXT_SLICE_BYTES, DEVICE_COLUMNS, lastWithin, toSession, toHeldSession, type SessionRow, toAccount, toDevice, toHeldMessages, withoutIps, toQueuedOutbound, type QueuedRow, toStoredMessage, toSubmission, type AccountRow, type DeviceRow, type HeldRow, type MailboxRow, type SubmissionRow } from './rows.js';
import type { Account, AuthOutcome, AuthStep, SessionRecord, HeldSession, Device, DisclosureLogRow, HeldMessage, KeyChange, KeyChangePermit, KeyChangeResult, MailboxPageRows, NewAccountResult, NewDeviceResult, NewMessage, OutboundReport, PendingNonce, QueuedOutbound, RelayStore, RevokeDeviceResult, StoredMessage, SubmissionRecord, TlsReportPost } from './relay-store.js';
import { ERASE_DELAY_MS, FIRST_DEVICE_NAME, nonceWanted, SUBMISSION_RETENTION_S } from './relay-store.js';
import { isDiskFull } from './disk-full.js';
import { TIMESTAMP_WINDOW_SECONDS } from '../../api/request-signing.js';
import { DeleteReserve } from './delete-reserve.js';
import { WalEraser } from './wal-eraser.js';
import { WalSync } from './wal-sync.js';

/** The columns that say where a message's ciphertext is (docs/api.md §8.2.1). */
interface ChunkedRow {
  message_id: string;
  chunks: number;
  armored_message: string;
}

/** Expired nonces are purged at most this often (a replay of an expired one fails the timestamp check anyway). */
const NONCE_PURGE_INTERVAL_S = 30;
/**
 * A nonce expires at most this long after it was written: its timestamp is within
 * TIMESTAMP_WINDOW_SECONDS of the relay's clock and it expires that long after its
 * timestamp (docs/api.md §4.3). Rows of the nonce log older than this are all expired.
 */
const NONCE_LIFETIME_MAX_S = 2 * TIMESTAMP_WINDOW_SECONDS;

/** A statement that writes the devices or accounts table: preparing one for a run empties the auth cache. */
const WRITES_AUTH_ROWS = /^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+(?:devices|accounts|sessions)\b/i;
/**
 * A write of one device's own bookkeeping, that device named by its key: its acknowledged
 * cursor (docs/api.md §8.9) or when it was last seen. It changes that device's row only, and
 * no account, session or address: it ends that one device's cached rows (`#sql`'s `device`),
 * not every device's (docs/decisions/relay-store.md, "Auth cache").
 */
const WRITES_ONE_DEVICE = /^\s*UPDATE\s+devices\s+SET\s+(?:acked_seq|last_seen_at)\s*=[^;]*\sWHERE\s+device_public_key\s*=\s*\?/i;
/** The auth cache holds at most this many devices; past it, it starts again empty. */
const AUTH_CACHE_MAX = 10_000;

/**
 * A LIMIT given as a bound parameter, in the form SQLite does not plan by: `LIMIT ?` alone
 * makes SQLite (3.53, computeLimitRegisters) read the value bound when it plans and mark
 * the statement to be planned again whenever that parameter is bound, and better-sqlite3
 * binds it at every run, so a `LIMIT ?` statement was parsed and planned again on every
 * run: the list route's read cost 20 us of CPU instead of 7 (issue 14,
 * docs/decisions/relay-store.md "Prepared once"). The CAST is the same integer, read at run time.
 */
const BOUND_LIMIT = 'LIMIT CAST(? AS INTEGER)';


/** A device key (32 bytes) as a string, latin1: the key of its rows in the auth cache. */
function authCacheKey(devicePublicKey: Uint8Array): string {
  return Buffer.from(devicePublicKey.buffer, devicePublicKey.byteOffset, devicePublicKey.byteLength).toString('latin1');
}

/** A nonce's key in memory: the device key (32 bytes, as latin1) then the nonce. */
function memoryNonceKey(devicePublicKey: Uint8Array, nonce: string): string {
  return authCacheKey(devicePublicKey) + nonce;
}

export class SqliteRelayStore implements RelayStore {
  readonly kind = 'sqlite';
  readonly #db: RelayDatabase;
  /** Prepared statements by source, each with whether it writes devices or accounts (WRITES_AUTH_ROWS). */
  readonly #statements = new Map<string, { statement: Statement; writesAuthRows: boolean; writesOneDevice: boolean }>();
  readonly #writes: GroupCommit<RelayDatabase>;
  readonly #eraser: WalEraser | null;
  readonly #walSync: WalSync | null;
  readonly #reserve: DeleteReserve | null;
  /**
   * docs/decisions/relay-store.md "Replay nonces on SQLite": every nonce of the window, the
   * one place a request's nonce is checked (SQLite has one relay process); key (device key,
   * nonce) → expiry, in the order written. Each is also appended to the nonce log
   * before its request is answered, which a restart reads back (#loadNonces). On a full disk
   * (docs/api.md §5.4) the append fails and the nonce stays here alone until its window closes.
   */
  readonly #windowNonces = new Map<string, number>();
  #lastNoncePurge = 0;
  /** Every NONCE_PURGE_INTERVAL_S: the last row of the nonce log then; rows up to one that is NONCE_LIFETIME_MAX_S old are expired. */
  readonly #nonceLogMarks: { at: number; seq: number }[] = [];
  #nonceLogSeq = 0;
  /** Nonces of this event-loop turn, inserted together at its end. */
  #nonceBatch: PendingNonce[] = [];
  /**
   * Every signed request's device and account (#deviceAndAccount), by device key (latin1),
   * enrolled devices only. Correct because this process is the only writer of those rows
   * (docs/decisions/relay-store.md, "auth cache"): every statement that writes them empties
   * the cache as it is prepared for its run (#sql), inside the same synchronous transaction,
   * so a read after that write's commit goes to the database. Revocation stays immediate.
   */
  readonly #authCache = new Map<string, { device: Device; account: Account }>();
  /**
   * Addresses found enrolled by unknownAddresses (a submission's recipients, docs/api.md §8.2):
   * an account is never deleted nor renamed, so one found stays; emptied with the auth cache
   * all the same. One read statement less per submission (issue 14: each is three system calls
   * of locking, ~7-10 µs of CPU on this machine).
   */
  readonly #knownAddresses = new Set<string>();
  /**
   * docs/api.md §4.6.3: open sessions by id, with their device key (latin1), read with every
   * request in a session; emptied with the auth cache by every write of the sessions table, so
   * a close or a ninth opening is seen from its commit on (the same rule as the devices).
   */
  readonly #openSessions = new Map<string, string>();
  /** docs/disclosure.md: when the next expired session may be purged (Unix seconds; at start: at once); null: none to purge. */
  #sessionPurgeDue: number | null = 0;

  /** Opens (creating and migrating) the database file, or ':memory:'. */
  static open(file: string, options: { deleteReserveBytes?: number } = {}): SqliteRelayStore {
    return new SqliteRelayStore(openRelayDatabase(file), file === ':memory:' ? null : file, options.deleteReserveBytes);
  }

  constructor(db: RelayDatabase, file: string | null = null, deleteReserveBytes?: number) {
    this.#db = db;
    this.#reserve = file === null ? null : new DeleteReserve(`${file}-reserve`, deleteReserveBytes);
    // Checkpoints run in a worker thread (wal-eraser.ts), never on the event loop.
    if (file !== null) db.pragma('wal_autocheckpoint = 0');
    this.#eraser = file === null ? null : new WalEraser(file, ERASE_DELAY_MS);
    // Commits return without an fsync; the group commit waits for the WAL's fsync off the
    // event loop before answering (wal-sync.ts). Set once, never switched per transaction.
    this.#walSync = file === null ? null : new WalSync(`${file}-wal`);
    if (file !== null) db.pragma('synchronous = OFF');
    const walSync = this.#walSync;
    const begin = db.prepare('BEGIN IMMEDIATE');
    const commit = db.prepare('COMMIT');
    const rollback = db.prepare('ROLLBACK');
    const savepoint = db.prepare('SAVEPOINT write');
    const release = db.prepare('RELEASE write');
    const rollbackTo = db.prepare('ROLLBACK TO write');
    this.#writes = new GroupCommit<RelayDatabase>({
      transaction: (body) => {
        begin.run();
        try {
          body(db);
          commit.run();
        } catch (error) {
          if (db.inTransaction) rollback.run();
          // What the cache was told by the writes undone is no longer true.
          this.#forgetAuthRows();
          throw error;
        }
        this.#eraser?.committed();
      },
      ...(walSync === null ? {} : { durable: () => walSync.sync() }),
      // A checkpoint holds off writers: wait for its end here, not asleep in SQLite's busy handler (wal-eraser.ts).
      ready: () => this.#eraser?.idle(),
      savepoint: (tx, write) => {
        savepoint.run();
        try {
          const result = write(tx);
          release.run();
          return result;
        } catch (error) {
          rollbackTo.run();
          release.run();
          this.#forgetAuthRows();
          throw error;
        }
      },
    });
    this.#loadNonces(Math.floor(Date.now() / 1000));
  }

  /**
   * Prepared once, reused (preparing was a tenth of the relay's CPU time in the bench).
   * `device`: the key the statement's `device_public_key = ?` is bound to, for a write of that
   * one device's bookkeeping (WRITES_ONE_DEVICE), which ends that device's cached rows only.
   */
  #sql(source: string, device?: Uint8Array): Statement {
    let prepared = this.#statements.get(source);
    if (prepared === undefined) {
      prepared = { statement: this.#db.prepare(source), writesAuthRows: WRITES_AUTH_ROWS.test(source), writesOneDevice: WRITES_ONE_DEVICE.test(source) };
      this.#statements.set(source, prepared);
    }
    // Every caller runs the statement at once: a write to devices or accounts ends the cached rows now.
    if (prepared.writesOneDevice && device !== undefined) this.#authCache.delete(authCacheKey(device));
    else if (prepared.writesAuthRows) this.#forgetAuthRows();
    return prepared.statement;
  }

  /** Empties what the process keeps of the devices, accounts and sessions tables: the next reads go to the database. */
  #forgetAuthRows(): void {
    this.#authCache.clear();
    this.#knownAddresses.clear();
    this.#openSessions.clear();
  }

  /** Groups committed and writes in them, since open. */
  get groupCommitStats(): { groups: number; writes: number } {
    return { groups: this.#writes.groups, writes: this.#writes.writes };
  }

  async close(): Promise<void> {
    this.#flushNonces();
    this.#reserve?.close();
    await this.#writes.drain();
    if (this.#eraser !== null) await this.#eraser.close();
    await this.#walSync?.close();
    if (this.#db.open) {
      // The last erase, synchronously: the process is stopping. FULL, so the checkpoint syncs.
      this.#db.pragma('synchronous = FULL');
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
      this.#db.close();
    }
  }

  #accountByDevice(devicePublicKey: Uint8Array): Account | undefined {
    const row = this.#sql(
      'SELECT accounts.* FROM devices JOIN accounts ON accounts.address = devices.address WHERE devices.device_public_key = ? AND devices.revoked_at IS NULL',
    ).get(devicePublicKey) as AccountRow | undefined;
    return row && toAccount(row);
  }

  #deviceByKey(devicePublicKey: Uint8Array): Device | undefined {
    const row = this.#sql(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE device_public_key = ?`).get(devicePublicKey) as DeviceRow | undefined;
    return row && toDevice(row);
  }

  #accountByAddress(address: string): Account | undefined {
    const row = this.#sql('SELECT * FROM accounts WHERE address = ?').get(address) as AccountRow | undefined;
    return row && toAccount(row);
  }

  async accountByDevice(devicePublicKey: Uint8Array): Promise<Account | undefined> {
    return this.#accountByDevice(devicePublicKey);
  }

  async accountByAddress(address: string): Promise<Account | undefined> {
    return this.#accountByAddress(address);
  }

  async deviceByKey(devicePublicKey: Uint8Array): Promise<{ device: Device; account: Account } | undefined> {
    return this.#deviceAndAccount(devicePublicKey);
  }

  /** Every signed request asks this: from the auth cache, else one statement, the device and its account joined (the device's columns renamed). */
  #deviceAndAccount(devicePublicKey: Uint8Array): { device: Device; account: Account } | undefined {
    const cacheKey = authCacheKey(devicePublicKey);
    const cached = this.#authCache.get(cacheKey);
    if (cached !== undefined) return cached;
    const found = this.#readDeviceAndAccount(devicePublicKey);
    if (found !== undefined) {
      if (this.#authCache.size >= AUTH_CACHE_MAX) this.#authCache.clear();
      this.#authCache.set(cacheKey, found);
    }
    return found;
  }

  #readDeviceAndAccount(devicePublicKey: Uint8Array): { device: Device; account: Account } | undefined {
    const row = this.#sql(
      `SELECT accounts.*, devices.name AS d_name, devices.enrolled_at AS d_enrolled_at, devices.last_seen_at AS d_last_seen_at,
         devices.revoked_at AS d_revoked_at, devices.acked_seq AS d_acked_seq
       FROM devices JOIN accounts ON accounts.address = devices.address WHERE devices.device_public_key = ?`,
    ).get(devicePublicKey) as (AccountRow & { d_name: string; d_enrolled_at: string; d_last_seen_at: string | null; d_revoked_at: string | null; d_acked_seq: number }) | undefined;
    if (row === undefined) return undefined;
    const device = toDevice({
      address: row.address,
      device_public_key: Buffer.from(devicePublicKey),
      name: row.d_name,
      enrolled_at: row.d_enrolled_at,
      last_seen_at: row.d_last_seen_at,
      revoked_at: row.d_revoked_at,
      acked_seq: row.d_acked_seq,
    });
    return { device, account: toAccount(row) };
  }

  async devicesOf(address: string): Promise<Device[]> {
    return (this.#sql(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE address = ? ORDER BY enrolled_at, rowid`).all(address) as DeviceRow[]).map(toDevice);
  }

  addDevice(device: { address: string; certFingerprint: string; devicePublicKey: Uint8Array; name: string; enrolledAt: string }): Promise<NewDeviceResult> {
    return this.#writes.run((): NewDeviceResult => {
      const account = this.#accountByAddress(device.address);
      if (!account) return 'no_account';
      if (account.certFingerprint !== device.certFingerprint) return 'cert_mismatch';
      if (this.#deviceByKey(device.devicePublicKey)) return 'device_taken';
      if (this.#sql('SELECT 1 FROM devices WHERE address = ? AND name = ?').get(device.address, device.name) !== undefined) return 'name_taken';
      this.#sql('INSERT INTO devices (device_public_key, address, name, enrolled_at) VALUES (?, ?, ?, ?)').run(
        device.devicePublicKey,
        device.address,
        device.name,
        device.enrolledAt,
      );
      return 'created';
    });
  }

  async revokeDevice(address: string, name: string, revokedAt: string): Promise<RevokeDeviceResult> {
    const outcome = await this.#freeing(() => {
      const row = this.#sql('SELECT revoked_at FROM devices WHERE address = ? AND name = ?').get(address, name) as { revoked_at: string | null } | undefined;
      if (!row) return { result: 'not_found' as const, erased: 0 };
      if (row.revoked_at !== null) return { result: 'already_revoked' as const, erased: 0 };
      this.#sql('UPDATE devices SET revoked_at = ? WHERE address = ? AND name = ?').run(revokedAt, address, name);
      return { result: 'revoked' as const, erased: this.#deleteAckedByAll(address).erased };
    });
    if (outcome.erased > 0) this.#eraser?.erased();
    return outcome.result;
  }

  async replaceCert(address: string, certFingerprint: string, cert: Uint8Array): Promise<boolean> {
    return this.#writes.run(
      () => this.#sql('UPDATE accounts SET cert = ? WHERE address = ? AND cert_fingerprint = ?').run(cert, address, certFingerprint).changes === 1,
    );
  }

  permitKeyChange(permit: KeyChangePermit): Promise<boolean> {
    return this.#writes.run(() => {
      if (!this.#accountByAddress(permit.address)) return false;
      this.#sql(
        `INSERT INTO key_change_permits (address, new_fingerprint, opened_at, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (address) DO UPDATE SET new_fingerprint = excluded.new_fingerprint, opened_at = excluded.opened_at, expires_at = excluded.expires_at`,
      ).run(permit.address, permit.newFingerprint, permit.openedAt, permit.expiresAt);
      return true;
    });
  }

  changeKey(change: KeyChange): Promise<KeyChangeResult> {
    return this.#writes.run((): KeyChangeResult => {
      const permit = this.#sql('SELECT 1 FROM key_change_permits WHERE address = ? AND new_fingerprint = ? AND expires_at > ?').get(
        change.address,
        change.certFingerprint,
        change.changedAt,
      );
      if (permit === undefined) return 'no_permit';
      if (this.#deviceByKey(change.devicePublicKey)) return 'device_taken';
      if (this.#sql('SELECT 1 FROM devices WHERE address = ? AND name = ?').get(change.address, change.deviceName) !== undefined) return 'name_taken';
      this.#sql(
        'UPDATE accounts SET previous_cert = cert, key_changed_at = ?, cert = ?, cert_fingerprint = ?, device_public_key = ? WHERE address = ?',
      ).run(change.changedAt, change.cert, change.certFingerprint, change.devicePublicKey, change.address);
      this.#sql('UPDATE devices SET revoked_at = ? WHERE address = ? AND revoked_at IS NULL').run(change.changedAt, change.address);
      this.#sql('INSERT INTO devices (device_public_key, address, name, enrolled_at) VALUES (?, ?, ?, ?)').run(
        change.devicePublicKey,
        change.address,
        change.deviceName,
        change.changedAt,
      );
      this.#sql('DELETE FROM key_change_permits WHERE address = ?').run(change.address);
      return 'changed';
    });
  }

  async touchDevice(devicePublicKey: Uint8Array, seenAt: string, staleBefore: string): Promise<void> {
    const stale = this.#sql('SELECT 1 FROM devices WHERE device_public_key = ? AND (last_seen_at IS NULL OR last_seen_at < ?)').get(devicePublicKey, staleBefore);
    if (stale === undefined) return;
    try {
      await this.#writes.run(() => {
        this.#sql('UPDATE devices SET last_seen_at = ? WHERE device_public_key = ? AND (last_seen_at IS NULL OR last_seen_at < ?)', devicePublicKey).run(seenAt, devicePublicKey, staleBefore);
      });
    } catch (error) {
      // docs/api.md §5.4: "last seen" is worth no refusal; on a full disk it waits.
      if (!isDiskFull(error)) throw error;
    }
  }

  async accountsByWkdHash(hash: string): Promise<Account[]> {
    return (this.#sql('SELECT * FROM accounts WHERE wkd_hash = ? ORDER BY address').all(hash) as AccountRow[]).map(toAccount);
  }

  async unknownAddresses(addresses: readonly string[]): Promise<string[]> {
    const known = this.#knownAddresses;
    if (addresses.every((address) => known.has(address))) return [];
    const exists = this.#sql('SELECT 1 FROM accounts WHERE address = ?');
    return addresses.filter((address) => {
      if (known.has(address)) return false;
      if (exists.get(address) === undefined) return true;
      if (known.size >= AUTH_CACHE_MAX) known.clear();
      known.add(address);
      return false;
    });
  }

  createAccount(account: Account & { wkdHash: string; deviceName?: string }, inviteTokenSha256: string | null): Promise<NewAccountResult> {
    return this.#writes.run((): NewAccountResult => {
      if (this.#accountByAddress(account.address)) return 'address_taken';
      if (this.#deviceByKey(account.devicePublicKey)) return 'device_taken';
      if (inviteTokenSha256 !== null) {
        if (this.#sql('SELECT 1 FROM used_invites WHERE token_sha256 = ?').get(inviteTokenSha256) !== undefined) return 'invite_used';
        this.#sql('INSERT INTO used_invites (token_sha256, address, used_at) VALUES (?, ?, ?)').run(
          inviteTokenSha256,
          account.address,
          account.enrolledAt,
        );
      }
      this.#sql(
        'INSERT INTO accounts (address, local_part, wkd_hash, cert, cert_fingerprint, device_public_key, enrolled_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(account.address, account.localPart, account.wkdHash, account.cert, account.certFingerprint, account.devicePublicKey, account.enrolledAt);
      this.#sql('INSERT INTO devices (device_public_key, address, name, enrolled_at) VALUES (?, ?, ?, ?)').run(
        account.devicePublicKey,
        account.address,
        account.deviceName ?? FIRST_DEVICE_NAME,
        account.enrolledAt,
      );
      return 'created';
    });
  }

  async sharedKey(name: string, publicDigest: string, at: string): Promise<{ readonly publicDigest: string; readonly firstAt: string }> {
    this.#sql('INSERT INTO shared_keys (name, public_digest, first_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING').run(name, publicDigest, at);
    const row = this.#sql('SELECT public_digest, first_at FROM shared_keys WHERE name = ?').get(name) as { public_digest: string; first_at: string };
    return { publicDigest: row.public_digest, firstAt: row.first_at };
  }

  async isInviteUsed(tokenSha256: string): Promise<boolean> {
    return this.#sql('SELECT 1 FROM used_invites WHERE token_sha256 = ?').get(tokenSha256) !== undefined;
  }

  rememberNonce(devicePublicKey: Uint8Array, nonce: string, expiresAt: number, nowSeconds: number): Promise<boolean> {
    // docs/decisions/relay-store.md "Replay nonces on SQLite": checked in memory, appended to
    // the nonce log (a file never fsynced, database.ts attachNonces) with the other nonces of
    // this event-loop turn in one transaction; each request is answered once its nonce is in
    // the file, as before (was: a random insert in an indexed table, a 4 KiB page per nonce).
    if (nowSeconds - this.#lastNoncePurge >= NONCE_PURGE_INTERVAL_S) this.#purgeNonces(nowSeconds);
    const key = memoryNonceKey(devicePublicKey, nonce);
    // A nonce twice, even in one turn: the first is fresh, the other a replay.
    if (this.#windowNonces.has(key)) return Promise.resolve(false);
    this.#windowNonces.set(key, expiresAt);
    return new Promise((resolve, reject) => {
      this.#nonceBatch.push({ devicePublicKey, nonce, expiresAt, resolve, reject });
      if (this.#nonceBatch.length === 1) setImmediate(() => this.#flushNonces());
    });
  }

  /** Expired nonces leave the memory (the oldest written first) and, once surely expired, the log. */
  #purgeNonces(nowSeconds: number): void {
    this.#lastNoncePurge = nowSeconds;
    if (this.#sessionPurgeDue !== null && nowSeconds > this.#sessionPurgeDue) {
      // docs/disclosure.md: sessions are forgotten once expired (one small write per purge interval at most).
      this.#sessionPurgeDue = null;
      this.#writes.run(() => void this.#sql('DELETE FROM sessions WHERE expires_at < ?').run(nowSeconds)).catch(() => {
        this.#sessionPurgeDue = nowSeconds;
      });
    }
    // In the order written; one still valid stops the walk (those behind it go at a later purge).
    for (const [key, expiry] of this.#windowNonces) {
      if (expiry >= nowSeconds) break;
      this.#windowNonces.delete(key);
    }
    this.#nonceLogMarks.push({ at: nowSeconds, seq: this.#nonceLogSeq });
    let expired: number | undefined;
    while (this.#nonceLogMarks.length > 0 && (this.#nonceLogMarks[0] as { at: number }).at <= nowSeconds - NONCE_LIFETIME_MAX_S) {
      expired = (this.#nonceLogMarks.shift() as { seq: number }).seq;
    }
    if (expired === undefined) return;
    try {
      // The oldest rows only (a range of the row id); expired ones, checked anyway.
      this.#sql('DELETE FROM volatile.nonce_log WHERE seq <= ? AND expires_at < ?').run(expired, nowSeconds);
    } catch (error) {
      if (!isDiskFull(error)) throw error;
    }
  }

  /** At open: the nonces of the window, from the log (and from the table that held them before it). */
  #loadNonces(nowSeconds: number): void {
    const old = this.#db.prepare("SELECT 1 FROM volatile.sqlite_master WHERE type = 'table' AND name = 'nonces'").get();
    if (old !== undefined) {
      this.#db.transaction(() => {
        this.#db
          .prepare('INSERT INTO volatile.nonce_log (device_public_key, nonce, expires_at) SELECT device_public_key, nonce, expires_at FROM volatile.nonces WHERE expires_at >= ? ORDER BY expires_at')
          .run(nowSeconds);
        this.#db.exec('DROP TABLE volatile.nonces');
      })();
    }
    const rows = this.#db.prepare('SELECT seq, device_public_key, nonce, expires_at FROM volatile.nonce_log WHERE expires_at >= ? ORDER BY seq').iterate(nowSeconds) as Iterable<{
      seq: number;
      device_public_key: Uint8Array;
      nonce: string;
      expires_at: number;
    }>;
    for (const row of rows) {
      this.#windowNonces.set(memoryNonceKey(row.device_public_key, row.nonce), row.expires_at);
      this.#nonceLogSeq = row.seq;
    }
    this.#lastNoncePurge = nowSeconds;
  }

  async authenticate(step: AuthStep): Promise<AuthOutcome> {
    const found = this.#deviceAndAccount(step.devicePublicKey);
    const sessionOpen = step.sessionId === undefined ? undefined : this.#sessionOpen(step.sessionId, step.devicePublicKey);
    if (!nonceWanted(found, step.enrolledOnly, sessionOpen)) return { found, fresh: false, ...(sessionOpen === undefined ? {} : { sessionOpen }) };
    const fresh = await this.rememberNonce(step.devicePublicKey, step.nonce, step.expiresAt, step.nowSeconds);
    return { found, fresh, ...(sessionOpen === undefined ? {} : { sessionOpen }) };
  }

  /** docs/api.md §4.6.3: the session is this device's and not closed (from #openSessions, else one read). */
  #sessionOpen(id: string, devicePublicKey: Uint8Array): boolean {
    const device = authCacheKey(devicePublicKey);
    let owner = this.#openSessions.get(id);
    if (owner === undefined) {
      const row = this.#sql('SELECT device_public_key FROM sessions WHERE id = ? AND closed_at IS NULL').get(id) as { device_public_key: Buffer } | undefined;
      if (row === undefined) return false;
      owner = row.device_public_key.toString('latin1');
      if (this.#openSessions.size >= AUTH_CACHE_MAX) this.#openSessions.clear();
      this.#openSessions.set(id, owner);
    }
    return owner === device;
  }

  openSession(session: SessionRecord, maxPerDevice: number): Promise<void> {
    return this.#writes.run(() => {
      // docs/disclosure.md: a session is kept until it expires, then forgotten.
      this.#sql('DELETE FROM sessions WHERE expires_at < ?').run(session.openedAt);
      const live = this.#sql('SELECT id FROM sessions WHERE device_public_key = ? AND closed_at IS NULL AND expires_at > ? ORDER BY opening').all(
        session.devicePublicKey,
        session.openedAt,
      ) as { id: string }[];
      const close = this.#sql('UPDATE sessions SET closed_at = ? WHERE id = ?');
      for (const { id } of sessionsToEnd(live, maxPerDevice)) close.run(session.openedAt, id);
      this.#sessionPurgeDue = Math.min(this.#sessionPurgeDue ?? session.expiresAt, session.expiresAt);
      this.#sql(
        `INSERT INTO sessions (id, device_public_key, client_share, secret_id, opening, opened_at, expires_at, closed_at)
         VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(opening), 0) + 1 FROM sessions WHERE device_public_key = ?), ?, ?, NULL)`,
      ).run(session.id, session.devicePublicKey, session.clientShare, session.secretId, session.devicePublicKey, session.openedAt, session.expiresAt);
    });
  }

  async sessionById(id: string): Promise<SessionRecord | undefined> {
    const row = this.#sql('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRow | undefined;
    return row && toSession(row);
  }

  closeSession(id: string, devicePublicKey: Uint8Array, closedAt: number): Promise<boolean> {
    return this.#writes.run(
      () => this.#sql('UPDATE sessions SET closed_at = ? WHERE id = ? AND device_public_key = ? AND closed_at IS NULL').run(closedAt, id, devicePublicKey).changes === 1,
    );
  }

  #flushNonces(): void {
    // No wait for a checkpoint: the nonce file's is PASSIVE (wal-eraser-worker.ts), it holds off no writer.
    const batch = this.#nonceBatch;
    this.#nonceBatch = [];
    if (batch.length === 0) return;
    try {
      this.#appendNonces(batch);
      this.#eraser?.committed();
    } catch (error) {
      if (!isDiskFull(error)) {
        // Not answered: the request fails, and may come again.
        for (const row of batch) {
          this.#windowNonces.delete(memoryNonceKey(row.devicePublicKey, row.nonce));
          row.reject(error);
        }
        return;
      }
      // docs/api.md §5.4: the disk is full. The nonces stay in memory until their window
      // closes, so signed routes (deleting mail, above all) keep working. A restart meanwhile
      // forgets them, as a power cut forgets the file's last ones (docs/decisions/relay-store.md).
    }
    for (const row of batch) row.resolve(true);
  }

  /** One transaction, appended at the end of the log (its row ids in the order written). */
  readonly #appendNonces = (batch: readonly PendingNonce[]): void => {
    const insert = this.#sql('INSERT INTO volatile.nonce_log (device_public_key, nonce, expires_at) VALUES (?, ?, ?)');
    this.#nonceTransaction ??= this.#db.transaction((rows: readonly PendingNonce[]) => {
      let seq = 0;
      for (const row of rows) seq = Number(insert.run(row.devicePublicKey, row.nonce, row.expiresAt).lastInsertRowid);
      return seq;
    });
    this.#nonceLogSeq = this.#nonceTransaction(batch);
  };
  #nonceTransaction: ((rows: readonly PendingNonce[]) => number) | undefined;

  /**
   * docs/api.md §5.4: a write that frees space (a deletion) must not fail for want of
   * space: on a full disk the reserve file is given back and the write tried again.
   */
  async #freeing<T>(write: () => T): Promise<T> {
    try {
      return await this.#writes.run(write);
    } catch (error) {
      if (!isDiskFull(error) || this.#reserve === null || !this.#reserve.release()) throw error;
      const result = await this.#writes.run(write);
      this.#reserve.restoreLater();
      return result;
    }
  }

  #insertMessage(message: NewMessage): void {
    this.#sql('INSERT INTO messages (id, sender, recipients, size, facts, armored_message, chunks) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      message.id,
      message.sender,
      JSON.stringify(message.recipients),
      message.size,
      JSON.stringify(message.facts),
      message.armoredMessage,
      message.chunks ?? 0,
    );
    const insert = this.#sql('INSERT INTO mailbox (id, recipient, message_id) VALUES (?, ?, ?)');
    message.recipients.forEach((recipient, index) => insert.run(message.entryIds[index], recipient, message.id));
  }

  /** docs/api.md §8.10: inside a write, so a key used earlier in the same group is seen. */
  #submissionByKey(sender: string, key: string): SubmissionRecord | undefined {
    const row = this.#sql('SELECT * FROM submissions WHERE sender = ? AND idempotency_key = ?').get(sender, key) as SubmissionRow | undefined;
    return row && toSubmission(row);
  }

  #recordSubmission(submission: SubmissionRecord): void {
    // Forgotten keys go as new ones come (the index on created_at makes this a range delete).
    this.#sql('DELETE FROM submissions WHERE created_at < ?').run(submission.createdAt - SUBMISSION_RETENTION_S);
    this.#sql('INSERT OR REPLACE INTO submissions (sender, idempotency_key, request_sha256, response, created_at) VALUES (?, ?, ?, ?, ?)').run(
      submission.sender,
      submission.key,
      submission.requestSha256,
      submission.response,
      submission.createdAt,
    );
  }

  storeMessage(message: NewMessage, submission?: SubmissionRecord): Promise<SubmissionRecord | undefined> {
    return this.#writes.run(() => {
      if (submission !== undefined) {
        const earlier = this.#submissionByKey(submission.sender, submission.key);
        if (earlier !== undefined) return earlier;
        this.#recordSubmission(submission);
      }
      this.#insertMessage(message);
      return undefined;
    });
  }

  async putCiphertextChunk(messageId: string, seq: number, bytes: Uint8Array, createdAt: number): Promise<void> {
    // docs/api.md §8.2.1: each chunk its own small write; the message's commit comes after the last,
    // and its WAL fsync covers the chunks' (issue 9: a 25 MiB send waited for 46 fsyncs, one a chunk).
    await this.#writes.run(
      () => {
        this.#sql('INSERT INTO message_chunks (message_id, seq, bytes, created_at) VALUES (?, ?, ?, ?)').run(messageId, seq, bytes, createdAt);
        this.#sql('INSERT OR IGNORE INTO chunk_uploads (id, created_at) VALUES (?, ?)').run(messageId, createdAt);
      },
      { durable: false },
    );
  }

  async discardCiphertextChunks(messageId: string, before: number): Promise<void> {
    const erased = await this.#freeing(
      () =>
      {
        const own = this.#sql('DELETE FROM message_chunks WHERE message_id = ? AND NOT EXISTS (SELECT 1 FROM messages WHERE messages.id = ?)').run(messageId, messageId).changes;
        this.#sql('DELETE FROM chunk_uploads WHERE id = ?').run(messageId);
        // Migration 13: only the uploads started before `before` are looked at, not every chunk held.
        const abandoned = this.#sql(
          'DELETE FROM message_chunks WHERE message_id IN (SELECT id FROM chunk_uploads WHERE created_at < ?) AND NOT EXISTS (SELECT 1 FROM messages WHERE messages.id = message_chunks.message_id) AND NOT EXISTS (SELECT 1 FROM outbound_queue WHERE outbound_queue.id = message_chunks.message_id)',
        ).run(before).changes;
        this.#sql('DELETE FROM chunk_uploads WHERE created_at < ?').run(before);
        return own + abandoned;
      },
    );
    if (erased > 0) this.#eraser?.erased();
  }

  async *ciphertextChunks(messageId: string): AsyncIterable<Uint8Array> {
    const row = this.#sql('SELECT chunks, armored_message FROM messages WHERE id = ?').get(messageId) as { chunks: number; armored_message: string } | undefined;
    if (row === undefined) return;
    if (row.chunks === 0) {
      yield Buffer.from(row.armored_message, 'latin1');
      return;
    }
    // One chunk at a time (each its own read): memory stays one chunk whatever the size.
    for (let seq = 0; seq < row.chunks; seq++) {
      const chunk = this.#sql('SELECT bytes FROM message_chunks WHERE message_id = ? AND seq = ?').pluck().get(messageId, seq) as Buffer | undefined;
      if (chunk === undefined) throw new Error('a stored ciphertext lacks a chunk');
      yield chunk;
    }
  }

  async *uploadChunks(id: string, count: number): AsyncIterable<Uint8Array> {
    for (let seq = 0; seq < count; seq++) {
      const chunk = this.#sql('SELECT bytes FROM message_chunks WHERE message_id = ? AND seq = ?').pluck().get(id, seq) as Buffer | undefined;
      if (chunk === undefined) throw new Error('a stored outbound message lacks a chunk');
      yield chunk;
    }
  }

  async copyChunks(from: string, to: string, createdAt: number): Promise<void> {
    await this.#writes.run(() => {
      this.#sql('INSERT INTO message_chunks (message_id, seq, bytes, created_at) SELECT ?, seq, bytes, ? FROM message_chunks WHERE message_id = ?').run(to, createdAt, from);
      this.#sql('INSERT OR IGNORE INTO chunk_uploads (id, created_at) VALUES (?, ?)').run(to, createdAt);
    });
  }

  /** docs/api.md §8.2.1: the whole text of a chunked ciphertext, for the routes that still answer it as one JSON string. */
  #joined(row: { message_id: string; chunks: number; armored_message: string }): string {
    if (row.chunks === 0) return row.armored_message;
    const chunks = this.#sql('SELECT bytes FROM message_chunks WHERE message_id = ? ORDER BY seq').pluck().all(row.message_id) as Buffer[];
    return Buffer.concat(chunks).toString('latin1');
  }

  async submissionByKey(sender: string, key: string): Promise<SubmissionRecord | undefined> {
    return this.#submissionByKey(sender, key);
  }

  rememberSubmission(submission: SubmissionRecord): Promise<SubmissionRecord | undefined> {
    return this.#writes.run(() => {
      const earlier = this.#submissionByKey(submission.sender, submission.key);
      if (earlier !== undefined) return earlier;
      this.#recordSubmission(submission);
      return undefined;
    });
  }

  storeMessages(messages: readonly NewMessage[]): Promise<void> {
    return this.#writes.run(() => {
      for (const message of messages) this.#insertMessage(message);
    });
  }

  async listMailbox(recipient: string, after: number, limit: number): Promise<StoredMessage[]> {
    const rows = this.#sql(
      `SELECT mailbox.seq, mailbox.id, messages.sender, messages.recipients, messages.size, messages.facts
       FROM mailbox JOIN messages ON messages.id = mailbox.message_id
       WHERE mailbox.recipient = ? AND mailbox.seq > ? ORDER BY mailbox.seq ${BOUND_LIMIT}`,
    ).all(recipient, after, limit) as MailboxRow[];
    return rows.map(toStoredMessage);
  }

  async mailboxEntry(recipient: string, id: string): Promise<(StoredMessage & { armoredMessage: string }) | undefined> {
    const row = this.#sql(
      `SELECT mailbox.seq, mailbox.id, messages.sender, messages.recipients, messages.size, messages.facts, messages.armored_message, mailbox.message_id, messages.chunks
       FROM mailbox JOIN messages ON messages.id = mailbox.message_id
       WHERE mailbox.recipient = ? AND mailbox.id = ?`,
    ).get(recipient, id) as (MailboxRow & ChunkedRow) | undefined;
    return row && { ...toStoredMessage(row), armoredMessage: this.#joined(row) };
  }

  async deleteMailboxEntry(recipient: string, id: string): Promise<boolean> {
    const outcome = await this.#freeing((): 'missing' | 'kept' | 'erased' => {
      const row = this.#sql('SELECT message_id FROM mailbox WHERE recipient = ? AND id = ?').get(recipient, id) as
        | { message_id: string }
        | undefined;
      if (!row) return 'missing';
      this.#sql('DELETE FROM mailbox WHERE recipient = ? AND id = ?').run(recipient, id);
      if (this.#sql('SELECT 1 FROM mailbox WHERE message_id = ? LIMIT 1').get(row.message_id) !== undefined) return 'kept';
      this.#sql('DELETE FROM messages WHERE id = ?').run(row.message_id);
      return 'erased';
    });
    if (outcome === 'erased') this.#eraser?.erased();
    return outcome !== 'missing';
  }

  async mailboxPage(recipient: string, after: number, limit: number, maxBytes: number, inlineBytes = Number.MAX_SAFE_INTEGER): Promise<MailboxPageRows> {
    // docs/api.md §8.8: the sizes first (cheap), so the ciphertexts read are those of the page
    // only; one more than the page, to know whether another follows.
    const heads = this.#sql(
      `SELECT mailbox.seq, messages.size FROM mailbox JOIN messages ON messages.id = mailbox.message_id
       WHERE mailbox.recipient = ? AND mailbox.seq > ? ORDER BY mailbox.seq ${BOUND_LIMIT}`,
    ).all(recipient, after, limit + 1) as { seq: number; size: number }[];
    const last = lastWithin(heads.slice(0, limit), maxBytes);
    if (last === undefined) return { entries: [], more: false };
    const rows = this.#sql(
      `SELECT mailbox.seq, mailbox.id, messages.sender, messages.recipients, messages.size, messages.facts, mailbox.message_id, messages.chunks,
              CASE WHEN messages.size <= ? THEN messages.armored_message ELSE '' END AS armored_message
       FROM mailbox JOIN messages ON messages.id = mailbox.message_id
       WHERE mailbox.recipient = ? AND mailbox.seq > ? AND mailbox.seq <= ? ORDER BY mailbox.seq`,
    ).all(inlineBytes, recipient, after, last) as (MailboxRow & ChunkedRow)[];
    // docs/api.md §8.8: a ciphertext above inlineBytes is listed by its size only (§8.5.1 streams it).
    const entries = rows.map((row) => ({ ...toStoredMessage(row), ...(row.size > inlineBytes ? {} : { armoredMessage: this.#joined(row) }) }));
    return { entries, more: Number(heads.at(-1)!.seq) > last };
  }

  async mailboxCiphertext(recipient: string, id: string): Promise<{ size: number; chunks: AsyncIterable<Uint8Array> } | undefined> {
    const head = this.#sql(
      `SELECT mailbox.message_id, messages.chunks, length(CAST(messages.armored_message AS BLOB)) AS bytes, messages.size
       FROM mailbox JOIN messages ON messages.id = mailbox.message_id
       WHERE mailbox.recipient = ? AND mailbox.id = ?`,
    ).get(recipient, id) as { message_id: string; chunks: number; bytes: number; size: number } | undefined;
    if (head === undefined) return undefined;
    // docs/api.md §8.2.1: a ciphertext received as a stream is in chunks already.
    if (head.chunks > 0) return { size: head.size, chunks: this.ciphertextChunks(head.message_id) };
    const slice = this.#sql('SELECT substr(CAST(armored_message AS BLOB), ?, ?) AS part FROM messages WHERE id = ?');
    const { message_id: messageId, bytes } = head;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      // docs/api.md §8.5.1: slices of the row, by byte offset (SQL counts from 1).
      for (let offset = 0; offset < bytes; offset += CIPHERTEXT_SLICE_BYTES) {
        const row = slice.get(offset + 1, CIPHERTEXT_SLICE_BYTES, messageId) as { part: Uint8Array | null } | undefined;
        if (row?.part === null || row?.part === undefined || row.part.byteLength === 0) return; // deleted meanwhile
        yield row.part;
      }
    }
    return { size: bytes, chunks: chunks() };
  }

  /** Inside a write: deletes the entries up to `through` and the ciphertexts no mailbox holds any more. */
  #deleteThrough(recipient: string, through: number): { deleted: number; erased: number } {
    // One statement deletes the entries and names their messages (RETURNING, SQLite 3.35).
    const gone = this.#sql('DELETE FROM mailbox WHERE recipient = ? AND seq <= ? RETURNING message_id').pluck().all(recipient, through) as string[];
    const erase = this.#sql('DELETE FROM messages WHERE id = ? AND NOT EXISTS (SELECT 1 FROM mailbox WHERE mailbox.message_id = ?)');
    let erased = 0;
    for (const id of new Set(gone)) erased += erase.run(id, id).changes;
    return { deleted: gone.length, erased };
  }

  /** docs/api.md §8.9: inside a write, deletes what every device not revoked has acknowledged (nothing when none is left). */
  #deleteAckedByAll(recipient: string): { deleted: number; erased: number } {
    const row = this.#sql('SELECT MIN(acked_seq) AS through FROM devices WHERE address = ? AND revoked_at IS NULL').get(recipient) as { through: number | null };
    if (row.through === null || row.through <= 0) return { deleted: 0, erased: 0 };
    return this.#deleteThrough(recipient, row.through);
  }

  async deleteMailboxThrough(recipient: string, through: number): Promise<number> {
    const outcome = await this.#freeing(() => this.#deleteThrough(recipient, through));
    if (outcome.erased > 0) this.#eraser?.erased();
    return outcome.deleted;
  }

  async ackMailbox(recipient: string, devicePublicKey: Uint8Array, through: number): Promise<number> {
    const outcome = await this.#freeing(() => {
      const key = authCacheKey(devicePublicKey);
      const cached = this.#authCache.get(key);
      const acked = this.#sql('UPDATE devices SET acked_seq = MAX(acked_seq, ?) WHERE device_public_key = ? AND address = ?', devicePublicKey).run(through, devicePublicKey, recipient);
      // The device's rows as the statement left them (its cursor only moves forward), without
      // reading them again at its next request; a write that fails empties the cache (constructor).
      if (cached !== undefined && acked.changes === 1 && cached.account.address === recipient) {
        this.#authCache.set(key, { account: cached.account, device: { ...cached.device, ackedCursor: Math.max(cached.device.ackedCursor, through) } });
      }
      return this.#deleteAckedByAll(recipient);
    });
    if (outcome.erased > 0) this.#eraser?.erased();
    return outcome.deleted;
  }

  async messagesConcerning(address: string): Promise<HeldMessage[]> {
    const rows = this.#sql(
      `SELECT id, sender, recipients, size, facts, armored_message, id AS message_id, chunks FROM messages
       WHERE sender = ? OR EXISTS (SELECT 1 FROM mailbox WHERE mailbox.message_id = messages.id AND mailbox.recipient = ?)`,
    ).all(address, address) as (HeldRow & ChunkedRow)[];
    for (const row of rows) row.armored_message = this.#joined(row);
    const entries = this.#sql('SELECT id, seq, message_id FROM mailbox WHERE recipient = ? ORDER BY seq').all(address) as {
      id: string;
      seq: number;
      message_id: string;
    }[];
    return toHeldMessages(rows, entries);
  }

  appendDisclosureLog(make: (previous: DisclosureLogRow | null) => string): Promise<number> {
    // The group commit runs one body at a time, synchronously: no other append can interleave.
    return this.#writes.run(() => {
      const previous = (this.#sql('SELECT seq, entry FROM disclosure_log ORDER BY seq DESC LIMIT 1').get() as DisclosureLogRow | undefined) ?? null;
      const seq = (previous?.seq ?? 0) + 1;
      this.#sql('INSERT INTO disclosure_log (seq, entry) VALUES (?, ?)').run(seq, make(previous));
      return seq;
    });
  }

  async disclosureLog(): Promise<DisclosureLogRow[]> {
    return this.#sql('SELECT seq, entry FROM disclosure_log ORDER BY seq').all() as DisclosureLogRow[];
  }

  dropPeerIpsBefore(before: string): Promise<number> {
    return this.#writes.run(() => {
      const rows = this.#sql(
        `SELECT id, facts FROM messages
         WHERE json_extract(facts, '$.route') = 'smtp-inbound' AND json_extract(facts, '$.receivedAt') < ? AND json_extract(facts, '$.peer.ip') != ''`,
      ).all(before) as { id: string; facts: string }[];
      const update = this.#sql('UPDATE messages SET facts = ? WHERE id = ?');
      for (const row of rows) update.run(JSON.stringify(withoutIps(JSON.parse(row.facts) as ArrivalFacts)), row.id);
      return rows.length;
    });
  }

  enqueueOutbound(item: QueuedOutbound): Promise<void> {
    return this.#writes.run(() => this.#insertQueued(item));
  }

  #insertQueued(item: QueuedOutbound): void {
    this.#sql(
      `INSERT INTO outbound_queue (id, sender, recipients, message, exposed, created_at, give_up_at, attempts, next_attempt_at, last_error, require_tls, chunks)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(item.id, item.sender, JSON.stringify(item.recipients), item.message, item.exposed ? 1 : 0, item.createdAt, item.giveUpAt, item.attempts, item.nextAttemptAt, item.lastError, item.requireTls ? 1 : 0, item.chunks ?? 0);
  }

  claimOutbound(now: string, leaseUntil: string, limit: number): Promise<QueuedOutbound[]> {
    return this.#writes.run(() => {
      const rows = this.#sql(`SELECT * FROM outbound_queue WHERE next_attempt_at <= ? AND claimed_until < ? ORDER BY next_attempt_at ${BOUND_LIMIT}`).all(now, now, limit) as QueuedRow[];
      const claim = this.#sql('UPDATE outbound_queue SET claimed_until = ? WHERE id = ?');
      for (const row of rows) claim.run(leaseUntil, row.id);
      return rows.map(toQueuedOutbound);
    });
  }

  deferOutbound(id: string, attempts: number, nextAttemptAt: string, lastError: string): Promise<void> {
    return this.#writes.run(() => {
      this.#sql("UPDATE outbound_queue SET attempts = ?, next_attempt_at = ?, last_error = ?, claimed_until = '' WHERE id = ?").run(attempts, nextAttemptAt, lastError, id);
    });
  }

  finishOutbound(id: string, bounce: NewMessage | null, report?: OutboundReport): Promise<void> {
    return this.#writes.run(() => {
      this.#sql('DELETE FROM outbound_queue WHERE id = ?').run(id);
      if (bounce !== null) this.#insertMessage(bounce);
      if (report !== undefined) {
        this.#sql('INSERT OR REPLACE INTO outbound_reports (id, sender, state, at, detail) VALUES (?, ?, ?, ?, ?)').run(report.id, report.sender, report.state, report.at, report.detail);
      }
    });
  }

  async queuedOutboundById(sender: string, id: string): Promise<QueuedOutbound | undefined> {
    const row = this.#sql('SELECT * FROM outbound_queue WHERE id = ? AND sender = ?').get(id, sender) as QueuedRow | undefined;
    return row === undefined ? undefined : toQueuedOutbound(row);
  }

  async outboundReport(sender: string, id: string): Promise<OutboundReport | undefined> {
    return this.#sql('SELECT id, sender, state, at, detail FROM outbound_reports WHERE id = ? AND sender = ?').get(id, sender) as OutboundReport | undefined;
  }

  async outboundReportsOf(sender: string): Promise<OutboundReport[]> {
    return this.#sql('SELECT id, sender, state, at, detail FROM outbound_reports WHERE sender = ? ORDER BY at, id').all(sender) as unknown as OutboundReport[];
  }

  purgeOutboundReports(before: string): Promise<number> {
    return this.#writes.run(() => Number(this.#sql('DELETE FROM outbound_reports WHERE at < ?').run(before).changes));
  }

  async submissionsOf(sender: string): Promise<SubmissionRecord[]> {
    return (this.#sql('SELECT * FROM submissions WHERE sender = ? ORDER BY created_at, idempotency_key').all(sender) as SubmissionRow[]).map(toSubmission);
  }

  async sessionsOf(address: string): Promise<HeldSession[]> {
    return (
      this.#sql(
        `SELECT sessions.* FROM sessions JOIN devices ON devices.device_public_key = sessions.device_public_key
         WHERE devices.address = ? ORDER BY sessions.opened_at, sessions.id`,
      ).all(address) as SessionRow[]
    ).map(toHeldSession);
  }

  recordTlsSession(session: TlsSession): Promise<void> {
    return this.#writes.run(() => {
      this.#sql(
        `INSERT INTO tls_rpt_sessions (day, policy_domain, policy_type, policy_strings, mx_hosts, result, sending_ip, receiving_mx, receiving_ip, count)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
         ON CONFLICT (day, policy_domain, policy_type, policy_strings, mx_hosts, result, sending_ip, receiving_mx, receiving_ip) DO UPDATE SET count = count + 1`,
      ).run(...tlsSessionKey(session));
    });
  }

  async tlsSessionsOf(day: string): Promise<TlsSessionCount[]> {
    return (
      this.#sql(
        `SELECT * FROM tls_rpt_sessions WHERE day = ?
           AND NOT EXISTS (SELECT 1 FROM tls_rpt_reports WHERE tls_rpt_reports.day = tls_rpt_sessions.day AND tls_rpt_reports.policy_domain = tls_rpt_sessions.policy_domain)
         ORDER BY policy_domain, result, receiving_mx, receiving_ip`,
      ).all(day) as unknown as TlsSessionRow[]
    ).map(toTlsSessionCount);
  }

  claimTlsReport(day: string, policyDomain: string, reportId: string, at: string, mails: readonly QueuedOutbound[] = [], posts: readonly TlsReportPost[] = []): Promise<boolean> {
    return this.#writes.run(() => {
      if (this.#sql('INSERT OR IGNORE INTO tls_rpt_reports (day, policy_domain, report_id, sent_at) VALUES (?, ?, ?, ?)').run(day, policyDomain, reportId, at).changes !== 1) return false;
      // The mark, the mails and the POSTs commit together (the write's savepoint): no mark without them.
      for (const mail of mails) this.#insertQueued(mail);
      for (const post of posts) this.#sql(`${INSERT_TLS_POST}(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...(tlsPostValues(post) as [string]));
      return true;
    });
  }

  claimTlsPosts(now: string, leaseUntil: string, limit: number): Promise<TlsReportPost[]> {
    return this.#writes.run(() => {
      const rows = this.#sql(`SELECT * FROM tls_rpt_posts WHERE next_attempt_at <= ? ORDER BY next_attempt_at ${BOUND_LIMIT}`).all(now, limit) as unknown as TlsPostRow[];
      const lease = this.#sql('UPDATE tls_rpt_posts SET next_attempt_at = ? WHERE id = ?');
      for (const row of rows) lease.run(leaseUntil, row.id);
      return rows.map(toTlsReportPost);
    });
  }

  deferTlsPost(id: string, attempts: number, nextAttemptAt: string, lastError: string): Promise<void> {
    return this.#writes.run(() => {
      this.#sql('UPDATE tls_rpt_posts SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?').run(attempts, nextAttemptAt, lastError, id);
    });
  }

  finishTlsPost(id: string): Promise<void> {
    return this.#writes.run(() => {
      this.#sql('DELETE FROM tls_rpt_posts WHERE id = ?').run(id);
    });
  }

  purgeTlsSessions(before: string): Promise<void> {
    return this.#writes.run(() => {
      this.#sql('DELETE FROM tls_rpt_sessions WHERE day < ?').run(before);
      this.#sql('DELETE FROM tls_rpt_reports WHERE day < ?').run(before);
    });
  }

  async queuedOutboundOf(sender: string): Promise<QueuedOutbound[]> {
    return (this.#sql('SELECT * FROM outbound_queue WHERE sender = ? ORDER BY created_at').all(sender) as QueuedRow[]).map(toQueuedOutbound);
  }
}
