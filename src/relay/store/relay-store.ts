// The relay's state, behind one interface (docs/decisions/relay-store.md): accounts,
// mailboxes, replay nonces, used invites. Two implementations: SQLite (the default,
// one process: sqlite-store.ts) and PostgreSQL (any number of relay processes:
// postgres-store.ts). Every method is asynchronous and atomic; a write has reached
// the disk (fsync) when its promise resolves, so callers answer 2xx/250 only then.

import type { TlsSession, TlsSessionCount } from '../gateway/tls-rpt.js';
import type { ArrivalFacts } from '../../api/facts.js';

export interface Account {
  readonly address: string;
  readonly localPart: string;
  readonly cert: Uint8Array;
  readonly certFingerprint: string;
  readonly devicePublicKey: Uint8Array;
  readonly enrolledAt: string;
  /** docs/api.md §6.6: the certificate before the last key change, and its date; absent when the key never changed. */
  readonly keyChange?: { readonly previousCert: Uint8Array; readonly changedAt: string };
}

/** docs/api.md §6.6: the one new key the operator lets take an enrolled address (`caliop-relay key-reset`). */
export interface KeyChangePermit {
  readonly address: string;
  readonly newFingerprint: string;
  readonly openedAt: string;
  readonly expiresAt: string;
}

/** docs/api.md §6.6: a new enrolment that replaces the account's key under a permit. */
export interface KeyChange {
  readonly address: string;
  readonly cert: Uint8Array;
  readonly certFingerprint: string;
  readonly devicePublicKey: Uint8Array;
  readonly deviceName: string;
  readonly changedAt: string;
}

export type KeyChangeResult = 'changed' | 'no_permit' | 'device_taken' | 'name_taken';

/** docs/api.md §6.4: one stick enrolled for an account. Revoked devices are kept (their keys are refused for good). */
export interface Device {
  readonly address: string;
  readonly devicePublicKey: Uint8Array;
  /** Unique within the account, revoked devices included (docs/api.md §6.4). */
  readonly name: string;
  readonly enrolledAt: string;
  /** The last signed request, to the minute or so (docs/api.md §6.4); null before any. */
  readonly lastSeenAt: string | null;
  readonly revokedAt: string | null;
  /** docs/api.md §8.9: the cursor this device acknowledged last (0: none). */
  readonly ackedCursor: number;
}

export type NewDeviceResult = 'created' | 'device_taken' | 'name_taken' | 'no_account' | 'cert_mismatch';
export type RevokeDeviceResult = 'revoked' | 'not_found' | 'already_revoked';

/** docs/api.md §6.4: the name of an account's first device. */
export const FIRST_DEVICE_NAME = 'stick-1';

export interface StoredMessage {
  /** The mailbox entry id (what the recipient sees). */
  readonly id: string;
  readonly cursor: string;
  readonly from: string;
  readonly to: string[];
  readonly size: number;
  readonly facts: ArrivalFacts;
}

/** docs/api.md §8.8: a mailbox page as the store reads it (RelayStore.mailboxPage). */
export interface MailboxPageRows {
  readonly entries: (StoredMessage & { armoredMessage?: string })[];
  /** An entry follows the page's last one. */
  readonly more: boolean;
}

/** One submission: the ciphertext once, one mailbox entry per recipient (entryIds in the same order). */
export interface NewMessage {
  readonly id: string;
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly size: number;
  readonly facts: ArrivalFacts;
  /** The ciphertext whole; '' when it was streamed in as `chunks` chunks (docs/api.md §8.2.1). */
  readonly armoredMessage: string;
  readonly entryIds: readonly string[];
  /** docs/api.md §8.2.1: the number of chunks put with putCiphertextChunk under this message's id (absent or 0: none). */
  readonly chunks?: number;
}

/** docs/api.md §8.2.1: a streamed ciphertext is stored in chunks of this many bytes (the last one shorter). */
export const CIPHERTEXT_CHUNK_BYTES = 1024 * 1024;

