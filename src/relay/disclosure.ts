// What a judge can be given (docs/disclosure.md §4, §5): the signed archive of what the
// relay holds about one address, and the tamper-evident log of every disclosure made.
// Both are signed with the relay's disclosure key (Ed25519, DIR/disclosure-key.pem,
// made on first use); the log is hash-chained: each line names the SHA-256 of the line
// before it, so a changed, removed or inserted line breaks the chain or a signature.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { deviceFingerprint } from '../api/request-signing.js';
import { writeFileDurablySync } from './durable-file.js';
import type { DisclosureLogRow, HeldMessage, RelayStore } from './store/relay-store.js';

export const ARCHIVE_FORMAT = 'caliop-relay-disclosure/1';
export const LOG_FORMAT = 'caliop-relay-disclosure-log/1';
const GENESIS = '0'.repeat(64);

/** docs/disclosure.md §4: printed on the archive's face. */
export const ARCHIVE_STATEMENT =
  'This archive holds everything this relay keeps about the address below. Internal messages ' +
  '(between addresses of this relay) appear only as the OpenPGP ciphertexts their senders made: ' +
  'the relay never held their contents, subjects or other headers readable, and none are in this archive. ' +
  'Messages already fetched and deleted by their recipients are gone and are not in it.';

export interface DisclosureKey {
  readonly privateKey: KeyObject;
  /** Raw 32-byte Ed25519 public key, base64. */
  readonly publicKey: string;
}

function rawPublicKey(privateKey: KeyObject): string {
  const der = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32).toString('base64');
}

function publicKeyObject(raw: string): KeyObject {
  // RFC 8410 §4: the SPKI of an Ed25519 key is this fixed 12-byte prefix and the raw key.
  const prefix = Buffer.from('302a300506032b6570032100', 'hex');
  return createPublicKey({ key: Buffer.concat([prefix, Buffer.from(raw, 'base64')]), format: 'der', type: 'spki' });
}

export const DISCLOSURE_KEY_FILE = 'disclosure-key.pem';

/** The disclosure key file cannot be used (corrupt, not a private key, not Ed25519). */
export class DisclosureKeyUnreadable extends Error {
  override readonly name = 'DisclosureKeyUnreadable';
}

/**
 * The disclosure key of the data folder, or null when there is none. Never makes one:
 * every relay host of one store uses the same key (docs/disclosure.md §5).
 */
