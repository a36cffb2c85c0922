// The relay's state on PostgreSQL: any number of relay processes share one database
// (docs/decisions/relay-store.md). Every statement is named, so each connection
// prepares it once. Writes are single statements or short READ COMMITTED
// transactions; concurrent commits share WAL flushes (PostgreSQL's group commit),
// and a promise resolves only after its commit has been flushed (synchronous_commit
// on, the default).

import type { TlsSession, TlsSessionCount } from '../gateway/tls-rpt.js';
import { INSERT_TLS_POST, tlsPostValues, tlsSessionKey, toTlsReportPost, toTlsSessionCount, type TlsPostRow, type TlsSessionRow } from './rows.js';
import pg from 'pg';
import type { Migration } from './migrations.js';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import type { ArrivalFacts } from '../../api/facts.js';
import { CIPHERTEXT_SLICE_BYTES, DEVICE_COLUMNS, lastWithin, toSession, toHeldSession, type SessionRow, toAccount, toDevice, toHeldMessages, withoutIps, toQueuedOutbound, type QueuedRow, toStoredMessage, toSubmission, type AccountRow, type DeviceRow, type HeldRow, type MailboxRow, type SubmissionRow } from './rows.js';
import type { Account, AuthOutcome, AuthStep, SessionRecord, HeldSession, Device, DisclosureLogRow, HeldMessage, KeyChange, KeyChangePermit, KeyChangeResult, MailboxPageRows, NewAccountResult, NewDeviceResult, NewMessage, OutboundReport, PendingNonce, QueuedOutbound, RelayStore, RevokeDeviceResult, StoredMessage, SubmissionRecord, TlsReportPost } from './relay-store.js';
import { FIRST_DEVICE_NAME, nonceWanted, SUBMISSION_RETENTION_S } from './relay-store.js';
import { sessionsToEnd } from '../../api/relay-session.js';


const ACCOUNT_COLUMNS = 'address, local_part, wkd_hash, cert, cert_fingerprint, device_public_key, enrolled_at';
/** What is read of an account: the columns written at enrolment, and those of its last key change (docs/api.md §6.6). */
const ACCOUNT_READ_COLUMNS = `${ACCOUNT_COLUMNS}, previous_cert, key_changed_at`;
const ACCOUNT_COLUMNS_QUALIFIED = ACCOUNT_READ_COLUMNS.split(', ').map((column) => `accounts.${column}`).join(', ');

/** docs/api.md §8.9: deletes what every device not revoked has acknowledged (nothing when none is left). */
const DELETE_ACKED_BY_ALL = `
  DELETE FROM mailbox WHERE recipient = $1
    AND seq <= (SELECT COALESCE(MIN(acked_seq), 0) FROM devices WHERE address = $1 AND revoked_at IS NULL)
  RETURNING message_id`;
/** Held while migrating, so relay processes starting together migrate once. */
const MIGRATION_LOCK = 0x63616c69; // 'cali'
const NONCE_PURGE_INTERVAL_MS = 30_000;

/**
 * One submission in one statement (so one round trip, atomic): lock the recipients'
 * account rows in address order (no deadlock between submissions), take the next
 * cursor of each, insert the ciphertext and the mailbox entries.
 */