/** docs/api.md §8.2.1: chunks of an upload that never committed are purged after this long. */
export const ABANDONED_CHUNKS_AFTER_S = 3600;

/**
 * docs/disclosure.md §4: a message the relay still holds that concerns one address:
 * sent by it, or in its mailbox (`entries`: its own mailbox entries of the message).
 */
export interface HeldMessage {
  readonly id: string;
  readonly sender: string;
  readonly recipients: string[];
  readonly size: number;
  readonly facts: ArrivalFacts;
  readonly armoredMessage: string;
  readonly entries: { readonly id: string; readonly cursor: string }[];
}

/** docs/disclosure.md §5: one line of the disclosure log, as stored (the JSON text is what is hashed and signed). */
export interface DisclosureLogRow {
  readonly seq: number;
  readonly entry: string;
}

/**
 * docs/api.md §8.10: a submission remembered by its idempotency key, with the answer
 * it was given, so a retry is answered the same instead of delivered twice.
 */
export interface SubmissionRecord {
  readonly sender: string;
  readonly key: string;
  /** Hex SHA-256 of the request body: the same key with another body is refused. */
  readonly requestSha256: string;
  /** The JSON body of the 2xx answer. */
  readonly response: string;
  /** Unix seconds. */
  readonly createdAt: number;
}

/** docs/api.md §8.10: how long the relay remembers an idempotency key. */
export const SUBMISSION_RETENTION_S = 30 * 24 * 3600;

/** docs/gateway.md §4.7: a deferred message to outside addresses. */
/** docs/gateway.md §4.9.1: one TLS-RPT report to POST to an `https:` rua (RFC 8460 §5.4), until posted or given up. */
export interface TlsReportPost {
  readonly id: string;
  readonly reportId: string;
  readonly policyDomain: string;
  readonly url: string;
  /** The gzipped report (RFC 8460 §5.1). */
  readonly body: Uint8Array;
  readonly createdAt: string;
  /** createdAt + 24 h: an attempt that fails at or after it is the last. */
  readonly giveUpAt: string;
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly lastError: string;
}

export interface QueuedOutbound {
  readonly id: string;
  readonly sender: string;
  readonly recipients: readonly string[];
  /** The RFC 5322 bytes as they will be sent (DKIM-signed). */
  readonly message: Uint8Array;
  readonly exposed: boolean;
  readonly createdAt: string;
  readonly giveUpAt: string;
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly lastError: string;
  /** docs/gateway.md §4.8: delivered only to an MX whose TLS a policy (DANE, MTA-STS enforce) guarantees. */
  readonly requireTls: boolean;
  /**
   * docs/api.md §8.7.1: streamed in, the message waits in this many chunks of message_chunks
   * under the item's id, and `message` is only the DKIM-Signature field sent before them
   * (absent or 0: `message` is the whole message).
   */
  readonly chunks?: number;
}

/** docs/api.md §8.12, docs/gateway.md §4.7: what became of a queued message, kept for its sender's stick. */
export interface OutboundReport {
  /** The queued message's id (one of the 202's queuedIds). */
  readonly id: string;
  readonly sender: string;
  readonly state: 'delivered' | 'bounced';
  /** ISO 8601: when the queue delivered or bounced it. */
  readonly at: string;
  /** delivered: the SmtpOutboundFacts (JSON); bounced: the reason (bounded). */
  readonly detail: string;
}

/** docs/api.md §4.3 steps 5-6, asked of the store in one call for every signed request. */
export interface AuthStep {
  readonly devicePublicKey: Uint8Array;
  readonly nonce: string;
  /** Unix seconds: the nonce is remembered until then. */
  readonly expiresAt: number;
  readonly nowSeconds: number;
  /** true on every route but enrolment (an unknown device may not go on, so its nonce is not remembered). */
  readonly enrolledOnly: boolean;
  /** docs/api.md §4.6.3: the request's session (of this device); its nonce is remembered only while the session is open. */
  readonly sessionId?: string;
}