export function readDisclosureKey(dataDir: string): DisclosureKey | null {
  const file = join(dataDir, DISCLOSURE_KEY_FILE);
  if (!existsSync(file)) return null;
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DisclosureKeyUnreadable(`${file} is not a PEM private key (${(error as Error).message})`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new DisclosureKeyUnreadable(`${file} is not an Ed25519 key but ${privateKey.asymmetricKeyType}`);
  return { privateKey, publicKey: rawPublicKey(privateKey) };
}

/** Makes the disclosure key (mode 0600) in an existing data folder: the first disclosure of a deployment. */
export function createDisclosureKey(dataDir: string): DisclosureKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileDurablySync(join(dataDir, DISCLOSURE_KEY_FILE), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  return { privateKey, publicKey: rawPublicKey(privateKey) };
}

/** The disclosure key of an existing data folder, made if it has none (tests, the first disclosure). */
export function ensureDisclosureKey(dataDir: string): DisclosureKey {
  return readDisclosureKey(dataDir) ?? createDisclosureKey(dataDir);
}

const sha256Hex = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/** The archive's contents (what is signed). */
export interface DisclosureBody {
  readonly format: typeof ARCHIVE_FORMAT;
  readonly statement: string;
  readonly address: string;
  readonly since: string | null;
  /** Present only when given (`--until`): archives without it keep their shape. */
  readonly until?: string;
  readonly madeAt: string;
  readonly store: 'sqlite' | 'postgres';
  readonly account: {
    readonly address: string;
    readonly enrolledAt: string;
    readonly certFingerprint: string;
    readonly armoredCert: string;
    readonly devices: {
      readonly fingerprint: string;
      readonly publicKey: string;
      readonly name: string;
      readonly enrolledAt: string;
      readonly lastSeenAt: string | null;
      readonly revokedAt: string | null;
      readonly ackedCursor: number;
    }[];
  } | null;
  readonly messages: {
    readonly id: string;
    /** sent: by this address; received: in its mailbox; both: sent to itself. */
    readonly direction: 'sent' | 'received' | 'both';
    readonly sender: string;
    readonly recipients: string[];
    readonly size: number;
    readonly facts: HeldMessage['facts'];
    readonly mailboxEntries: HeldMessage['entries'];
    readonly armoredCiphertext: string;
  }[];
  /** docs/gateway.md §4.7: its deferred messages to outside addresses, as they will leave. */
  readonly queuedOutbound: {
    readonly id: string;
    readonly recipients: readonly string[];
    readonly exposed: boolean;
    readonly createdAt: string;
    readonly attempts: number;
    readonly nextAttemptAt: string;
    readonly lastError: string;
    readonly requireTls: boolean;
    readonly messageBase64: string;
  }[];
  /** docs/api.md §8.12: what became of its queued messages (30 days): delivered with the facts, or bounced with the reason. */
  readonly outboundReports: {
    readonly id: string;
    readonly state: 'delivered' | 'bounced';
    readonly at: string;
    readonly detail: unknown;
  }[];
  /**
   * docs/api.md §8.10: the answers remembered under its idempotency keys (30 days): the
   * key, the SHA-256 of the request, when, and the answer as given (for POST /v1/outbound,
   * the facts of the delivery: servers, IPs, TLS).
   */
  readonly submissions: {
    readonly idempotencyKey: string;
    readonly requestSha256: string;
    readonly createdAt: string;
    readonly response: unknown;
  }[];
  /**
   * docs/api.md §4.6: the sessions its devices opened that the relay still keeps (until their
   * expiry, then purged): public facts only; the relay keeps no session key.
   */
  readonly sessions: {
    readonly id: string;
    readonly deviceFingerprint: string;
    readonly opening: number;
    readonly clientShare: string;
    readonly secretId: string;
    readonly openedAt: string;
    readonly expiresAt: string;
    readonly closedAt: string | null;
  }[];
  /** Lines of DIR/log that name the account (its device fingerprint or its address). */
  readonly logLines: string[];
}

export interface DisclosureRequest {
  readonly address: string;
  /** ISO 8601; messages and log lines before it are left out. */
  readonly since: string | null;
  /** ISO 8601; messages and log lines at or after it are left out (absent: none). */
  readonly until?: string | null;
  readonly now: Date;
  readonly logLines: readonly string[];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isoOfSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

function timeOfFacts(facts: HeldMessage['facts']): string {
  return facts.receivedAt;
}

/**
 * docs/disclosure.md §4: gathers what the store and the log hold about one address.
 * `holdsAnything`: whether the relay holds anything about it at all, before --since
 * (no account, no message, no log line naming it: nothing to disclose, §4.1).
 */
export async function gatherDisclosure(store: RelayStore, request: DisclosureRequest): Promise<{ body: DisclosureBody; holdsAnything: boolean }> {
  const account = (await store.accountByAddress(request.address)) ?? null;
  const since = request.since;
  const until = request.until ?? null;
  /** docs/disclosure.md §4: in [--since, --until), each bound when given. */
  const inPeriod = (time: string) => (since === null || time >= since) && (until === null || time < until);
  const allMessages = await store.messagesConcerning(request.address);
  const messages = allMessages.filter((message) => inPeriod(timeOfFacts(message.facts)));
  // docs/api.md §6.4: every device of the account, revoked ones included.
  const devices = account === null ? [] : (await store.devicesOf(account.address)).map((device) => ({
          fingerprint: deviceFingerprint(device.devicePublicKey),
          publicKey: Buffer.from(device.devicePublicKey).toString('base64'),
          name: device.name,
          enrolledAt: device.enrolledAt,
          lastSeenAt: device.lastSeenAt,
          revokedAt: device.revokedAt,
          ackedCursor: device.ackedCursor,
        }));
  const names = [request.address, ...devices.map((device) => device.fingerprint)];
  const namingLines = request.logLines.filter((line) => names.some((name) => line.includes(name)));
  const logLines = namingLines.filter((line) => {
    if (since === null && until === null) return true;
    const time = /"time":"([^"]+)"/.exec(line)?.[1];
    return time === undefined || inPeriod(time);
  });
  const queued = await store.queuedOutboundOf(request.address);
  const reports = await store.outboundReportsOf(request.address);
  const submissions = await store.submissionsOf(request.address);
  const sessions = await store.sessionsOf(request.address);
  const holdsAnything =
    account !== null || allMessages.length > 0 || namingLines.length > 0 || queued.length > 0 || reports.length > 0 || submissions.length > 0 || sessions.length > 0;
  const body: DisclosureBody = {
    format: ARCHIVE_FORMAT,
    statement: ARCHIVE_STATEMENT,
    address: request.address,
    since,
    ...(until === null ? {} : { until }),
    madeAt: request.now.toISOString(),
    store: store.kind,
    account:
      account === null
        ? null
        : {
            address: account.address,
            enrolledAt: account.enrolledAt,
            certFingerprint: account.certFingerprint,
            armoredCert: (await openpgp.readKey({ binaryKey: account.cert as Uint8Array<ArrayBuffer> })).armor(),
            devices,
          },
    messages: messages.map((message) => {
      const sent = message.sender === request.address;
      const received = message.entries.length > 0;
      return {
        id: message.id,
        direction: sent && received ? 'both' : sent ? 'sent' : 'received',
        sender: message.sender,
        recipients: message.recipients,
        size: message.size,
        facts: message.facts,
        mailboxEntries: message.entries,
        armoredCiphertext: message.armoredMessage,
      };
    }),
    queuedOutbound: queued
      .filter((item) => inPeriod(item.createdAt))
      .map((item) => ({
        id: item.id,
        recipients: item.recipients,
        exposed: item.exposed,
        createdAt: item.createdAt,
        attempts: item.attempts,
        nextAttemptAt: item.nextAttemptAt,
        lastError: item.lastError,
        requireTls: item.requireTls,
        messageBase64: Buffer.from(item.message).toString('base64'),
      })),
    outboundReports: reports
      .filter((report) => inPeriod(report.at))
      .map((report) => ({ id: report.id, state: report.state, at: report.at, detail: report.state === 'delivered' ? parseJson(report.detail) : report.detail })),
    submissions: submissions
      .map((record) => ({ idempotencyKey: record.key, requestSha256: record.requestSha256, createdAt: isoOfSeconds(record.createdAt), response: parseJson(record.response) }))
      .filter((record) => inPeriod(record.createdAt)),
    sessions: sessions
      .map((session) => ({
        id: session.id,
        deviceFingerprint: deviceFingerprint(session.devicePublicKey),
        opening: session.opening,
        clientShare: session.clientShare,
        secretId: session.secretId,
        openedAt: isoOfSeconds(session.openedAt),
        expiresAt: isoOfSeconds(session.expiresAt),
        closedAt: session.closedAt === null ? null : isoOfSeconds(session.closedAt),
      }))
      .filter((session) => inPeriod(session.openedAt)),
    logLines,
  };
  return { body, holdsAnything };
}

