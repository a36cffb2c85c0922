// The zod schemas of the message store's index and journal (normative: docs/store.md §2, §4):
// the definition of the format, its types (z.infer, in store-format.ts) and the errors' words.
// Issue 13: not loaded by an unlock that finds a well-formed index and journal
// (store-format.ts checks them with src/core/json-shape.ts); imported when a check fails.
import { z } from 'zod';
import { OBJECT_NAME, STORE_INDEX_FORMAT } from './store-format.js';

const isoDate = z.string().datetime();

/** §2: one line of the index: what listing, sorting and de-duplication need, nothing more. */
export const IndexEntrySchema = z.strictObject({
  id: z.string(),
  /** The object holding the whole message (§5). */
  object: z.string().regex(OBJECT_NAME),
  direction: z.enum(['in', 'out']),
  relayId: z.string().optional(),
  from: z.string(),
  to: z.array(z.string()),
  subject: z.string(),
  date: isoDate,
  storedAt: isoDate,
  unread: z.boolean(),
  /** Plaintext bytes of the message object. */
  size: z.number().int().nonnegative(),
  /** docs/store.md §2: a sent copy whose queued delivery the relay has not reported yet (docs/vault-contents.md §5.5). */
  awaitingDelivery: z.literal(true).optional(),
  /** Blob objects (attachments) that belong to this message, deleted with it. */
  blobs: z.array(z.string().regex(OBJECT_NAME)).optional(),
});

export const StoreStateSchema = z.strictObject({
  format: z.literal(STORE_INDEX_FORMAT),
  /** The next local message id (ids are small numbers, never reused). */
  nextId: z.number().int().positive(),
  /** The relay's mailbox cursor: messages up to it are stored. */
  relayCursor: z.string().optional(),
  entries: z.array(IndexEntrySchema),
});

/** §4: one change; a journal record holds one or more, applied all or none. */
export const StoreOpSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('put'), entry: IndexEntrySchema }),
  z.strictObject({ op: z.literal('set'), id: z.string(), unread: z.boolean() }),
  /** §4: a folded journal's marks: the same as a set of each id, in one op (one string per id to parse). */
  z.strictObject({ op: z.literal('marks'), unread: z.boolean(), ids: z.array(z.string()).min(1) }),
  z.strictObject({ op: z.literal('delete'), id: z.string() }),
  z.strictObject({ op: z.literal('cursor'), cursor: z.string() }),
  z.strictObject({ op: z.literal('next-id'), nextId: z.number().int().positive() }),
]);
export const JournalRecordSchema = z.array(StoreOpSchema).min(1);
