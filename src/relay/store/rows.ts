// Rows as both stores return them, and their mapping to the store's types.

import type { ArrivalFacts } from '../../api/facts.js';
import type { Account, StoredMessage } from './relay-store.js';

export interface AccountRow {
  address: string;
  local_part: string;
  cert: Buffer;
  cert_fingerprint: string;
  device_public_key: Buffer;
  enrolled_at: string;
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