/**
 * The archive as written to PATH: JSON whose `body` is signed. The signed bytes are
 * `JSON.stringify(body, null, 2)` in UTF-8, which a parse and re-stringify of the
 * file's `body` reproduces exactly (docs/disclosure.md §4.2).
 */
export function signedArchive(body: DisclosureBody, key: DisclosureKey): string {
  const bodyText = JSON.stringify(body, null, 2);
  const signature = sign(null, Buffer.from(bodyText, 'utf8'), key.privateKey).toString('base64');
  return `${JSON.stringify({ format: ARCHIVE_FORMAT, body, signature: { algorithm: 'ed25519', publicKey: key.publicKey, value: signature } }, null, 2)}\n`;
}

/** Checks an archive's signature against the relay's published disclosure key; returns its body. */
export function verifyArchive(text: string, publicKey: string): DisclosureBody {
  const parsed = JSON.parse(text) as { format?: unknown; body?: DisclosureBody; signature?: { publicKey?: unknown; value?: unknown } };
  if (parsed.format !== ARCHIVE_FORMAT || parsed.body === undefined || typeof parsed.signature?.value !== 'string') throw new Error('not a disclosure archive');
  if (parsed.signature.publicKey !== publicKey) throw new Error('the archive is signed with another key');
  const ok = verify(null, Buffer.from(JSON.stringify(parsed.body, null, 2), 'utf8'), publicKeyObject(publicKey), Buffer.from(parsed.signature.value, 'base64'));
  if (!ok) throw new Error('the archive signature does not verify: it was changed');
  return parsed.body;
}

/** One line of the disclosure log (docs/disclosure.md §5). */
export interface DisclosureLogEntry {
  readonly format: typeof LOG_FORMAT;
  readonly seq: number;
  readonly at: string;
  readonly address: string;
  readonly since: string | null;
  /** Present only when the disclosure had one (lines before --until existed keep their signed text). */
  readonly until?: string;
  /** SHA-256 of the archive file given. */
  readonly archiveSha256: string;
  /** SHA-256 of the previous line's text; 64 zeros for the first. */
  readonly previous: string;
  readonly publicKey: string;
  /** Ed25519 over the line without this field (JSON.stringify, this key order). */
  readonly signature: string;
}

