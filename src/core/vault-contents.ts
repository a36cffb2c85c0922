// What the sealed vault holds (normative: docs/vault-contents.md). The container
// that seals these bytes is docs/vault-format.md; this file is the JSON inside.
import { z } from 'zod';
import { CaliopError } from '../errors.js';

export const VAULT_CONTENTS_FORMAT = 'caliop-vault-contents/1';

const isoDate = z.string().datetime();

/** docs/vault-contents.md §2: how the ceremony went, reported by `caliop key show`. */
const CeremonyRecord = z.strictObject({
  performedAt: isoDate,
  /** true when the machine was judged offline at key generation. */
  offline: z.boolean(),
  /** true when the user passed --allow-online on an online machine. */
  allowedOnline: z.boolean(),
  /** The interfaces that made the machine online, as judged then. */
  networkEvidence: z.array(z.string()),
  /** "init" (fresh seed) or "recover" (rebuilt from a phrase or shares). */
  kind: z.enum(['init', 'recover']),
  backupChecked: z.boolean(),
});

const Identity = z.strictObject({
  /** The 256-bit seed, hex (docs/ceremony.md §1). Everything is derived from it. */
  seedHex: z.string().regex(/^[0-9a-f]{64}$/),
  creationDate: isoDate,
  name: z.string().min(1),
  email: z.string().min(3),
  fingerprint: z.string().regex(/^[0-9A-F]{40}$/),
  ceremony: CeremonyRecord,
});

/** docs/vault-contents.md §3: a contact and how far we trust its key. */
const Contact = z.strictObject({
  address: z.string().min(3),
  name: z.string().optional(),
  fingerprint: z.string().regex(/^[0-9A-F]{40}$/),
  armoredCert: z.string(),
  /** verified: fingerprint compared in person; unverified: imported or fetched, trusted on first use. */
  verification: z.enum(['verified', 'unverified']),
  source: z.enum(['imported', 'relay-directory', 'wkd', 'message']),
  addedAt: isoDate,
  verifiedAt: isoDate.optional(),
  /** A different cert seen for this address; sending stops until resolved (docs/vault-contents.md §3.2). */
  changedCert: z
    .strictObject({ fingerprint: z.string(), armoredCert: z.string(), seenAt: isoDate, source: z.string() })
    .optional(),
});

/** docs/vault-contents.md §4: a message waiting for the relay. */
const OutboxItem = z.strictObject({
  id: z.string(),
  to: z.array(z.string()).min(1),
  subject: z.string(),
  createdAt: isoDate,
  /** The payload as encrypted and signed at send time (for outbound mail: encrypted to ourselves, the sent copy). */
  armoredMessage: z.string(),
  /** docs/vault-contents.md §4.1: to the outside through the relay's gateway, the RFC 5322 message to hand over. */
  outbound: z.strictObject({ rawMessage: z.string(), exposed: z.boolean() }).optional(),
  attempts: z.number().int().nonnegative(),
  lastError: z.string().optional(),
  /** docs/vault-contents.md §4.2: refused for good (not retried by sync) until `caliop outbox retry ID`. */
  failed: z.strictObject({ at: isoDate, code: z.string(), reason: z.string() }).optional(),
  /** The exposure assessment shown before sending, kept for the sent copy. */
  sentAssessment: z.unknown().optional(),
});

/** docs/vault-contents.md §5: a message in the vault, received or sent. */
const StoredMessage = z.strictObject({
  id: z.string(),
  direction: z.enum(['in', 'out']),
  relayId: z.string().optional(),
  from: z.string(),
  to: z.array(z.string()),
  subject: z.string(),
  date: isoDate,
  storedAt: isoDate,
  unread: z.boolean(),
  /** The ciphertext as it arrived (or as sent): re-decrypted and re-verified on each read. */
  armoredMessage: z.string(),
  /** The facts the relay observed about its arrival (docs/api.md), kept as given. */
  relayFacts: z.unknown().optional(),
  /** For a sent copy: the exposure assessment shown before sending (docs/exposure.md §2.3). */
  sentAssessment: z.unknown().optional(),
});

const Settings = z.strictObject({
  language: z.enum(['en', 'fr']),
});

export const VaultContentsSchema = z.strictObject({
  format: z.literal(VAULT_CONTENTS_FORMAT),
  identity: Identity,
  contacts: z.array(Contact),
  settings: Settings,
  outbox: z.array(OutboxItem),
  messages: z.array(StoredMessage),
  /** docs/vault-contents.md §6: the account this stick holds on its relay. */
  relayAccount: z
    .strictObject({ url: z.string(), pin: z.string().optional(), address: z.string(), enrolledAt: isoDate })
    .optional(),
  /** The relay's mailbox cursor: messages up to it are in `messages`. */
  relayCursor: z.string().optional(),
});

export type VaultContents = z.infer<typeof VaultContentsSchema>;
export type Contact = z.infer<typeof Contact>;
export type OutboxItem = z.infer<typeof OutboxItem>;
export type StoredMessage = z.infer<typeof StoredMessage>;
export type CeremonyRecord = z.infer<typeof CeremonyRecord>;
export type IdentityRecord = z.infer<typeof Identity>;

export function newVaultContents(identity: IdentityRecord, language: 'en' | 'fr' = 'en'): VaultContents {
  return { format: VAULT_CONTENTS_FORMAT, identity, contacts: [], settings: { language }, outbox: [], messages: [] };
}

export function encodeVaultContents(contents: VaultContents): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(VaultContentsSchema.parse(contents)));
}

/** The AEAD already proved these bytes are ours; a parse failure means a bug or a newer caliop. */
export function decodeVaultContents(bytes: Uint8Array): VaultContents {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new CaliopError('vault_tampered', 'the vault opened but its contents are not valid JSON', { cause: error });
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== VAULT_CONTENTS_FORMAT) {
    throw new CaliopError('vault_unsupported_version', `the vault's contents are in an unknown format (${String(format)})`);
  }
  const parsed = VaultContentsSchema.safeParse(json);
  if (!parsed.success) {
    throw new CaliopError('vault_tampered', `the vault's contents do not match their format: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  }
  return parsed.data;
}

export function normaliseAddress(address: string): string {
  return address.trim().toLowerCase();
}