export interface AuthOutcome {
  /** The device with this key, revoked or not, and its account (as deviceByKey). */
  readonly found: { readonly device: Device; readonly account: Account } | undefined;
  /** The nonce was new and is now remembered; false for a replay, and whenever nonceWanted says no (nothing written). */
  readonly fresh: boolean;
  /** With a sessionId: the session is this device's and not closed (docs/api.md §4.6.3 step 3), read in the same step. */
  readonly sessionOpen?: boolean;
}

/**
 * Whether a request's nonce is written at all: not for a revoked device, nor for an unknown one
 * where enrolment is needed, nor in a session that is closed or not the device's (all refused).
 */
export function nonceWanted(found: AuthOutcome['found'], enrolledOnly: boolean, sessionOpen = true): boolean {
  return found === undefined ? !enrolledOnly : !found.device.revokedAt && sessionOpen;
}

/**
 * docs/api.md §4.6, docs/disclosure.md: what the relay keeps of a session, public facts only:
 * no key (K is derived again from the session secret, the id and the client's share).
 */
export interface SessionRecord {
  /** 16 random bytes, base64url. */
  readonly id: string;
  readonly devicePublicKey: Uint8Array;
  /** The device's X25519 share, base64url (signed in the opening request). */
  readonly clientShare: string;
  /** Which session secret the relay's share comes from (sessionSecretId). */
  readonly secretId: string;
  /** Unix seconds. */
  readonly openedAt: number;
  readonly expiresAt: number;
  /** Unix seconds, or null while open (closed by DELETE /v1/session, or by a ninth opening). */
  readonly closedAt: number | null;
}

/** docs/disclosure.md §4: a session as kept, with the device's count of its openings (`opening`: its n-th session). */
export interface HeldSession extends SessionRecord {
  readonly opening: number;
}

/** docs/decisions/relay-store.md: a replay nonce waiting for its turn's batched write; told whether it was fresh once written. */
export interface PendingNonce {
  readonly devicePublicKey: Uint8Array;
  readonly nonce: string;
  readonly expiresAt: number;
  readonly resolve: (fresh: boolean) => void;
  readonly reject: (error: unknown) => void;
}

export type NewAccountResult = 'created' | 'address_taken' | 'device_taken' | 'invite_used';

/** How long deleted ciphertext may stay in a database file before it is overwritten (docs/api.md §8.2). */
export const ERASE_DELAY_MS = 1000;

export interface RelayStore {
  /** 'sqlite' or 'postgres', for logs and the bench. */
  readonly kind: 'sqlite' | 'postgres';

  /** The account of an enrolled device that is not revoked. */
  accountByDevice(devicePublicKey: Uint8Array): Promise<Account | undefined>;
  /** docs/api.md §6.4: the device with this key, revoked or not, and its account. */
  deviceByKey(devicePublicKey: Uint8Array): Promise<{ device: Device; account: Account } | undefined>;
  /** docs/api.md §6.4: the account's devices, revoked ones included, in enrolment order. */
  devicesOf(address: string): Promise<Device[]>;
  /**
   * docs/api.md §6.2 step 7: enrols one more device for an existing account whose
   * certificate has the fingerprint `certFingerprint`. Durable.
   */
  addDevice(device: { address: string; certFingerprint: string; devicePublicKey: Uint8Array; name: string; enrolledAt: string }): Promise<NewDeviceResult>;
  /**
   * docs/api.md §6.5: marks the device revoked (its requests are refused from the
   * commit on) and frees the mailbox entries only it had still to fetch. Durable.
   */
  revokeDevice(address: string, name: string, revokedAt: string): Promise<RevokeDeviceResult>;
  /** docs/api.md §7.3: replaces the account's certificate by a newer one of the same fingerprint. Durable. */
  replaceCert(address: string, certFingerprint: string, cert: Uint8Array): Promise<boolean>;
  /** docs/api.md §6.6: records (or replaces) the account's permit; false when the address has no account. Durable. */
  permitKeyChange(permit: KeyChangePermit): Promise<boolean>;
  /**
   * docs/api.md §6.6: under an unexpired permit for this fingerprint, in one durable step:
   * the current certificate becomes the previous one (with the date), the new one is
   * served, every device of the old key is revoked, the new device is enrolled, and the
   * permit is used up.
   */
  changeKey(change: KeyChange): Promise<KeyChangeResult>;
  /** docs/api.md §6.4: records `seenAt` as the device's last request when the recorded one is older than `staleBefore`. */
  touchDevice(devicePublicKey: Uint8Array, seenAt: string, staleBefore: string): Promise<void>;