function unsignedText(entry: Omit<DisclosureLogEntry, 'signature'>): string {
  const { format, seq, at, address, since, until, archiveSha256, previous, publicKey } = entry;
  return JSON.stringify({ format, seq, at, address, since, ...(until === undefined ? {} : { until }), archiveSha256, previous, publicKey });
}

/** The line appended after `previous` (null: the first line). */
export function nextLogLine(previous: DisclosureLogRow | null, fields: { at: string; address: string; since: string | null; until?: string; archiveSha256: string }, key: DisclosureKey): string {
  const unsigned = {
    format: LOG_FORMAT,
    seq: (previous?.seq ?? 0) + 1,
    ...fields,
    previous: previous === null ? GENESIS : sha256Hex(previous.entry),
    publicKey: key.publicKey,
  } as const;
  const signature = sign(null, Buffer.from(unsignedText(unsigned), 'utf8'), key.privateKey).toString('base64');
  return JSON.stringify({ ...JSON.parse(unsignedText(unsigned)), signature });
}

export type LogVerdict =
  | { readonly ok: true; readonly count: number; readonly head: string }
  | { readonly ok: false; readonly seq: number; readonly problem: string };

/** docs/disclosure.md §5: walks the chain; the first line that was changed, removed or inserted is named. */
export function verifyDisclosureLog(rows: readonly DisclosureLogRow[], publicKey: string): LogVerdict {
  let previousText: string | null = null;
  const key = publicKeyObject(publicKey);
  for (const [index, row] of rows.entries()) {
    const fail = (problem: string): LogVerdict => ({ ok: false, seq: row.seq, problem });
    let entry: DisclosureLogEntry;
    try {
      entry = JSON.parse(row.entry) as DisclosureLogEntry;
    } catch {
      return fail('the line is not JSON');
    }
    if (entry.format !== LOG_FORMAT) return fail('unknown format');
    if (row.seq !== index + 1 || entry.seq !== row.seq) return fail(`line ${index + 1} is missing or out of order`);
    const expected = previousText === null ? GENESIS : sha256Hex(previousText);
    if (entry.previous !== expected) return fail('the chain is broken: the line before it was changed or removed');
    if (entry.publicKey !== publicKey) return fail('signed with another key');
    if (typeof entry.signature !== 'string' || !verify(null, Buffer.from(unsignedText(entry), 'utf8'), key, Buffer.from(entry.signature, 'base64'))) {
      return fail('the signature does not verify: the line was changed');
    }
    if (row.entry !== JSON.stringify({ ...JSON.parse(unsignedText(entry)), signature: entry.signature })) return fail('the line carries extra or reordered fields');
    previousText = row.entry;
  }
  return { ok: true, count: rows.length, head: previousText === null ? GENESIS : sha256Hex(previousText) };
}

/** A disclosure log that does not verify with this host's key (exit 3, docs/disclosure.md §5). */
export class DisclosureLogBroken extends Error {
  override readonly name = 'DisclosureLogBroken';
  constructor(
    message: string,
    /** Set when the log is signed with another key than this host's (or this host has none). */
    readonly otherKey: { readonly logKey: string; readonly hostKey: string | null } | null = null,
  ) {
    super(message);
  }
}

/** docs/disclosure.md §4.1: the relay holds nothing about the address (no archive, no line). */
export class NothingHeld extends Error {
  override readonly name = 'NothingHeld';
}

/** docs/disclosure.md §4.3: the archive cannot be made in one piece. */
export class ArchiveTooLarge extends Error {
  override readonly name = 'ArchiveTooLarge';
}

/**
 * docs/disclosure.md §4.3: the most characters of ciphertext, queued mail, certificate and log
 * lines one archive holds. The archive is one JSON string, written twice (the signed body,
 * then the file); V8's longest string is 2^29 - 24 characters. JSON escapes and the rest of the
 * body stay well under the margin left.
 */
export const MAX_ARCHIVE_CONTENT_CHARS = 200 * 1024 * 1024;

function contentChars(body: DisclosureBody): number {
  let total = body.account?.armoredCert.length ?? 0;
  for (const message of body.messages) total += message.armoredCiphertext.length;
  for (const item of body.queuedOutbound) total += item.messageBase64.length;
  for (const line of body.logLines) total += line.length;
  return total;
}

