// What the sealed vault holds (normative: docs/vault-contents.md). The container
// that seals these bytes is docs/vault-format.md; this file is the JSON inside.
import type { z } from 'zod';
import { CaliopError } from '../errors.js';
import { FINGERPRINT_PATTERN } from './openpgp-algorithms.js';
import {
  arrayOf, isAnything, isBoolean, isIsoDateTime, isString, oneOf, safeIntegerFrom, strictObject, stringMatching, stringOfAtLeast, type Check,
} from './json-shape.js';
import type {
  AutocryptPeer as AutocryptPeerSchema, CeremonyRecord as CeremonyRecordSchema, CiphertextBlob as CiphertextBlobSchema, Contact as ContactSchema,
  DeviceRecord as DeviceRecordSchema, Identity as IdentitySchema, OutboxItem as OutboxItemSchema, StoreRecord as StoreRecordSchema,
  VaultContentsSchema, attachmentBlobSchema, openedAtArrivalSchema, storedMessageSchema, vaultContentsV1Schema,
} from './vault-contents-schema.js';

/** docs/vault-contents.md §1: the format this caliop writes; messages live in the store (docs/store.md). */
export const VAULT_CONTENTS_FORMAT = 'caliop-vault-contents/4';
/**
 * docs/vault-contents.md §1.1: the format before `relayAccount.publishedCertSha256` (§6). A /3
 * document is a /4 document without it: read as /4, written as /4 at its next change.
 */
export const VAULT_CONTENTS_FORMAT_V3 = 'caliop-vault-contents/3';
/**
 * docs/vault-contents.md §1.1: the format before Autocrypt peer state (§3.4). A /2 document is a
 * /3 document without its new optional fields: it is read as /3 and written as /3 at its next change.
 */
export const VAULT_CONTENTS_FORMAT_V2 = 'caliop-vault-contents/2';
/** docs/store.md §7: the one-document format of earlier sticks, read once to migrate them. */
export const VAULT_CONTENTS_FORMAT_V1 = 'caliop-vault-contents/1';

export type VaultContents = z.infer<typeof VaultContentsSchema>;
export type VaultContentsV1 = z.infer<ReturnType<typeof vaultContentsV1Schema>>;
export type StoreRecord = z.infer<typeof StoreRecordSchema>;
export type Contact = z.infer<typeof ContactSchema>;
export type AutocryptPeer = z.infer<typeof AutocryptPeerSchema>;
export type OutboxItem = z.infer<typeof OutboxItemSchema>;
export type StoredMessage = z.infer<ReturnType<typeof storedMessageSchema>>;
export type CiphertextBlob = z.infer<typeof CiphertextBlobSchema>;
export type AttachmentBlob = z.infer<ReturnType<typeof attachmentBlobSchema>>;
export type OpenedAtArrival = z.infer<ReturnType<typeof openedAtArrivalSchema>>;
export type DeviceRecord = z.infer<typeof DeviceRecordSchema>;
export type CeremonyRecord = z.infer<typeof CeremonyRecordSchema>;
export type IdentityRecord = z.infer<typeof IdentitySchema>;

// --- the current format checked without zod (issue 13; src/core/json-shape.ts) -----------
// Each check below is the zod schema of the same name in vault-contents-schema.ts, key for
// key: when one is changed, so is the other (test/format-checks.test.ts compares them).

const HEX_256 = /^[0-9a-f]{64}$/;
const OBJECT_REF = /^[0-9a-f]{32}$/;
const optionalDate = isIsoDateTime;

const isCeremonyRecord = strictObject({
  performedAt: isIsoDateTime,
  offline: isBoolean,
  allowedOnline: isBoolean,
  networkEvidence: arrayOf(isString),
  kind: oneOf('init', 'recover'),
  backupChecked: isBoolean,
});

const isIdentity = strictObject(
  {
    seedHex: stringMatching(HEX_256),
    creationDate: isIsoDateTime,
    name: stringOfAtLeast(1),
    email: stringOfAtLeast(3),
    fingerprint: stringMatching(/^[0-9A-F]{40}$/),
    ceremony: isCeremonyRecord,
  },
  {
    renewedAt: optionalDate,
    renewalRemindedAt: optionalDate,
    directoryCheckedAt: optionalDate,
    revoked: strictObject({ at: isIsoDateTime, reason: oneOf('ceremony', 'lost', 'compromised', 'superseded') }),
  },
);

const isAutocryptPeer = strictObject(
  {},
  {
    lastSeen: optionalDate,
    autocryptTimestamp: optionalDate,
    fingerprint: stringMatching(FINGERPRINT_PATTERN),
    preferEncrypt: oneOf('mutual', 'nopreference'),
    gossipTimestamp: optionalDate,
    gossipFingerprint: stringMatching(FINGERPRINT_PATTERN),
  },
);