  accountByAddress(address: string): Promise<Account | undefined>;
  accountsByWkdHash(hash: string): Promise<Account[]>;
  /** The addresses in `addresses` that have no account. */
  unknownAddresses(addresses: readonly string[]): Promise<string[]>;

  /** Creates an account and its first device (named `deviceName`, else FIRST_DEVICE_NAME), consuming the invite token (by its SHA-256) in the same transaction. Durable. */
  createAccount(account: Account & { wkdHash: string; deviceName?: string }, inviteTokenSha256: string | null): Promise<NewAccountResult>;
  isInviteUsed(tokenSha256: string): Promise<boolean>;
  /**
   * docs/gateway.md §4.6: records `publicDigest` under `name` unless a process did first, and
   * answers what is recorded (the first process's digest and time), in one statement each.
   */
  sharedKey(name: string, publicDigest: string, at: string): Promise<{ readonly publicDigest: string; readonly firstAt: string }>;

  /**
   * docs/api.md §4.3 step 6: records a nonce until `expiresAt` (Unix seconds), for
   * every relay process sharing the store. Resolves false when this device already
   * used it (a replay).
   */
  rememberNonce(devicePublicKey: Uint8Array, nonce: string, expiresAt: number, nowSeconds: number): Promise<boolean>;
  /**
   * docs/api.md §4.3 steps 5-6 for one signed request: deviceByKey and, when nonceWanted,
   * rememberNonce, as one step (PostgreSQL: the requests of one event-loop turn in one
   * statement, one round trip).
   */
  authenticate(step: AuthStep): Promise<AuthOutcome>;

  /**
   * docs/api.md §4.6.1: records a new session and, in the same durable transaction, closes the
   * device's live sessions beyond `maxPerDevice - 1` (the oldest first, sessionsToEnd), and
   * forgets sessions expired before `session.openedAt`.
   */
  openSession(session: SessionRecord, maxPerDevice: number): Promise<void>;
  /** docs/api.md §4.6.3: the session with this id, open or closed, expired or not (undefined once purged). */
  sessionById(id: string): Promise<SessionRecord | undefined>;
  /** docs/api.md §4.6.4: closes the device's session `id`; false when it was not open. Durable. */
  closeSession(id: string, devicePublicKey: Uint8Array, closedAt: number): Promise<boolean>;

  /**
   * Stores one submission; durable (fsynced) when the promise resolves. With
   * `submission` (docs/api.md §8.10) the key is recorded in the same transaction; when
   * this sender already used the key, nothing is stored and the earlier record is
   * returned instead.
   */
  storeMessage(message: NewMessage, submission?: SubmissionRecord): Promise<SubmissionRecord | undefined>;
  /**
   * docs/api.md §8.2.1: one chunk of a ciphertext being streamed in, under the id its
   * message will have. Durable with the storeMessage that names it (same database log).
   */
  putCiphertextChunk(messageId: string, seq: number, bytes: Uint8Array, createdAt: number): Promise<void>;
  /** docs/api.md §8.2.1: the chunks of an upload refused or cut off (and of any upload abandoned before `before`, Unix seconds). */
  discardCiphertextChunks(messageId: string, before: number): Promise<void>;
  /** docs/api.md §8.2.1: a stored message's ciphertext, chunk by chunk (its whole text for a message not stored in chunks). */
  ciphertextChunks(messageId: string): AsyncIterable<Uint8Array>;
  /** docs/api.md §8.7.1: the `count` chunks put under `id` (an outbound upload or a queued item), one at a time. */
  uploadChunks(id: string, count: number): AsyncIterable<Uint8Array>;
  /** docs/api.md §8.7.1: the chunks under `from` copied under `to` (one queued item per SMTP transaction), in the database. */
  copyChunks(from: string, to: string, createdAt: number): Promise<void>;
  /** docs/api.md §8.10: what `sender` submitted under `key`, if it is still remembered. */
  submissionByKey(sender: string, key: string): Promise<SubmissionRecord | undefined>;
  /**
   * docs/api.md §8.10: records a submission that stored nothing else (POST /v1/outbound);
   * durable on resolve. Returns the earlier record when the key was used already.
   * Records older than SUBMISSION_RETENTION_S are forgotten as it goes.
   */
  rememberSubmission(submission: SubmissionRecord): Promise<SubmissionRecord | undefined>;
  /** Several submissions in one durable transaction (docs/gateway.md §3.2: one sealed copy per SMTP recipient). */
  storeMessages(messages: readonly NewMessage[]): Promise<void>;