const ENQUEUE_OUTBOUND = `INSERT INTO outbound_queue (id, sender, recipients, message, exposed, created_at, give_up_at, attempts, next_attempt_at, last_error, require_tls, chunks)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;

function enqueueValues(item: QueuedOutbound): unknown[] {
  return [item.id, item.sender, JSON.stringify(item.recipients), Buffer.from(item.message), item.exposed, item.createdAt, item.giveUpAt, item.attempts, item.nextAttemptAt, item.lastError, item.requireTls, item.chunks ?? 0];
}

const INSERT_MESSAGE = `
  WITH locked AS (
    SELECT address FROM accounts WHERE address = ANY($2::text[]) ORDER BY address FOR UPDATE
  ), bumped AS (
    UPDATE accounts SET mailbox_seq = accounts.mailbox_seq + 1 FROM locked
    WHERE accounts.address = locked.address RETURNING accounts.address, accounts.mailbox_seq
  ), message AS (
    INSERT INTO messages (id, sender, recipients, size, facts, armored_message, chunks) VALUES ($1, $4, $5, $6, $7, $8, $9) RETURNING id
  )
  INSERT INTO mailbox (recipient, seq, id, message_id)
  SELECT bumped.address, bumped.mailbox_seq, entry.id, (SELECT id FROM message)
  FROM bumped JOIN unnest($2::text[], $3::text[]) AS entry (recipient, id) ON entry.recipient = bumped.address`;

/** The columns that say where a message's ciphertext is (docs/api.md §8.2.1). */
interface ChunkedRow {
  message_id: string;
  chunks: number;
  armored_message: string;
}

const SUBMISSION_BY_KEY = 'SELECT * FROM submissions WHERE sender = $1 AND idempotency_key = $2';

/**
 * docs/api.md §4.3 steps 5-6 for the signed requests of one event-loop turn, in one
 * statement (one round trip): each request's device and account, and its nonce inserted
 * where nonceWanted (relay-store.ts) says so: a device that exists and is not revoked, or
 * an unknown one where $4 (enrolled_only) is false. The RETURNING rows are the fresh nonces.
 * The device's columns are renamed into one JSON value: the account has an enrolled_at and
 * a device key too.
 */
const AUTHENTICATE = `
  WITH input AS (
    SELECT * FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::boolean[], $5::text[]) WITH ORDINALITY AS t (key, nonce, expires_at, enrolled_only, session_id, i)
  ), found AS (
    SELECT input.*, devices.address AS device_address, devices.revoked_at AS device_revoked_at, json_build_object(
        'address', devices.address, 'name', devices.name, 'enrolled_at', devices.enrolled_at, 'last_seen_at', devices.last_seen_at,
        'revoked_at', devices.revoked_at, 'acked_seq', devices.acked_seq) AS d,
      input.session_id IS NULL OR EXISTS (SELECT 1 FROM sessions WHERE sessions.id = input.session_id
        AND sessions.device_public_key = input.key AND sessions.closed_at IS NULL) AS session_open
    FROM input LEFT JOIN devices ON devices.device_public_key = input.key
  ), inserted AS (
    INSERT INTO nonces (device_public_key, nonce, expires_at)
    SELECT key, nonce, expires_at FROM found
    WHERE CASE WHEN device_address IS NULL THEN NOT enrolled_only ELSE device_revoked_at IS NULL AND session_open END
    ON CONFLICT DO NOTHING RETURNING device_public_key, nonce
  )
  SELECT found.i, found.d, found.session_open, found.device_address IS NOT NULL AND accounts.address IS NOT NULL AS known,
    EXISTS (SELECT 1 FROM inserted WHERE inserted.device_public_key = found.key AND inserted.nonce = found.nonce) AS fresh,
    ${ACCOUNT_COLUMNS_QUALIFIED}
  FROM found LEFT JOIN accounts ON accounts.address = found.device_address
  ORDER BY found.i`;

interface PendingAuth {
  readonly step: AuthStep;
  readonly resolve: (outcome: AuthOutcome) => void;
  readonly reject: (error: unknown) => void;
}

export interface PostgresStoreOptions {
  /** Connections per relay process (default 8). */
  readonly poolSize?: number;
  readonly migrations?: readonly Migration[];
}


export class PostgresRelayStore implements RelayStore {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  #lastNoncePurge = 0;
  /** Nonces of this event-loop turn, inserted together at its end. */
  #nonceBatch: PendingNonce[] = [];
  /** Signed requests of this event-loop turn, authenticated together at its end (AUTHENTICATE). */
  #authBatch: PendingAuth[] = [];

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Connects, and brings the schema up to date (once, whichever relay process comes first). */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresRelayStore> {
    const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 8, application_name: 'caliop-relay' });
    // An idle connection that fails (server restart) must not crash the relay.
    pool.on('error', () => {});
    try {
      await migratePostgres(pool, options.migrations ?? POSTGRES_MIGRATIONS);
      // Ciphertext left by a relay process that died between deleting the last mailbox entry and its message.
      await pool.query('DELETE FROM messages WHERE NOT EXISTS (SELECT 1 FROM mailbox WHERE mailbox.message_id = messages.id)');
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PostgresRelayStore(pool);
  }

  async close(): Promise<void> {
    if (this.#nonceBatch.length > 0) await this.#flushNonces();
    if (this.#authBatch.length > 0) await this.#flushAuth();
    await this.#pool.end();
  }

  async #query<R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.#pool.query<R>({ name, text, values });
  }

  async accountByDevice(devicePublicKey: Uint8Array): Promise<Account | undefined> {
    const { rows } = await this.#query<AccountRow>(
      'account_by_device',
      `SELECT ${ACCOUNT_COLUMNS_QUALIFIED} FROM devices JOIN accounts ON accounts.address = devices.address
       WHERE devices.device_public_key = $1 AND devices.revoked_at IS NULL`,
      [Buffer.from(devicePublicKey)],
    );
    return rows[0] && toAccount(rows[0]);
  }

  async deviceByKey(devicePublicKey: Uint8Array): Promise<{ device: Device; account: Account } | undefined> {
    // Every signed request asks this: one round trip, the device and its account joined
    // (the device's columns renamed: the account has an enrolled_at and a device key too).
    const { rows } = await this.#query<AccountRow & { d: DeviceRow }>(
      'device_and_account_by_key',
      `SELECT ${ACCOUNT_COLUMNS_QUALIFIED}, json_build_object(
         'address', devices.address, 'name', devices.name, 'enrolled_at', devices.enrolled_at, 'last_seen_at', devices.last_seen_at,
         'revoked_at', devices.revoked_at, 'acked_seq', devices.acked_seq) AS d
       FROM devices JOIN accounts ON accounts.address = devices.address WHERE devices.device_public_key = $1`,
      [Buffer.from(devicePublicKey)],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return { device: toDevice({ ...row.d, device_public_key: Buffer.from(devicePublicKey) }), account: toAccount(row) };
  }

  async devicesOf(address: string): Promise<Device[]> {
    const { rows } = await this.#query<DeviceRow>(
      'devices_of',
      `SELECT ${DEVICE_COLUMNS} FROM devices WHERE address = $1 ORDER BY enrolled_at, name`,
      [address],
    );
    return rows.map(toDevice);
  }

  async addDevice(device: { address: string; certFingerprint: string; devicePublicKey: Uint8Array; name: string; enrolledAt: string }): Promise<NewDeviceResult> {
    const account = await this.accountByAddress(device.address);
    if (!account) return 'no_account';
    if (account.certFingerprint !== device.certFingerprint) return 'cert_mismatch';
    // The unique keys decide races between relay processes.
    const inserted = await this.#query(
      'insert_device',
      'INSERT INTO devices (device_public_key, address, name, enrolled_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [Buffer.from(device.devicePublicKey), device.address, device.name, device.enrolledAt],
    );
    if (inserted.rowCount === 1) return 'created';
    const { rowCount } = await this.#query('device_exists', 'SELECT 1 FROM devices WHERE device_public_key = $1', [Buffer.from(device.devicePublicKey)]);
    return rowCount === 1 ? 'device_taken' : 'name_taken';
  }

  async revokeDevice(address: string, name: string, revokedAt: string): Promise<RevokeDeviceResult> {
    const updated = await this.#query(
      'revoke_device',
      'UPDATE devices SET revoked_at = $3 WHERE address = $1 AND name = $2 AND revoked_at IS NULL',
      [address, name, revokedAt],
    );
    if (updated.rowCount !== 1) {
      const { rowCount } = await this.#query('device_named', 'SELECT 1 FROM devices WHERE address = $1 AND name = $2', [address, name]);
      return rowCount === 1 ? 'already_revoked' : 'not_found';
    }
    await this.#deleteAckedByAll(address);
    return 'revoked';
  }

  async replaceCert(address: string, certFingerprint: string, cert: Uint8Array): Promise<boolean> {
    return this.#changedOne('replace_cert', 'UPDATE accounts SET cert = $3 WHERE address = $1 AND cert_fingerprint = $2', [address, certFingerprint, Buffer.from(cert)]);
  }

  /** One statement that changes at most one row: whether it changed one. */
  async #changedOne(name: string, text: string, values: unknown[]): Promise<boolean> {
    return (await this.#query(name, text, values)).rowCount === 1;
  }

  async permitKeyChange(permit: KeyChangePermit): Promise<boolean> {
    const { rowCount } = await this.#query(
      'permit_key_change',
      `INSERT INTO key_change_permits (address, new_fingerprint, opened_at, expires_at)
       SELECT address, $2, $3, $4 FROM accounts WHERE address = $1
       ON CONFLICT (address) DO UPDATE SET new_fingerprint = excluded.new_fingerprint, opened_at = excluded.opened_at, expires_at = excluded.expires_at`,
      [permit.address, permit.newFingerprint, permit.openedAt, permit.expiresAt],
    );
    return rowCount === 1;
  }

  async changeKey(change: KeyChange): Promise<KeyChangeResult> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const outcome = await (async (): Promise<KeyChangeResult> => {
        // The permit's row lock orders two enrolments racing for the same permit: the second finds it gone.
        const permit = await client.query({
          name: 'take_key_change_permit',
          text: 'DELETE FROM key_change_permits WHERE address = $1 AND new_fingerprint = $2 AND expires_at > $3',
          values: [change.address, change.certFingerprint, change.changedAt],
        });
        if (permit.rowCount !== 1) return 'no_permit';
        const key = Buffer.from(change.devicePublicKey);
        if ((await client.query({ name: 'device_exists', text: 'SELECT 1 FROM devices WHERE device_public_key = $1', values: [key] })).rowCount === 1) return 'device_taken';
        const named = await client.query({ name: 'device_named', text: 'SELECT 1 FROM devices WHERE address = $1 AND name = $2', values: [change.address, change.deviceName] });
        if (named.rowCount === 1) return 'name_taken';
        await client.query({
          name: 'change_key',
          text: 'UPDATE accounts SET previous_cert = cert, key_changed_at = $2, cert = $3, cert_fingerprint = $4, device_public_key = $5 WHERE address = $1',
          values: [change.address, change.changedAt, Buffer.from(change.cert), change.certFingerprint, key],
        });
        await client.query({ name: 'revoke_all_devices', text: 'UPDATE devices SET revoked_at = $2 WHERE address = $1 AND revoked_at IS NULL', values: [change.address, change.changedAt] });
        await client.query({
          name: 'insert_device_of_new_key',
          text: 'INSERT INTO devices (device_public_key, address, name, enrolled_at) VALUES ($1, $2, $3, $4)',
          values: [key, change.address, change.deviceName, change.changedAt],
        });
        return 'changed';
      })();
      await client.query(outcome === 'changed' ? 'COMMIT' : 'ROLLBACK');
      return outcome;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async touchDevice(devicePublicKey: Uint8Array, seenAt: string, staleBefore: string): Promise<void> {
    await this.#query(
      'touch_device',
      'UPDATE devices SET last_seen_at = $2 WHERE device_public_key = $1 AND (last_seen_at IS NULL OR last_seen_at < $3)',
      [Buffer.from(devicePublicKey), seenAt, staleBefore],
    );
  }

  async #deleteAckedByAll(recipient: string): Promise<number> {
    const { rows } = await this.#query<{ message_id: string }>('delete_acked_by_all', DELETE_ACKED_BY_ALL, [recipient]);
    await this.#eraseOrphans(rows);
    return rows.length;
  }

  /** After the entries' deletion committed, the ciphertexts no mailbox holds any more (as deleteMailboxEntry). */
  async #eraseOrphans(rows: readonly { message_id: string }[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#query(
      'erase_messages',
      'DELETE FROM messages WHERE id = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM mailbox WHERE mailbox.message_id = messages.id)',
      [[...new Set(rows.map((row) => row.message_id))]],
    );
  }

  async ackMailbox(recipient: string, devicePublicKey: Uint8Array, through: number): Promise<number> {
    // Two statements, each committed: the second sees every device's acknowledgement
    // committed before it starts, so the last of two concurrent acknowledgements deletes.
    await this.#query('ack_device', 'UPDATE devices SET acked_seq = GREATEST(acked_seq, $3) WHERE device_public_key = $1 AND address = $2', [
      Buffer.from(devicePublicKey),
      recipient,
      through,
    ]);
    return this.#deleteAckedByAll(recipient);
  }

  async accountByAddress(address: string): Promise<Account | undefined> {
    const { rows } = await this.#query<AccountRow>('account_by_address', `SELECT ${ACCOUNT_READ_COLUMNS} FROM accounts WHERE address = $1`, [address]);
    return rows[0] && toAccount(rows[0]);
  }

  async accountsByWkdHash(hash: string): Promise<Account[]> {
    const { rows } = await this.#query<AccountRow>('accounts_by_wkd', `SELECT ${ACCOUNT_READ_COLUMNS} FROM accounts WHERE wkd_hash = $1 ORDER BY address`, [hash]);
    return rows.map(toAccount);
  }

  async unknownAddresses(addresses: readonly string[]): Promise<string[]> {
    const { rows } = await this.#query<{ address: string }>('known_addresses', 'SELECT address FROM accounts WHERE address = ANY($1::text[])', [
      [...addresses],
    ]);
    const known = new Set(rows.map((row) => row.address));
    return addresses.filter((address) => !known.has(address));
  }

  async createAccount(account: Account & { wkdHash: string; deviceName?: string }, inviteTokenSha256: string | null): Promise<NewAccountResult> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      try {
        // The unique keys decide races between relay processes; ON CONFLICT keeps the transaction usable.
        const inserted = await client.query({
          name: 'insert_account',
          text: `INSERT INTO accounts (${ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
          values: [
            account.address,
            account.localPart,
            account.wkdHash,
            Buffer.from(account.cert),
            account.certFingerprint,
            Buffer.from(account.devicePublicKey),
            account.enrolledAt,
          ],
        });
        const device =
          inserted.rowCount === 1
            ? await client.query({
                name: 'insert_first_device',
                text: 'INSERT INTO devices (device_public_key, address, name, enrolled_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
                values: [Buffer.from(account.devicePublicKey), account.address, account.deviceName ?? FIRST_DEVICE_NAME, account.enrolledAt],
              })
            : undefined;
        if (inserted.rowCount !== 1 || device?.rowCount !== 1) {
          await client.query('ROLLBACK');
          const taken = await client.query({ name: 'address_exists', text: 'SELECT 1 FROM accounts WHERE address = $1', values: [account.address] });
          return taken.rowCount === 1 ? 'address_taken' : 'device_taken';
        }
        if (inviteTokenSha256 !== null) {
          const used = await client.query({
            name: 'use_invite',
            text: 'INSERT INTO used_invites (token_sha256, address, used_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
            values: [inviteTokenSha256, account.address, account.enrolledAt],
          });
          if (used.rowCount !== 1) {
            await client.query('ROLLBACK');
            return 'invite_used';
          }
        }
        await client.query('COMMIT');
        return 'created';
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    } finally {
      client.release();
    }
  }

  async sharedKey(name: string, publicDigest: string, at: string): Promise<{ readonly publicDigest: string; readonly firstAt: string }> {
    await this.#query('shared_key_insert', 'INSERT INTO shared_keys (name, public_digest, first_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [name, publicDigest, at]);
    const { rows } = await this.#query('shared_key_select', 'SELECT public_digest, first_at FROM shared_keys WHERE name = $1', [name]);
    const row = rows[0] as { public_digest: string; first_at: string };
    return { publicDigest: row.public_digest, firstAt: row.first_at };
  }

  async isInviteUsed(tokenSha256: string): Promise<boolean> {
    const { rowCount } = await this.#query('invite_used', 'SELECT 1 FROM used_invites WHERE token_sha256 = $1', [tokenSha256]);
    return rowCount === 1;
  }

  #purgeNonces(nowSeconds: number): void {
    const nowMs = nowSeconds * 1000;
    if (nowMs - this.#lastNoncePurge >= NONCE_PURGE_INTERVAL_MS) {
      this.#lastNoncePurge = nowMs;
      // Expired rows only matter for space: their timestamps fail the window check anyway.
      void this.#query('purge_nonces', 'DELETE FROM nonces WHERE expires_at < $1', [nowSeconds]).catch(() => {});
      // docs/disclosure.md: sessions are forgotten once expired.
      void this.#query('purge_sessions', 'DELETE FROM sessions WHERE expires_at < $1', [nowSeconds]).catch(() => {});
    }
  }

  rememberNonce(devicePublicKey: Uint8Array, nonce: string, expiresAt: number, nowSeconds: number): Promise<boolean> {
    this.#purgeNonces(nowSeconds);
    // The nonces of one event-loop turn go in one statement, one round trip (before: one per
    // request). The table is shared by every relay process, so a replay at another one is refused.
    return new Promise((resolve, reject) => {
      this.#nonceBatch.push({ devicePublicKey, nonce, expiresAt, resolve, reject });
      if (this.#nonceBatch.length === 1) setImmediate(() => void this.#flushNonces());
    });
  }

  authenticate(step: AuthStep): Promise<AuthOutcome> {
    this.#purgeNonces(step.nowSeconds);
    return new Promise((resolve, reject) => {
      this.#authBatch.push({ step, resolve, reject });
      if (this.#authBatch.length === 1) setImmediate(() => void this.#flushAuth());
    });
  }

  /** Runs `work` in one transaction on one pooled connection: committed when it resolves, rolled back when it throws. */
  async #inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      try {
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    } finally {
      client.release();
    }
  }

  async openSession(session: SessionRecord, maxPerDevice: number): Promise<void> {
    const key = Buffer.from(session.devicePublicKey);
    await this.#inTransaction(async (client) => {
      // The device's row locked: two openings at once (at two processes) count each other's session.
      await client.query({ name: 'lock_device', text: 'SELECT 1 FROM devices WHERE device_public_key = $1 FOR UPDATE', values: [key] });
      // docs/disclosure.md: a session is kept until it expires, then forgotten.
      await client.query({ name: 'purge_sessions', text: 'DELETE FROM sessions WHERE expires_at < $1', values: [session.openedAt] });
      const { rows: live } = await client.query<{ id: string }>({
        name: 'live_sessions',
        text: 'SELECT id FROM sessions WHERE device_public_key = $1 AND closed_at IS NULL AND expires_at > $2 ORDER BY opening',
        values: [key, session.openedAt],
      });
      const ended = sessionsToEnd(live, maxPerDevice).map((row) => row.id);
      if (ended.length > 0) await client.query({ name: 'end_sessions', text: 'UPDATE sessions SET closed_at = $1 WHERE id = ANY($2::text[])', values: [session.openedAt, ended] });
      await client.query({
        name: 'insert_session',
        text: `INSERT INTO sessions (id, device_public_key, client_share, secret_id, opening, opened_at, expires_at, closed_at)
               VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(opening), 0) + 1 FROM sessions WHERE device_public_key = $2), $5, $6, NULL)`,
        values: [session.id, key, session.clientShare, session.secretId, session.openedAt, session.expiresAt],
      });
    });
  }

  async sessionById(id: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.#query<SessionRow>('session_by_id', 'SELECT * FROM sessions WHERE id = $1', [id]);
    return rows[0] && toSession(rows[0]);
  }

  async closeSession(id: string, devicePublicKey: Uint8Array, closedAt: number): Promise<boolean> {
    return this.#changedOne('close_session', 'UPDATE sessions SET closed_at = $1 WHERE id = $2 AND device_public_key = $3 AND closed_at IS NULL', [closedAt, id, Buffer.from(devicePublicKey)]);
  }

  async #flushAuth(): Promise<void> {
    const batch = this.#authBatch;
    this.#authBatch = [];
    const keyOf = (step: AuthStep) => `${Buffer.from(step.devicePublicKey).toString('hex')}:${step.nonce}`;
    // A nonce twice in one batch: only its first request can be the fresh one (the others are told their device, not fresh).
    const first = new Map<string, number>();
    const rowOf: number[] = [];
    const rows: AuthStep[] = [];
    for (const { step } of batch) {
      const key = keyOf(step);
      const seen = first.get(key);
      if (seen === undefined) {
        first.set(key, rows.length);
        rowOf.push(rows.length);
        rows.push(step);
      } else rowOf.push(-1 - seen);
    }
    try {
      const { rows: answers } = await this.#query<AccountRow & { i: string; d: DeviceRow; known: boolean; fresh: boolean; session_open: boolean }>('authenticate', AUTHENTICATE, [
        rows.map((step) => Buffer.from(step.devicePublicKey)),
        rows.map((step) => step.nonce),
        rows.map((step) => step.expiresAt),
        rows.map((step) => step.enrolledOnly),
        rows.map((step) => step.sessionId ?? null),
      ]);
      if (answers.length !== rows.length) throw new Error('the authentication statement answered another number of rows');
      const outcomes = rows.map((step, index): AuthOutcome => {
        const answer = answers[index] as AccountRow & { d: DeviceRow; known: boolean; fresh: boolean; session_open: boolean };
        const found = answer.known ? { device: toDevice({ ...answer.d, device_public_key: Buffer.from(step.devicePublicKey) }), account: toAccount(answer) } : undefined;
        const session = step.sessionId === undefined ? {} : { sessionOpen: answer.session_open };
        // The statement applies the same rule; checked here too, so a nonce not written is never called fresh.
        return { found, fresh: answer.fresh && nonceWanted(found, step.enrolledOnly, answer.session_open), ...session };
      });
      batch.forEach(({ resolve }, index) => {
        const row = rowOf[index] as number;
        // Only the first request with this nonce in the batch can be the fresh one; a later one is a replay.
        if (row >= 0) resolve(outcomes[row] as AuthOutcome);
        else resolve({ ...(outcomes[-1 - row] as AuthOutcome), fresh: false });
      });
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }

  async #flushNonces(): Promise<void> {
    const batch = this.#nonceBatch;
    this.#nonceBatch = [];
    const keyOf = (devicePublicKey: Uint8Array, nonce: string) => `${Buffer.from(devicePublicKey).toString('hex')}:${nonce}`;
    // A nonce twice in one batch: only its first request can be the fresh one.
    const first = new Map<string, PendingNonce>();
    for (const row of batch) if (!first.has(keyOf(row.devicePublicKey, row.nonce))) first.set(keyOf(row.devicePublicKey, row.nonce), row);
    const rows = [...first.values()];
    try {
      // Only an UNLOGGED table is written: PostgreSQL commits it without waiting for a WAL flush.
      const inserted = await this.#query<{ device_public_key: Buffer; nonce: string }>(
        'remember_nonces',
        `INSERT INTO nonces (device_public_key, nonce, expires_at)
         SELECT * FROM unnest($1::bytea[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING RETURNING device_public_key, nonce`,
        [rows.map((row) => Buffer.from(row.devicePublicKey)), rows.map((row) => row.nonce), rows.map((row) => row.expiresAt)],
      );
      const fresh = new Set(inserted.rows.map((row) => keyOf(row.device_public_key, row.nonce)));
      for (const row of batch) row.resolve(first.get(keyOf(row.devicePublicKey, row.nonce)) === row && fresh.has(keyOf(row.devicePublicKey, row.nonce)));
    } catch (error) {
      for (const row of batch) row.reject(error);
    }
  }

  #insertValues(message: NewMessage): unknown[] {
    return [
      message.id,
      [...message.recipients],
      [...message.entryIds],
      message.sender,
      JSON.stringify(message.recipients),
      message.size,
      JSON.stringify(message.facts),
      message.armoredMessage,
      message.chunks ?? 0,
    ];
  }

  async putCiphertextChunk(messageId: string, seq: number, bytes: Uint8Array, createdAt: number): Promise<void> {
    // docs/api.md §8.2.1: each chunk its own small commit; the message's comes after the last.
    await this.#query('put_chunk', 'WITH upload AS (INSERT INTO chunk_uploads (id, created_at) VALUES ($1, $4) ON CONFLICT DO NOTHING) INSERT INTO message_chunks (message_id, seq, bytes, created_at) VALUES ($1, $2, $3, $4)', [messageId, seq, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), createdAt]);
  }

  async discardCiphertextChunks(messageId: string, before: number): Promise<void> {
    await this.#query(
      'discard_chunks',
      'WITH upload AS (DELETE FROM chunk_uploads WHERE id = $1) DELETE FROM message_chunks WHERE message_id = $1 AND NOT EXISTS (SELECT 1 FROM messages WHERE messages.id = $1)',
      [messageId],
    );
    // Migration 13: only the uploads started before `before` are looked at, not every chunk held.
    await this.#query(
      'discard_abandoned_chunks',
      `WITH stale AS (DELETE FROM chunk_uploads WHERE created_at < $1 RETURNING id)
       DELETE FROM message_chunks WHERE message_id IN (SELECT id FROM stale)
         AND NOT EXISTS (SELECT 1 FROM messages WHERE messages.id = message_chunks.message_id)
         AND NOT EXISTS (SELECT 1 FROM outbound_queue WHERE outbound_queue.id = message_chunks.message_id)`,
      [before],
    );
  }

  async *ciphertextChunks(messageId: string): AsyncIterable<Uint8Array> {
    const { rows } = await this.#query<{ chunks: number; armored_message: string }>('message_chunks_count', 'SELECT chunks, armored_message FROM messages WHERE id = $1', [messageId]);
    const row = rows[0];
    if (row === undefined) return;
    if (row.chunks === 0) {
      yield Buffer.from(row.armored_message, 'latin1');
      return;
    }
    // One chunk per query: memory stays one chunk whatever the size.
    for (let seq = 0; seq < row.chunks; seq++) {
      const { rows: chunk } = await this.#query<{ bytes: Buffer }>('message_chunk', 'SELECT bytes FROM message_chunks WHERE message_id = $1 AND seq = $2', [messageId, seq]);
      const bytes = chunk[0]?.bytes;
      if (bytes === undefined) throw new Error('a stored ciphertext lacks a chunk');
      yield bytes;
    }
  }

  async *uploadChunks(id: string, count: number): AsyncIterable<Uint8Array> {
    for (let seq = 0; seq < count; seq++) {
      const { rows: chunk } = await this.#query<{ bytes: Buffer }>('message_chunk', 'SELECT bytes FROM message_chunks WHERE message_id = $1 AND seq = $2', [id, seq]);
      const bytes = chunk[0]?.bytes;
      if (bytes === undefined) throw new Error('a stored outbound message lacks a chunk');
      yield bytes;
    }
  }

  async copyChunks(from: string, to: string, createdAt: number): Promise<void> {
    await this.#query(
      'copy_chunks',
      'WITH upload AS (INSERT INTO chunk_uploads (id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING) INSERT INTO message_chunks (message_id, seq, bytes, created_at) SELECT $1, seq, bytes, $2 FROM message_chunks WHERE message_id = $3',
      [to, createdAt, from],
    );
  }

  /** docs/api.md §8.2.1: the whole text of a chunked ciphertext, for the routes that still answer it as one JSON string. */
  async #joined(row: { message_id: string; chunks: number; armored_message: string }): Promise<string> {
    if (row.chunks === 0) return row.armored_message;
    const parts: Uint8Array[] = [];
    for await (const chunk of this.ciphertextChunks(row.message_id)) parts.push(chunk);
    return Buffer.concat(parts).toString('latin1');
  }

  async storeMessage(message: NewMessage, submission?: SubmissionRecord): Promise<SubmissionRecord | undefined> {
    if (submission === undefined) {
      const result = await this.#query('insert_message', INSERT_MESSAGE, this.#insertValues(message));
      if (result.rowCount !== message.recipients.length) throw new Error('a recipient of this message has no account');
      return undefined;
    }
    // docs/api.md §8.10: the key and the message commit together. A concurrent submission
    // with the same key waits on the key's unique index, then finds it taken.
    return this.#withSubmission(submission, async (client) => {
      const result = await client.query({ name: 'insert_message', text: INSERT_MESSAGE, values: this.#insertValues(message) });
      if (result.rowCount !== message.recipients.length) throw new Error('a recipient of this message has no account');
    });
  }

  async submissionByKey(sender: string, key: string): Promise<SubmissionRecord | undefined> {
    const { rows } = await this.#query<SubmissionRow>('submission_by_key', SUBMISSION_BY_KEY, [sender, key]);
    return rows[0] && toSubmission(rows[0]);
  }

  rememberSubmission(submission: SubmissionRecord): Promise<SubmissionRecord | undefined> {
    return this.#withSubmission(submission, async () => {});
  }

  /** Records `submission` and runs `more` in one transaction; the earlier record when the key was taken. */
  async #withSubmission(submission: SubmissionRecord, more: (client: pg.PoolClient) => Promise<void>): Promise<SubmissionRecord | undefined> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      try {
        const inserted = await client.query({
          name: 'insert_submission',
          text: 'INSERT INTO submissions (sender, idempotency_key, request_sha256, response, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
          values: [submission.sender, submission.key, submission.requestSha256, submission.response, submission.createdAt],
        });
        if (inserted.rowCount !== 1) {
          await client.query('ROLLBACK');
          // On this connection: waiting for another from the pool while holding one can starve it.
          const { rows } = await client.query<SubmissionRow>({
            name: 'submission_by_key',
            text: SUBMISSION_BY_KEY,
            values: [submission.sender, submission.key],
          });
          const earlier = rows[0] && toSubmission(rows[0]);
          // Taken, then forgotten in between: a 500, and the client's retry meets a free key.
          if (earlier === undefined) throw new Error('an idempotency key was taken and purged at once');
          return earlier;
        }
        await more(client);
        await client.query({ name: 'purge_submissions', text: 'DELETE FROM submissions WHERE created_at < $1', values: [submission.createdAt - SUBMISSION_RETENTION_S] });
        await client.query('COMMIT');
        return undefined;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    } finally {
      client.release();
    }
  }

  async storeMessages(messages: readonly NewMessage[]): Promise<void> {
    if (messages.length === 1) {
      await this.storeMessage(messages[0] as NewMessage);
      return;
    }
    await this.#inTransaction(async (client) => {
      for (const message of messages) {
        const result = await client.query({ name: 'insert_message', text: INSERT_MESSAGE, values: this.#insertValues(message) });
        if (result.rowCount !== message.recipients.length) throw new Error('a recipient of this message has no account');
      }
    });
  }

  async listMailbox(recipient: string, after: number, limit: number): Promise<StoredMessage[]> {
    const { rows } = await this.#query<MailboxRow>(
      'list_mailbox',
      `SELECT mailbox.seq, mailbox.id, messages.sender, messages.recipients, messages.size, messages.facts
       FROM mailbox JOIN messages ON messages.id = mailbox.message_id
       WHERE mailbox.recipient = $1 AND mailbox.seq > $2 ORDER BY mailbox.seq LIMIT $3`,
      [recipient, after, limit],
    );
    return rows.map(toStoredMessage);
  }

  async mailboxEntry(recipient: string, id: string): Promise<(StoredMessage & { armoredMessage: string }) | undefined> {
    const { rows } = await this.#query<MailboxRow & ChunkedRow>(
      'mailbox_entry',
      `SELECT mailbox.seq, mailbox.id, messages.sender, messages.recipients, messages.size, messages.facts, messages.armored_message, mailbox.message_id, messages.chunks
       FROM mailbox JOIN messages ON messages.id = mailbox.message_id
       WHERE mailbox.recipient = $1 AND mailbox.id = $2`,
      [recipient, id],
    );
    const row = rows[0];
    return row && { ...toStoredMessage(row), armoredMessage: await this.#joined(row) };
  }

  async deleteMailboxEntry(recipient: string, id: string): Promise<boolean> {
    const { rows } = await this.#query<{ message_id: string }>(
      'delete_entry',
      'DELETE FROM mailbox WHERE recipient = $1 AND id = $2 RETURNING message_id',
      [recipient, id],
    );
    const gone = rows[0];
    if (gone === undefined) return false;
    // After our commit: whichever of two recipients deleting the same message commits
    // last sees no entry left and erases the ciphertext (READ COMMITTED, fresh snapshot).
    await this.#query(
      'erase_message',
      'DELETE FROM messages WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM mailbox WHERE mailbox.message_id = $1)',
      [gone.message_id],
    );
    return true;
  }

  async mailboxPage(recipient: string, after: number, limit: number, maxBytes: number, inlineBytes = Number.MAX_SAFE_INTEGER): Promise<MailboxPageRows> {
    // One more than the page, to know whether another follows (RelayStore.mailboxPage).
    const { rows: heads } = await this.#query<{ seq: string; size: number }>(
      'mailbox_page_sizes',
      `SELECT mailbox.seq, messages.size FROM mailbox JOIN messages ON messages.id = mailbox.message_id
       WHERE mailbox.recipient = $1 AND mailbox.seq > $2 ORDER BY mailbox.seq LIMIT $3`,
      [recipient, after, limit + 1],
    );
    const last = lastWithin(heads.slice(0, limit), maxBytes);
    if (last === undefined) return { entries: [], more: false };
    const { rows } = await this.#query<MailboxRow & ChunkedRow>(
      'mailbox_page',
      `SELECT mailbox.seq, mailbox.id, messages.sender, messages.recipients, messages.size, messages.facts, mailbox.message_id, messages.chunks,
              CASE WHEN messages.size <= $4 THEN messages.armored_message ELSE '' END AS armored_message
       FROM mailbox JOIN messages ON messages.id = mailbox.message_id
       WHERE mailbox.recipient = $1 AND mailbox.seq > $2 AND mailbox.seq <= $3 ORDER BY mailbox.seq`,
      [recipient, after, last, inlineBytes],
    );
    // docs/api.md §8.8: a ciphertext above inlineBytes is listed by its size only (§8.5.1 streams it).
    const entries = await Promise.all(rows.map(async (row) => ({ ...toStoredMessage(row), ...(row.size > inlineBytes ? {} : { armoredMessage: await this.#joined(row) }) })));
    return { entries, more: Number(heads.at(-1)!.seq) > last };
  }

  async mailboxCiphertext(recipient: string, id: string): Promise<{ size: number; chunks: AsyncIterable<Uint8Array> } | undefined> {
    const { rows } = await this.#query<{ message_id: string; bytes: number; chunks: number; size: number }>(
      'mailbox_ciphertext_head',
      `SELECT mailbox.message_id, octet_length(messages.armored_message) AS bytes, messages.chunks, messages.size
       FROM mailbox JOIN messages ON messages.id = mailbox.message_id
       WHERE mailbox.recipient = $1 AND mailbox.id = $2`,
      [recipient, id],
    );
    const head = rows[0];
    if (head === undefined) return undefined;
    // docs/api.md §8.2.1: a ciphertext received as a stream is in chunks already.
    if (Number(head.chunks) > 0) return { size: Number(head.size), chunks: this.ciphertextChunks(head.message_id) };
    const query = this.#query.bind(this);
    const { message_id: messageId } = head;
    const bytes = Number(head.bytes);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      // docs/api.md §8.5.1: slices of the row, by byte offset (SQL counts from 1).
      for (let offset = 0; offset < bytes; offset += CIPHERTEXT_SLICE_BYTES) {
        const { rows: parts } = await query<{ part: Buffer | null }>(
          'mailbox_ciphertext_slice',
          "SELECT substring(convert_to(armored_message, 'UTF8') FROM $2 FOR $3) AS part FROM messages WHERE id = $1",
          [messageId, offset + 1, CIPHERTEXT_SLICE_BYTES],
        );
        const part = parts[0]?.part;
        if (part === null || part === undefined || part.byteLength === 0) return; // deleted meanwhile
        yield part;
      }
    }
    return { size: bytes, chunks: chunks() };
  }

  async deleteMailboxThrough(recipient: string, through: number): Promise<number> {
    const { rows } = await this.#query<{ message_id: string }>(
      'delete_through',
      'DELETE FROM mailbox WHERE recipient = $1 AND seq <= $2 RETURNING message_id',
      [recipient, through],
    );
    await this.#eraseOrphans(rows);
    return rows.length;
  }

  async messagesConcerning(address: string): Promise<HeldMessage[]> {
    const { rows } = await this.#query<HeldRow & ChunkedRow>(
      'messages_concerning',
      `SELECT id, sender, recipients, size, facts, armored_message, id AS message_id, chunks FROM messages
       WHERE sender = $1 OR EXISTS (SELECT 1 FROM mailbox WHERE mailbox.message_id = messages.id AND mailbox.recipient = $1)`,
      [address],
    );
    const { rows: entries } = await this.#query<{ id: string; seq: string; message_id: string }>(
      'entries_of',
      'SELECT id, seq, message_id FROM mailbox WHERE recipient = $1 ORDER BY seq',
      [address],
    );
    for (const row of rows) row.armored_message = await this.#joined(row);
    return toHeldMessages(rows, entries);
  }

  async appendDisclosureLog(make: (previous: DisclosureLogRow | null) => string): Promise<number> {
    return this.#inTransaction(async (client) => {
      // One appender at a time across relay processes (readers are not blocked): the chain cannot fork.
      await client.query('LOCK TABLE disclosure_log IN EXCLUSIVE MODE');
      const { rows } = await client.query<DisclosureLogRow>('SELECT seq, entry FROM disclosure_log ORDER BY seq DESC LIMIT 1');
      const previous = rows[0] ?? null;
      const seq = (previous?.seq ?? 0) + 1;
      await client.query('INSERT INTO disclosure_log (seq, entry) VALUES ($1, $2)', [seq, make(previous)]);
      return seq;
    });
  }

  async disclosureLog(): Promise<DisclosureLogRow[]> {
    const { rows } = await this.#query<DisclosureLogRow>('disclosure_log', 'SELECT seq, entry FROM disclosure_log ORDER BY seq', []);
    return rows;
  }

  async dropPeerIpsBefore(before: string): Promise<number> {
    const { rows } = await this.#query<{ id: string; facts: string }>(
      'peer_ips_before',
      `SELECT id, facts FROM messages
       WHERE facts::jsonb ->> 'route' = 'smtp-inbound' AND facts::jsonb ->> 'receivedAt' < $1 AND facts::jsonb #>> '{peer,ip}' <> ''`,
      [before],
    );
    // Row by row, each its own statement: a message deleted meanwhile is simply not updated.
    for (const row of rows) {
      await this.#query('drop_peer_ip', 'UPDATE messages SET facts = $2 WHERE id = $1', [row.id, JSON.stringify(withoutIps(JSON.parse(row.facts) as ArrivalFacts))]);
    }
    return rows.length;
  }

  async enqueueOutbound(item: QueuedOutbound): Promise<void> {
    await this.#query('enqueue_outbound', ENQUEUE_OUTBOUND, enqueueValues(item));
  }

  async claimOutbound(now: string, leaseUntil: string, limit: number): Promise<QueuedOutbound[]> {
    // SKIP LOCKED: two relay processes polling at once claim different messages.
    const { rows } = await this.#query<QueuedRow>(
      'claim_outbound',
      `UPDATE outbound_queue SET claimed_until = $2 WHERE id IN (
         SELECT id FROM outbound_queue WHERE next_attempt_at <= $1 AND claimed_until < $1
         ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [now, leaseUntil, limit],
    );
    return rows.map(toQueuedOutbound).sort((a, b) => (a.nextAttemptAt < b.nextAttemptAt ? -1 : 1));
  }

  async deferOutbound(id: string, attempts: number, nextAttemptAt: string, lastError: string): Promise<void> {
    await this.#query('defer_outbound', "UPDATE outbound_queue SET attempts = $2, next_attempt_at = $3, last_error = $4, claimed_until = '' WHERE id = $1", [
      id,
      attempts,
      nextAttemptAt,
      lastError,
    ]);
  }

  async finishOutbound(id: string, bounce: NewMessage | null, report?: OutboundReport): Promise<void> {
    if (bounce === null && report === undefined) {
      await this.#query('finish_outbound', 'DELETE FROM outbound_queue WHERE id = $1', [id]);
      return;
    }
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      try {
        await client.query({ name: 'finish_outbound', text: 'DELETE FROM outbound_queue WHERE id = $1', values: [id] });
        if (bounce !== null) {
          const result = await client.query({ name: 'insert_message', text: INSERT_MESSAGE, values: this.#insertValues(bounce) });
          if (result.rowCount !== bounce.recipients.length) throw new Error('the sender of a bounced message has no account');
        }
        if (report !== undefined) {
          await client.query({
            name: 'insert_outbound_report',
            text: `INSERT INTO outbound_reports (id, sender, state, at, detail) VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, at = EXCLUDED.at, detail = EXCLUDED.detail`,
            values: [report.id, report.sender, report.state, report.at, report.detail],
          });
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    } finally {
      client.release();
    }
  }

  async submissionsOf(sender: string): Promise<SubmissionRecord[]> {
    const { rows } = await this.#query<SubmissionRow>('submissions_of', 'SELECT * FROM submissions WHERE sender = $1 ORDER BY created_at, idempotency_key', [sender]);
    return rows.map(toSubmission);
  }

  async sessionsOf(address: string): Promise<HeldSession[]> {
    const { rows } = await this.#query<SessionRow>(
      'sessions_of',
      `SELECT sessions.* FROM sessions JOIN devices ON devices.device_public_key = sessions.device_public_key
       WHERE devices.address = $1 ORDER BY sessions.opened_at, sessions.id`,
      [address],
    );
    return rows.map(toHeldSession);
  }

  async queuedOutboundById(sender: string, id: string): Promise<QueuedOutbound | undefined> {
    const { rows } = await this.#query<QueuedRow>('queued_outbound_by_id', 'SELECT * FROM outbound_queue WHERE id = $1 AND sender = $2', [id, sender]);
    return rows[0] === undefined ? undefined : toQueuedOutbound(rows[0]);
  }

  async outboundReport(sender: string, id: string): Promise<OutboundReport | undefined> {
    const { rows } = await this.#query<OutboundReport & pg.QueryResultRow>('outbound_report', 'SELECT id, sender, state, at, detail FROM outbound_reports WHERE id = $1 AND sender = $2', [id, sender]);
    return rows[0];
  }

  async outboundReportsOf(sender: string): Promise<OutboundReport[]> {
    const { rows } = await this.#query<OutboundReport & pg.QueryResultRow>('outbound_reports_of', 'SELECT id, sender, state, at, detail FROM outbound_reports WHERE sender = $1 ORDER BY at, id', [sender]);
    return rows;
  }

  async purgeOutboundReports(before: string): Promise<number> {
    const result = await this.#query('purge_outbound_reports', 'DELETE FROM outbound_reports WHERE at < $1', [before]);
    return result.rowCount ?? 0;
  }

  async recordTlsSession(session: TlsSession): Promise<void> {
    await this.#query(
      'record_tls_session',
      `INSERT INTO tls_rpt_sessions (day, policy_domain, policy_type, policy_strings, mx_hosts, result, sending_ip, receiving_mx, receiving_ip, count)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)
       ON CONFLICT (day, policy_domain, policy_type, policy_strings, mx_hosts, result, sending_ip, receiving_mx, receiving_ip) DO UPDATE SET count = tls_rpt_sessions.count + 1`,
      tlsSessionKey(session),
    );
  }

  async tlsSessionsOf(day: string): Promise<TlsSessionCount[]> {
    const { rows } = await this.#query<TlsSessionRow & pg.QueryResultRow>(
      'tls_sessions_of',
      `SELECT * FROM tls_rpt_sessions WHERE day = $1
         AND NOT EXISTS (SELECT 1 FROM tls_rpt_reports WHERE tls_rpt_reports.day = tls_rpt_sessions.day AND tls_rpt_reports.policy_domain = tls_rpt_sessions.policy_domain)
       ORDER BY policy_domain, result, receiving_mx, receiving_ip`,
      [day],
    );
    return rows.map(toTlsSessionCount);
  }

  async claimTlsReport(day: string, policyDomain: string, reportId: string, at: string, mails: readonly QueuedOutbound[] = [], posts: readonly TlsReportPost[] = []): Promise<boolean> {
    const claim = { name: 'claim_tls_report', text: 'INSERT INTO tls_rpt_reports (day, policy_domain, report_id, sent_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', values: [day, policyDomain, reportId, at] };
    if (mails.length === 0 && posts.length === 0) return (await this.#query(claim.name, claim.text, claim.values)).rowCount === 1;
    // The mark, the mails and the POSTs commit together: no mark without them.
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      try {
        if ((await client.query(claim)).rowCount !== 1) {
          await client.query('ROLLBACK');
          return false;
        }
        for (const mail of mails) await client.query({ name: 'enqueue_outbound', text: ENQUEUE_OUTBOUND, values: enqueueValues(mail) });
        for (const post of posts) await client.query({ name: 'insert_tls_post', text: `${INSERT_TLS_POST}($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, values: tlsPostValues(post) });
        await client.query('COMMIT');
        return true;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    } finally {
      client.release();
    }
  }

  async claimTlsPosts(now: string, leaseUntil: string, limit: number): Promise<TlsReportPost[]> {
    // SKIP LOCKED: two relay processes polling at once take different POSTs.
    const { rows } = await this.#query<TlsPostRow & pg.QueryResultRow>(
      'claim_tls_posts',
      `WITH due AS (SELECT id, next_attempt_at FROM tls_rpt_posts WHERE next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
       UPDATE tls_rpt_posts SET next_attempt_at = $2 FROM due WHERE tls_rpt_posts.id = due.id
       RETURNING tls_rpt_posts.*, due.next_attempt_at AS due_at`,
      [now, leaseUntil, limit],
    );
    return (rows as (TlsPostRow & { due_at: string })[]).sort((a, b) => (a.due_at < b.due_at ? -1 : a.due_at > b.due_at ? 1 : 0)).map(toTlsReportPost);
  }

  async deferTlsPost(id: string, attempts: number, nextAttemptAt: string, lastError: string): Promise<void> {
    await this.#query('defer_tls_post', 'UPDATE tls_rpt_posts SET attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1', [id, attempts, nextAttemptAt, lastError]);
  }

  async finishTlsPost(id: string): Promise<void> {
    await this.#query('finish_tls_post', 'DELETE FROM tls_rpt_posts WHERE id = $1', [id]);
  }

  async purgeTlsSessions(before: string): Promise<void> {
    await this.#query('purge_tls_sessions', 'DELETE FROM tls_rpt_sessions WHERE day < $1', [before]);
    await this.#query('purge_tls_reports', 'DELETE FROM tls_rpt_reports WHERE day < $1', [before]);
  }

  async queuedOutboundOf(sender: string): Promise<QueuedOutbound[]> {
    const { rows } = await this.#query<QueuedRow>('queued_outbound_of', 'SELECT * FROM outbound_queue WHERE sender = $1 ORDER BY created_at', [sender]);
    return rows.map(toQueuedOutbound);
  }
}

/** Applies, in order and each in its own transaction, the migrations not applied yet. */
export async function migratePostgres(pool: pg.Pool, migrations: readonly Migration[]): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)');
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const applied = new Set(rows.map((row) => row.version));
      const newest = Math.max(0, ...applied);
      const known = Math.max(0, ...migrations.map((m) => m.version));
      if (newest > known) throw new Error(`the database schema (version ${newest}) is newer than this caliop-relay knows (${known})`);
      const ran: number[] = [];
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        if (applied.has(migration.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
            migration.version,
            migration.name,
            new Date().toISOString(),
          ]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
        ran.push(migration.version);
      }
      return ran;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
