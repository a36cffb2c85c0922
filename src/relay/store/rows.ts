// Rows as both stores return them, and their mapping to the store's types.

import { withoutIpAddresses } from '../ip-scrub.js';
import type { TlsSession, TlsSessionCount } from '../gateway/tls-rpt.js';
import type { ArrivalFacts } from '../../api/facts.js';
import type { Account, Device, HeldMessage, QueuedOutbound, HeldSession, SessionRecord, StoredMessage, SubmissionRecord, TlsReportPost } from './relay-store.js';

export interface AccountRow {
  address: string;
  local_part: string;
  cert: Buffer;
  cert_fingerprint: string;
  device_public_key: Buffer;
  enrolled_at: string;
  /** docs/api.md §6.6: null until the first key change (absent from rows of older queries). */
  previous_cert?: Buffer | null;
  key_changed_at?: string | null;
}

export interface DeviceRow {
  address: string;
  device_public_key: Buffer;
  name: string;
  enrolled_at: string;
  last_seen_at: string | null;
  revoked_at: string | null;
  /** A number from SQLite, a string from PostgreSQL (bigint). */
  acked_seq: number | string;
}

export const DEVICE_COLUMNS = 'devices.address, devices.device_public_key, devices.name, devices.enrolled_at, devices.last_seen_at, devices.revoked_at, devices.acked_seq';

export function toDevice(row: DeviceRow): Device {
  return {
    address: row.address,
    devicePublicKey: new Uint8Array(row.device_public_key),
    name: row.name,
    enrolledAt: row.enrolled_at,
    lastSeenAt: row.last_seen_at,
    revokedAt: row.revoked_at,
    ackedCursor: Number(row.acked_seq),
  };
}

/** docs/api.md §4.6: a row of the sessions table (bigints are strings from PostgreSQL). */
export interface SessionRow {
  id: string;
  device_public_key: Buffer;
  client_share: string;
  secret_id: string;
  opened_at: number | string;
  expires_at: number | string;
  closed_at: number | string | null;
  opening: number | string;
}

export function toSession(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    devicePublicKey: new Uint8Array(row.device_public_key),
    clientShare: row.client_share,
    secretId: row.secret_id,
    openedAt: Number(row.opened_at),
    expiresAt: Number(row.expires_at),
    closedAt: row.closed_at === null ? null : Number(row.closed_at),
  };
}

export function toHeldSession(row: SessionRow): HeldSession {
  return { ...toSession(row), opening: Number(row.opening) };
}

export interface MailboxRow {
  /** A number from SQLite, a string from PostgreSQL (bigint). */
  seq: number | string;
  id: string;
  sender: string;
  recipients: string;
  size: number;
  facts: string;
}

export function toAccount(row: AccountRow): Account {
  return {
    address: row.address,
    localPart: row.local_part,
    cert: new Uint8Array(row.cert),
    certFingerprint: row.cert_fingerprint,
    devicePublicKey: new Uint8Array(row.device_public_key),
    enrolledAt: row.enrolled_at,
    ...(row.previous_cert && row.key_changed_at ? { keyChange: { previousCert: new Uint8Array(row.previous_cert), changedAt: row.key_changed_at } } : {}),
  };
}

export function toStoredMessage(row: MailboxRow): StoredMessage {
  return {
    id: row.id,
    cursor: String(row.seq),
    from: row.sender,
    to: JSON.parse(row.recipients) as string[],
    size: row.size,
    facts: JSON.parse(row.facts) as ArrivalFacts,
  };
}

/** docs/api.md §8.8: the cursor of the last entry that keeps the page within maxBytes (the first always fits). */
/** docs/api.md §8.5.1: the relay reads a streamed ciphertext from its store this many bytes at a time. */
export const CIPHERTEXT_SLICE_BYTES = 4 * 1024 * 1024;

export function lastWithin(heads: readonly { seq: number | string; size: number }[], maxBytes: number): number | undefined {
  let total = 0;
  let last: number | undefined;
  for (const [index, head] of heads.entries()) {
    if (index > 0 && total + head.size > maxBytes) break;
    total += head.size;
    last = Number(head.seq);
  }
  return last;
}

export interface HeldRow {
  id: string;
  sender: string;
  recipients: string;
  size: number;
  facts: string;
  armored_message: string;
}

function factsTime(facts: ArrivalFacts): string {
  return facts.receivedAt;
}

/** docs/disclosure.md §4: the messages with the address's own mailbox entries, oldest first. */
export function toHeldMessages(rows: readonly HeldRow[], entries: readonly { id: string; seq: number | string; message_id: string }[]): HeldMessage[] {
  return rows
    .map((row) => {
      const facts = JSON.parse(row.facts) as ArrivalFacts;
      return {
        id: row.id,
        sender: row.sender,
        recipients: JSON.parse(row.recipients) as string[],
        size: row.size,
        facts,
        armoredMessage: row.armored_message,
        entries: entries.filter((entry) => entry.message_id === row.id).map((entry) => ({ id: entry.id, cursor: String(entry.seq) })),
      };
    })
    .sort((a, b) => (factsTime(a.facts) < factsTime(b.facts) ? -1 : factsTime(a.facts) > factsTime(b.facts) ? 1 : a.id < b.id ? -1 : 1));
}