  /** Up to `limit` entries of `recipient`'s mailbox with a cursor after `after`, oldest first. */
  listMailbox(recipient: string, after: number, limit: number): Promise<StoredMessage[]>;
  /** One entry of `recipient`'s mailbox, with its ciphertext; undefined when it is not theirs or not there. */
  mailboxEntry(recipient: string, id: string): Promise<(StoredMessage & { armoredMessage: string }) | undefined>;
  /** Deletes one entry of `recipient`'s mailbox, and the ciphertext when no mailbox holds it any more. */
  deleteMailboxEntry(recipient: string, id: string): Promise<boolean>;

  /**
   * docs/api.md §8.8: up to `limit` entries after `after`, oldest first, with their
   * ciphertexts, stopping before the entry that would bring the ciphertexts above
   * `maxBytes` (the first entry is always included). A ciphertext larger than
   * `inlineBytes` (all of them when absent) is left out: the entry has only its size.
   * `more`: whether an entry follows the page's last (found by the same read of the sizes,
   * one entry past `limit`: no second statement per page).
   */
  mailboxPage(recipient: string, after: number, limit: number, maxBytes: number, inlineBytes?: number): Promise<MailboxPageRows>;
  /**
   * docs/api.md §8.5.1: the ciphertext of one entry of `recipient`'s mailbox as a stream of
   * byte slices (at most CIPHERTEXT_SLICE_BYTES each, so the relay never holds it whole in
   * JavaScript), with its size in bytes; undefined when the entry is not theirs or not there.
   * A message deleted while it is read ends the stream early (the client sees fewer bytes
   * than announced and stores nothing).
   */
  mailboxCiphertext(recipient: string, id: string): Promise<{ readonly size: number; readonly chunks: AsyncIterable<Uint8Array> } | undefined>;
  /**
   * docs/api.md §8.9: deletes every entry of `recipient`'s mailbox with a cursor up to
   * `through`, and each ciphertext no mailbox holds any more, in one durable step.
   * Returns how many entries were deleted.
   */
  deleteMailboxThrough(recipient: string, through: number): Promise<number>;
  /**
   * docs/api.md §8.9 with several devices: records that this device holds every entry
   * up to `through`, then deletes (as deleteMailboxThrough) the entries that every
   * device not revoked has acknowledged. Returns how many entries were deleted.
   */
  ackMailbox(recipient: string, devicePublicKey: Uint8Array, through: number): Promise<number>;

  /** docs/disclosure.md §4: every message still held that `address` sent or may fetch, oldest first. */
  messagesConcerning(address: string): Promise<HeldMessage[]>;
  /**
   * docs/disclosure.md §5: appends one line to the disclosure log. `make` is given the
   * last line (null for the first) and returns the new line's JSON text; it runs while
   * no other relay process can append, so the chain has no fork. Durable. Returns its seq.
   */
  appendDisclosureLog(make: (previous: DisclosureLogRow | null) => string): Promise<number>;
  /** The whole disclosure log, in order. */
  disclosureLog(): Promise<DisclosureLogRow[]>;
  /**
   * docs/disclosure.md §3: blanks the IPs in the facts (rows.ts withoutIps) of every
   * stored outside message that arrived before `before` (ISO 8601). Returns how many
   * were changed.
   */
  dropPeerIpsBefore(before: string): Promise<number>;