/** Where the archive goes: opened (created, never over a file) before its log line, written after. */
export interface ArchiveOutput {
  /** Creates the file exclusively; throws when it cannot (then no line is appended). */
  open(): void;
  write(text: string): void;
  /** Removes the file open() made, when no line was appended after all. */
  abandon(): void;
}

/** This host's disclosure key, or none yet: made only for the first disclosure of a deployment. */
export interface DisclosureKeySource {
  readonly existing: DisclosureKey | null;
  readonly create: () => DisclosureKey;
}

function logKeyOf(entry: string): string {
  try {
    const key = (JSON.parse(entry) as { publicKey?: unknown }).publicKey;
    return typeof key === 'string' ? key : '(none)';
  } catch {
    return '(unreadable)';
  }
}

/** docs/disclosure.md §5: the whole log verifies with this host's key, or nothing is appended. */
export function checkLogBeforeAppend(rows: readonly DisclosureLogRow[], hostKey: string | null): void {
  const first = rows[0];
  if (first === undefined) return;
  const logKey = logKeyOf(first.entry);
  if (hostKey === null) {
    throw new DisclosureLogBroken(`the disclosure log (${rows.length} lines) is signed with the key ${logKey}, and this host has no disclosure key`, { logKey, hostKey });
  }
  const verdict = verifyDisclosureLog(rows, hostKey);
  if (verdict.ok) return;
  if (verdict.problem === 'signed with another key') {
    const other = logKeyOf(rows[verdict.seq - 1]?.entry ?? first.entry);
    throw new DisclosureLogBroken(`the disclosure log is signed with the key ${other} (line ${verdict.seq}), but this host's disclosure key is ${hostKey}`, { logKey: other, hostKey });
  }
  throw new DisclosureLogBroken(`the disclosure log does not verify at line ${verdict.seq}: ${verdict.problem}`);
}

/**
 * Verifies the log with this host's key, gathers and signs the archive, opens its file,
 * appends the disclosure's line to the log, then writes the archive: a disclosure is never
 * given without its line (a failed write after the line leaves a line for an archive nobody
 * got, the safe side; a file that cannot be made fails before the line). Returns the log
 * seq and the archive's SHA-256.
 */
export async function makeDisclosure(
  store: RelayStore,
  keys: DisclosureKeySource,
  request: DisclosureRequest,
  output: ArchiveOutput,
  maxContentChars: number = MAX_ARCHIVE_CONTENT_CHARS,
): Promise<{ seq: number; archiveSha256: string; body: DisclosureBody; key: DisclosureKey }> {
  checkLogBeforeAppend(await store.disclosureLog(), keys.existing?.publicKey ?? null);
  const { body, holdsAnything } = await gatherDisclosure(store, request);
  if (!holdsAnything) throw new NothingHeld(`the relay holds nothing about ${request.address}: no account, no message, no log line`);
  const chars = contentChars(body);
  if (chars > maxContentChars) {
    throw new ArchiveTooLarge(`the archive about ${request.address} is too large to make in one piece (${Math.ceil(chars / 1048576)} MiB of content, at most ${Math.floor(maxContentChars / 1048576)} MiB)`);
  }
  let text: string;
  const key = keys.existing ?? keys.create();
  try {
    text = signedArchive(body, key);
  } catch (error) {
    if (error instanceof RangeError) throw new ArchiveTooLarge(`the archive about ${request.address} is too large to make in one piece`);
    throw error;
  }
  const archiveSha256 = sha256Hex(text);
  output.open();
  let seq: number;
  try {
    seq = await store.appendDisclosureLog((previous) => {
      // Another host may have appended since the check: its line must be signed with this key too.
      if (previous !== null && logKeyOf(previous.entry) !== key.publicKey) {
        throw new DisclosureLogBroken(`the disclosure log is signed with the key ${logKeyOf(previous.entry)} (line ${previous.seq}), but this host's disclosure key is ${key.publicKey}`, { logKey: logKeyOf(previous.entry), hostKey: key.publicKey });
      }
      return nextLogLine(previous, { at: request.now.toISOString(), address: request.address, since: request.since, ...(request.until ? { until: request.until } : {}), archiveSha256 }, key);
    });
  } catch (error) {
    output.abandon();
    throw error;
  }
  output.write(text);
  return { seq, archiveSha256, body, key };
}