/**
 * docs/disclosure.md §3: the facts of an outside message once the IP retention period
 * is over: the sending server's IP blanked, and addresses cut from the hops and from the
 * EHLO name (`mx.example [192.0.2.1]` becomes `mx.example`; an EHLO of `[IPv6:2001:db8::5]`
 * or `198.51.100.7`, an address itself, becomes empty: ip-scrub.ts).
 */
export function withoutIps(facts: ArrivalFacts): ArrivalFacts {
  if (facts.route !== 'smtp-inbound') return facts;
  return {
    ...facts,
    peer: { ...facts.peer, ip: '', host: withoutIpAddresses(facts.peer.host) },
    hops: facts.hops.map((hop) => ({ ...hop, from: withoutIpAddresses(hop.from.replace(/\s*\[[^\]]*\]/g, '')), by: withoutIpAddresses(hop.by.replace(/\s*\[[^\]]*\]/g, '')) })),
  };
}

export interface SubmissionRow {
  sender: string;
  idempotency_key: string;
  request_sha256: string;
  response: string;
  created_at: number | string;
}

export function toSubmission(row: SubmissionRow): SubmissionRecord {
  return { sender: row.sender, key: row.idempotency_key, requestSha256: row.request_sha256, response: row.response, createdAt: Number(row.created_at) };
}

export interface QueuedRow {
  id: string;
  sender: string;
  recipients: string;
  message: Buffer;
  /** 0/1 from SQLite, a boolean from PostgreSQL. */
  exposed: number | boolean;
  created_at: string;
  give_up_at: string;
  attempts: number;
  next_attempt_at: string;
  last_error: string;
  /** 0/1 from SQLite, a boolean from PostgreSQL (migration 7). */
  require_tls: number | boolean;
  /** Migration 11: the chunks the message waits in (0: whole in `message`). */
  chunks?: number;
}

export function toQueuedOutbound(row: QueuedRow): QueuedOutbound {
  return {
    id: row.id,
    sender: row.sender,
    recipients: JSON.parse(row.recipients) as string[],
    message: new Uint8Array(row.message),
    exposed: row.exposed === true || row.exposed === 1,
    createdAt: row.created_at,
    giveUpAt: row.give_up_at,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    requireTls: row.require_tls === true || row.require_tls === 1,
    ...(row.chunks ? { chunks: Number(row.chunks) } : {}),
  };
}

/** docs/gateway.md §4.9.1: a row of tls_rpt_posts (both stores). */
export interface TlsPostRow {
  id: string;
  report_id: string;
  policy_domain: string;
  url: string;
  body: Uint8Array;
  created_at: string;
  give_up_at: string;
  attempts: number;
  next_attempt_at: string;
  last_error: string;
}

export function toTlsReportPost(row: TlsPostRow): TlsReportPost {
  return {
    id: row.id,
    reportId: row.report_id,
    policyDomain: row.policy_domain,
    url: row.url,
    body: new Uint8Array(row.body),
    createdAt: row.created_at,
    giveUpAt: row.give_up_at,
    attempts: Number(row.attempts),
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
  };
}

/** The columns of tls_rpt_posts in INSERT order, for one post. */
export function tlsPostValues(post: TlsReportPost): unknown[] {
  return [post.id, post.reportId, post.policyDomain, post.url, post.body, post.createdAt, post.giveUpAt, post.attempts, post.nextAttemptAt, post.lastError];
}

export const INSERT_TLS_POST = 'INSERT INTO tls_rpt_posts (id, report_id, policy_domain, url, body, created_at, give_up_at, attempts, next_attempt_at, last_error) VALUES ';

/** docs/gateway.md §4.9: a row of tls_rpt_sessions (both stores). */
export interface TlsSessionRow {
  day: string;
  policy_domain: string;
  policy_type: string;
  policy_strings: string;
  mx_hosts: string;
  result: string;
  sending_ip: string;
  receiving_mx: string;
  receiving_ip: string;
  count: number | string;
}

/** The primary key's values, in the column order of the INSERT (both stores). */
export function tlsSessionKey(session: TlsSession): [string, string, string, string, string, string, string, string, string] {
  return [session.day, session.policyDomain, session.policyType, JSON.stringify(session.policyStrings), JSON.stringify(session.mxHosts), session.result, session.sendingIp, session.receivingMx, session.receivingIp];
}

export function toTlsSessionCount(row: TlsSessionRow): TlsSessionCount {
  return {
    day: row.day,
    policyDomain: row.policy_domain,
    policyType: row.policy_type as TlsSessionCount['policyType'],
    policyStrings: JSON.parse(row.policy_strings) as string[],
    mxHosts: JSON.parse(row.mx_hosts) as string[],
    result: row.result as TlsSessionCount['result'],
    sendingIp: row.sending_ip,
    receivingMx: row.receiving_mx,
    receivingIp: row.receiving_ip,
    count: Number(row.count),
  };
}