const isContact = strictObject(
  {
    address: stringOfAtLeast(3),
    fingerprint: stringMatching(FINGERPRINT_PATTERN),
    armoredCert: isString,
    verification: oneOf('verified', 'unverified'),
    source: oneOf('imported', 'relay-directory', 'wkd', 'message', 'autocrypt', 'autocrypt-gossip'),
    addedAt: isIsoDateTime,
  },
  {
    name: isString,
    verifiedAt: optionalDate,
    directoryCheckedAt: optionalDate,
    changedCert: strictObject(
      { fingerprint: isString, armoredCert: isString, seenAt: isIsoDateTime, source: isString },
      { announcedAt: optionalDate },
    ),
    autocrypt: isAutocryptPeer,
  },
);

const isCiphertextBlob = strictObject({ ref: stringMatching(OBJECT_REF), size: safeIntegerFrom(0) });

const isOutboxItem = strictObject(
  {
    id: isString,
    to: arrayOf(isString, 1),
    subject: isString,
    createdAt: isIsoDateTime,
    armoredMessage: isString,
    attempts: safeIntegerFrom(0),
  },
  {
    ciphertextBlob: isCiphertextBlob,
    outbound: strictObject(
      { rawMessage: isString, exposed: isBoolean },
      { messageBlob: isCiphertextBlob, requireTlsFor: arrayOf(isString) },
    ),
    idempotencyKey: isString,
    lastError: isString,
    failed: strictObject({ at: isIsoDateTime, code: isString, reason: isString }),
    sentAssessment: isAnything,
  },
);

const isVaultContentsShape: Check = strictObject(
  {
    format: oneOf(VAULT_CONTENTS_FORMAT),
    identity: isIdentity,
    contacts: arrayOf(isContact),
    settings: strictObject({ language: oneOf('en', 'fr') }),
    outbox: arrayOf(isOutboxItem),
    store: strictObject({ folder: stringMatching(/^store-[0-9a-f]{16}$/), keyHex: stringMatching(HEX_256) }),
  },
  {
    relayAccount: strictObject(
      { url: isString, address: isString, enrolledAt: isIsoDateTime },
      { pin: isString, deviceName: isString, publishedCertSha256: stringMatching(HEX_256) },
    ),
    device: strictObject({ secretKeyHex: stringMatching(HEX_256) }),
  },
);

/** True when VaultContentsSchema accepts `value` as it is (then it is returned unchanged). */
export function isVaultContents(value: unknown): value is VaultContents {
  return isVaultContentsShape(value);
}

/** The zod schemas, loaded when a document is not one the checks above accept (issue 13). */
const loadSchemas = () => import('./vault-contents-schema.js');

export function newVaultContents(identity: IdentityRecord, language: 'en' | 'fr', store: StoreRecord, device?: DeviceRecord): VaultContents {
  return { format: VAULT_CONTENTS_FORMAT, identity, contacts: [], settings: { language }, outbox: [], store, ...(device ? { device } : {}) };
}

export async function encodeVaultContents(contents: VaultContents | VaultContentsV1): Promise<Uint8Array> {
  if (isVaultContents(contents)) return new TextEncoder().encode(JSON.stringify(contents));
  const schemas = await loadSchemas();
  const schema = contents.format === VAULT_CONTENTS_FORMAT_V1 ? schemas.vaultContentsV1Schema() : schemas.VaultContentsSchema;
  return new TextEncoder().encode(JSON.stringify(schema.parse(contents)));
}

/** docs/store.md §7: the v1 document without its messages, as a v2 document pointing at the new store. */
export function migratedVaultContents(old: VaultContentsV1, store: StoreRecord): VaultContents {
  const { format: _format, messages: _messages, relayCursor: _cursor, ...rest } = old;
  return { format: VAULT_CONTENTS_FORMAT, ...rest, store };
}

/** The AEAD already proved these bytes are ours; a parse failure means a bug or a newer caliop. */
export async function decodeVaultContents(bytes: Uint8Array): Promise<VaultContents | VaultContentsV1> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new CaliopError('vault_tampered', 'the vault opened but its contents are not valid JSON', { cause: error });
  }
  let format = (json as { format?: unknown } | null)?.format;
  // docs/vault-contents.md §1.1: a /2 or /3 document is read as /4 (it only lacks optional fields).
  if (format === VAULT_CONTENTS_FORMAT_V2 || format === VAULT_CONTENTS_FORMAT_V3) {
    format = VAULT_CONTENTS_FORMAT;
    json = { ...(json as object), format };
  }
  if (format !== VAULT_CONTENTS_FORMAT && format !== VAULT_CONTENTS_FORMAT_V1) {
    throw new CaliopError('vault_unsupported_version', `the vault's contents are in an unknown format (${String(format)})`);
  }
  // Issue 13: a well-formed current document is taken as it is, without loading zod.
  if (isVaultContents(json)) return json;
  // Otherwise zod decides and words the error; read once per process, so without its compiled
  // fast path (generating and compiling it cost ~40 ms after Argon2id, for one use).
  const schemas = await loadSchemas();
  const parsed = (format === VAULT_CONTENTS_FORMAT ? schemas.VaultContentsSchema : schemas.vaultContentsV1Schema()).safeParse(json, { jitless: true });
  if (!parsed.success) {
    throw new CaliopError('vault_tampered', `the vault's contents do not match their format: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  }
  return parsed.data;
}

export function normaliseAddress(address: string): string {
  return address.trim().toLowerCase();
}
