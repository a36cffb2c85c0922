// The narrow API's request and response bodies (docs/api.md). The relay validates
// every request with these schemas and the client validates every response with
// them; docs/api.openapi.json is generated from them (scripts/make-openapi.ts).
//
// Requests are strict: an unknown field is a 400 (docs/api.md §5.2). Responses
// are read leniently (unknown fields are dropped) so a relay may add fields.

import { z } from 'zod';
import { FINGERPRINT_PATTERN } from '../core/openpgp-algorithms.js';
import { ArrivalFactsSchema } from './facts.js';
import { PROTOCOL_LIMITS } from './limits.js';
import { AddressSchema, CursorSchema, DeviceNameSchema, IdempotencyKeySchema, MessageIdSchema } from './schemas-common.js';

export { AddressSchema, CursorSchema, DeviceNameSchema, MessageIdSchema } from './schemas-common.js';
export { ArrivalFactsSchema, InternalArrivalFactsSchema, TransportFactsSchema } from './facts.js';
export type { ArrivalFacts, InternalArrivalFacts, TransportFacts } from './facts.js';

export { PROTOCOL_LIMITS } from './limits.js';

// ---- §5.1 errors -----------------------------------------------------------

export const ErrorBodySchema = z.object({
  error: z.object({
    /** A stable machine-readable code (docs/api.md §5.2 lists them). */
    code: z.string(),
    /** A sentence for humans; never contains message content or secrets. */
    message: z.string(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

// ---- §6.1 relay info ---------------------------------------------------------

export const RelayInfoSchema = z.object({
  apiVersion: z.literal(1),
  /** The relay's mail domain: addresses are `local@domain`; signed into every request (§4.2). */
  domain: z.string(),
  inviteRequired: z.boolean(),
  /** §6.1: fingerprint of the release certificate the relay vouches for (docs/manifest.md §8); absent when it names none. */
  releaseFingerprint: z.string().regex(/^(?:[0-9A-F]{40}|[0-9A-F]{64})$/).optional(),
  limits: z.object({
    maxMessageBytes: z.number().int().positive(),
    maxRecipients: z.number().int().positive(),
    maxPageSize: z.number().int().positive(),
    /** §8.8: ciphertext bytes per mailbox page (absent from relays before it). */
    maxBatchBytes: z.number().int().positive().optional(),
    /** §5.3: the per-device token bucket, so a client can pace itself (absent from relays before it). */
    rateBurst: z.number().int().positive().optional(),
    ratePerMinute: z.number().positive().optional(),
  }),
  /** §4.6: the relay accepts sessions, of this lifetime; absent: it does not (the client signs every request). */
  sessions: z.object({ lifetimeSeconds: z.number().int().positive() }).optional(),
});
export type RelayInfo = z.infer<typeof RelayInfoSchema>;

// ---- §6.2 enrolment ----------------------------------------------------------

export const EnrolRequestSchema = z.strictObject({
  address: AddressSchema,
  /** The user's OpenPGP certificate (v4, public only), ASCII-armored. */
  armoredCert: z.string().min(1).max(PROTOCOL_LIMITS.maxCertBytes),
  /** Detached ASCII-armored OpenPGP signature over the enrolment statement (§6.2). */
  proofSignature: z.string().min(1).max(PROTOCOL_LIMITS.maxProofSignatureBytes),
  /** Required when the relay runs with --invite-tokens. */
  inviteToken: z.string().min(1).max(PROTOCOL_LIMITS.maxInviteTokenLength).optional(),
  /** §6.4: this device's name within the account; the relay names it `stick-N` when absent. */
  deviceName: DeviceNameSchema.optional(),
});
export type EnrolRequest = z.infer<typeof EnrolRequestSchema>;

export const EnrolResponseSchema = z.object({
  address: AddressSchema,
  /** Upper-case hex fingerprint of the enrolled certificate. */
  certFingerprint: z.string().regex(FINGERPRINT_PATTERN),
  /** The device key, base64url. */
  devicePublicKey: z.string(),
  enrolledAt: z.iso.datetime(),
  /** §6.4: this device's name (absent from relays before devices). */
  deviceName: DeviceNameSchema.optional(),
});
export type EnrolResponse = z.infer<typeof EnrolResponseSchema>;

// ---- §6.4-§6.5 devices ----------------------------------------------------------

export const DeviceSummarySchema = z.object({
  name: DeviceNameSchema,
  /** The device key, base64url. */
  devicePublicKey: z.string(),
  enrolledAt: z.iso.datetime(),
  /** The last signed request the relay recorded (to within 5 minutes); null before any. */
  lastSeenAt: z.iso.datetime().nullable(),
  /** Set once the device is revoked: its requests are refused from then on. */
  revokedAt: z.iso.datetime().nullable(),
  /** true for the device that signed this request. */
  current: z.boolean(),
});
export type DeviceSummary = z.infer<typeof DeviceSummarySchema>;

export const DevicesResponseSchema = z.object({
  /** Every device of the caller's account, revoked ones included, in enrolment order. */
  devices: z.array(DeviceSummarySchema),
});
export type DevicesResponse = z.infer<typeof DevicesResponseSchema>;

export const RevokeDeviceResponseSchema = z.object({
  name: DeviceNameSchema,
  revokedAt: z.iso.datetime(),
});
export type RevokeDeviceResponse = z.infer<typeof RevokeDeviceResponseSchema>;

// ---- §4.6 sessions ----------------------------------------------------------------

/** §4.6.1: an X25519 public key (RFC 7748), 32 bytes, base64url. */
const X25519ShareSchema = z.string().regex(/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/, 'must be an X25519 public key (32 bytes, base64url)');

export const OpenSessionRequestSchema = z.strictObject({
  /** A fresh X25519 public key of the device, for this session only (signed with the request). */
  clientShare: X25519ShareSchema,
});
export type OpenSessionRequest = z.infer<typeof OpenSessionRequestSchema>;

export const OpenSessionResponseSchema = z.object({
  /** 16 random bytes, base64url. */
  session: z.string().regex(/^[A-Za-z0-9_-]{21}[AQgw]$/, 'must be a session id (16 bytes, base64url)'),
  relayShare: X25519ShareSchema,
  /** 15 minutes after the opening, never extended. */
  expiresAt: z.iso.datetime(),
});
export type OpenSessionResponse = z.infer<typeof OpenSessionResponseSchema>;

// ---- §7 key directory ----------------------------------------------------------

/**
 * §7.1, docs/lost-stick.md §4: a key change that is not a renewal (a new ceremony for the
 * same address) is announced with the previous certificate and the date of the change.
 */
export const KeyChangeSchema = z.object({
  previousCert: z.string().max(2 * PROTOCOL_LIMITS.maxCertBytes),
  previousFingerprint: z.string().regex(/^[0-9A-F]{40}$/),
  changedAt: z.iso.datetime(),
});
export type KeyChange = z.infer<typeof KeyChangeSchema>;

export const CertResponseSchema = z.object({
  address: AddressSchema,
  armoredCert: z.string(),
  keyChange: KeyChangeSchema.optional(),
});
export type CertResponse = z.infer<typeof CertResponseSchema>;

/** §7.3: a newer certificate of the caller's own key (a renewal, a revocation). */
export const UpdateCertRequestSchema = z.strictObject({
  armoredCert: z.string().min(1).max(PROTOCOL_LIMITS.maxCertBytes),
});
export type UpdateCertRequest = z.infer<typeof UpdateCertRequestSchema>;

// ---- §8 messages --------------------------------------------------------------

export const SubmitRequestSchema = z.strictObject({
  /** Addresses of this relay; one mailbox entry is made for each (duplicates are merged). */
  to: z.array(AddressSchema).min(1).max(PROTOCOL_LIMITS.maxRecipients),
  /** The OpenPGP message exactly as the sender encrypted it, ASCII-armored. */
  armoredMessage: z.string().min(1).max(PROTOCOL_LIMITS.maxMessageBytes),
  /** docs/api.md §8.10: the same key on a retry is answered again, never delivered twice. */
  idempotencyKey: IdempotencyKeySchema.optional(),
});
export type SubmitRequest = z.infer<typeof SubmitRequestSchema>;

/**
 * docs/api.md §8.2.1: the envelope of a streamed submission, in the query (signed with
 * the path, §4.2): `?to=A&to=B&idempotencyKey=K`; the body is the armored ciphertext.
 */
export const SubmitStreamQuerySchema = SubmitRequestSchema.omit({ armoredMessage: true });
export type SubmitStreamQuery = z.infer<typeof SubmitStreamQuerySchema>;

/** docs/api.md §8.2.1: the media type of a streamed ciphertext body (the armored text, bytes as they would be in `armoredMessage`). */
export const STREAMED_CIPHERTEXT_TYPE = 'application/octet-stream';

export const SubmitResponseSchema = z.object({
  /** The submission's id (each recipient's mailbox entry has its own id). */
  id: MessageIdSchema,
  recipients: z.array(AddressSchema),
  size: z.number().int().nonnegative(),
  receivedAt: z.iso.datetime(),
});
export type SubmitResponse = z.infer<typeof SubmitResponseSchema>;

/** Query of GET /v1/messages (query values are strings on the wire). */
export const ListQuerySchema = z.strictObject({
  after: CursorSchema.optional(),
  limit: z.string().regex(/^[1-9][0-9]{0,3}$/, 'must be an integer from 1 to 1000').optional(),
});
export type ListQuery = z.infer<typeof ListQuerySchema>;

export const MessageSummarySchema = z.object({
  id: MessageIdSchema,
  /** The sender's address (the submitting account), as the relay observed it. */
  from: AddressSchema,
  to: z.array(AddressSchema),
  /** Size of armoredMessage in bytes. */
  size: z.number().int().nonnegative(),
  facts: ArrivalFactsSchema,
});
export type MessageSummary = z.infer<typeof MessageSummarySchema>;

export const ListResponseSchema = z.object({
  messages: z.array(MessageSummarySchema).max(PROTOCOL_LIMITS.maxPageSize),
  /** Pass as `after` to get the next page; null when this page is the last. */
  nextCursor: CursorSchema.nullable(),
});
export type ListResponse = z.infer<typeof ListResponseSchema>;

export const MessageResponseSchema = MessageSummarySchema.extend({
  armoredMessage: z.string(),
});
export type MessageResponse = z.infer<typeof MessageResponseSchema>;

// ---- §8.8-§8.9 batches -------------------------------------------------------------

/** Query of GET /v1/mailbox (§8.8): as GET /v1/messages. */
export const MailboxPageQuerySchema = ListQuerySchema;

/**
 * One entry of a mailbox page (§8.8): its ciphertext inline when it is at most
 * `inlineCiphertextBytes`, else absent (fetched as a stream, §8.5.1).
 */
export const MailboxPageEntrySchema = MessageSummarySchema.extend({
  armoredMessage: z.string().max(PROTOCOL_LIMITS.inlineCiphertextBytes).optional(),
});
export type MailboxPageEntry = z.infer<typeof MailboxPageEntrySchema>;

export const MailboxPageResponseSchema = z.object({
  /** Oldest first, small ones with their ciphertext; never more than the protocol's page size (§5.3). */
  messages: z.array(MailboxPageEntrySchema).max(PROTOCOL_LIMITS.maxPageSize),
  /** Pass as `after` to get the next page; null when this page is the last. */
  nextCursor: CursorSchema.nullable(),
  /** The cursor of the last message of this page, to acknowledge it (§8.9); null when the page is empty. */
  through: CursorSchema.nullable(),
});
export type MailboxPageResponse = z.infer<typeof MailboxPageResponseSchema>;

/** Body of POST /v1/mailbox/ack (§8.9): delete every entry up to and including this cursor. */
export const MailboxAckRequestSchema = z.strictObject({
  through: CursorSchema,
});
export type MailboxAckRequest = z.infer<typeof MailboxAckRequestSchema>;

export const MailboxAckResponseSchema = z.object({
  /** How many entries were deleted. */
  deleted: z.number().int().nonnegative(),
});
export type MailboxAckResponse = z.infer<typeof MailboxAckResponseSchema>;
