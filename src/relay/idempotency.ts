// docs/api.md §8.10: exactly-once submission. A stick that lost the answer to a
// submission (killed, unplugged, cut off) sends the same request again with the same
// idempotency key; the relay answers what it answered the first time and delivers
// nothing more. The same key with another body is refused.

import { createHash } from 'node:crypto';
import { RelayHttpError } from './http-error.js';
import type { SubmissionRecord } from './store/relay-store.js';

/** Hex SHA-256 of the request body exactly as received. */
export function requestSha256(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/** The recorded answer to send again, or 422 when the key came with another request. */
export function replayAnswer(record: SubmissionRecord, sha256: string): unknown {
  if (record.requestSha256 !== sha256) {
    throw new RelayHttpError(422, 'idempotency_key_reused', 'this idempotency key was used for another request; a new submission needs a new key');
  }
  return JSON.parse(record.response) as unknown;
}

/** Marks an answer as a replay (docs/api.md §8.10). */
export const REPLAY_HEADER = 'Idempotent-Replayed';