  /** docs/gateway.md §4.7: queues a deferred outbound message. Durable. */
  enqueueOutbound(item: QueuedOutbound): Promise<void>;
  /**
   * Up to `limit` queued messages due at `now` and claimed by no live process, now
   * claimed by the caller until `leaseUntil` (ISO 8601 times). Oldest due first.
   */
  claimOutbound(now: string, leaseUntil: string, limit: number): Promise<QueuedOutbound[]>;
  /** Another attempt later: the claim is released. */
  deferOutbound(id: string, attempts: number, nextAttemptAt: string, lastError: string): Promise<void>;
  /** Delivered, or failed for good: the message leaves the queue and, in the same durable step, the bounce (if any) enters its sender's mailbox. */
  finishOutbound(id: string, bounce: NewMessage | null, report?: OutboundReport): Promise<void>;
  /** docs/api.md §8.12: one queued message of `sender`, if still queued. */
  queuedOutboundById(sender: string, id: string): Promise<QueuedOutbound | undefined>;
  /** docs/api.md §8.12: the report of one finished queued message of `sender`. */
  outboundReport(sender: string, id: string): Promise<OutboundReport | undefined>;
  /** The reports of one sender, oldest first (docs/disclosure.md §4). */
  outboundReportsOf(sender: string): Promise<OutboundReport[]>;
  /** docs/disclosure.md §1: drops the reports finished before `before` (ISO 8601); returns how many. */
  purgeOutboundReports(before: string): Promise<number>;
  /** docs/gateway.md §4.9: one TLS session with an MX under a policy, counted per day (RFC 8460 §4). */
  recordTlsSession(session: TlsSession): Promise<void>;
  /** The counted sessions of one UTC day (YYYY-MM-DD), of every policy domain not reported yet for that day. */
  tlsSessionsOf(day: string): Promise<TlsSessionCount[]>;
  /**
   * RFC 8460 §4: a report of `day` for `policyDomain` is sent once: false (and nothing
   * queued) when it already was. `mails`, the report's mails, enter the outbound queue in
   * the same durable transaction as the mark, so a crash leaves both or neither; so do
   * `posts`, its HTTPS POSTs (docs/gateway.md §4.9.1).
   */
  claimTlsReport(day: string, policyDomain: string, reportId: string, at: string, mails?: readonly QueuedOutbound[], posts?: readonly TlsReportPost[]): Promise<boolean>;
  /**
   * docs/gateway.md §4.9.1: up to `limit` report POSTs due at `now` (ISO 8601), oldest due
   * first, now leased to the caller: none is due again before `leaseUntil` (another process
   * takes it then if this one died).
   */
  claimTlsPosts(now: string, leaseUntil: string, limit: number): Promise<TlsReportPost[]>;
  /** Another attempt at `nextAttemptAt`. */
  deferTlsPost(id: string, attempts: number, nextAttemptAt: string, lastError: string): Promise<void>;
  /** Posted, or given up: the POST leaves the table. */
  finishTlsPost(id: string): Promise<void>;
  /** docs/disclosure.md §1: drops the counts and report marks of days before `before` (YYYY-MM-DD). */
  purgeTlsSessions(before: string): Promise<void>;
  /** The queued messages of one sender (docs/disclosure.md §4). */
  queuedOutboundOf(sender: string): Promise<QueuedOutbound[]>;
  /** The submissions remembered by idempotency key for one sender, oldest first (docs/disclosure.md §4). */
  submissionsOf(sender: string): Promise<SubmissionRecord[]>;
  /** The sessions still kept (open, closed or expired, not purged yet) of the account's devices, oldest first (docs/disclosure.md §4). */
  sessionsOf(address: string): Promise<HeldSession[]>;

  /** Finishes pending writes and releases the database. */
  close(): Promise<void>;
}
