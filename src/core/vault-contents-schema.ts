// The zod schemas of what the sealed vault holds (normative: docs/vault-contents.md): the
// definition of the format, its types (z.infer, in vault-contents.ts) and the errors' words.
// Issue 13: not loaded by an unlock that finds a well-formed vault (src/core/json-shape.ts
// checks it); imported when a check fails, to decide and word the error, and for the
// one-document format and the stored messages.
import { z } from 'zod';
import { FINGERPRINT_PATTERN } from './openpgp-algorithms.js';
import { VAULT_CONTENTS_FORMAT, VAULT_CONTENTS_FORMAT_V1 } from './vault-contents.js';

/**
 * Issue 13: a schema built on its first use. zod v4 pays for every schema node when it is
 * made (~0.25 ms each, cold), and an unlock reads only the current format: the one-document
 * format (migration) and the stored messages (the store) are built when a run needs them.
 */
function builtOnFirstUse<T>(build: () => T): () => T {
  let schema: T | undefined;
  return () => (schema ??= build());
}

const isoDate = z.string().datetime();

/** docs/vault-contents.md §2: how the ceremony went, reported by `caliop key show`. */
export const CeremonyRecord = z.strictObject({
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

export const Identity = z.strictObject({
  /** The 256-bit seed, hex (docs/ceremony.md §1). Everything is derived from it. */
  seedHex: z.string().regex(/^[0-9a-f]{64}$/),
  creationDate: isoDate,
  name: z.string().min(1),
  email: z.string().min(3),
  fingerprint: z.string().regex(/^[0-9A-F]{40}$/),
  ceremony: CeremonyRecord,
  /** docs/ceremony.md §6.6: the date of the last renewal (the subkeys' later bindings); absent: never renewed. */
  renewedAt: isoDate.optional(),
  /** docs/ceremony.md §6.6: when `caliop sync` last said the key expires soon (once a week at most). */
  renewalRemindedAt: isoDate.optional(),
  /** docs/ceremony.md §6.6: when `caliop sync` last read this key's copy in the relay's directory (a renewal made on another stick). */
  directoryCheckedAt: isoDate.optional(),
  /** docs/lost-stick.md §3: the key was revoked from this stick (`caliop key revoke`). */
  revoked: z.strictObject({ at: isoDate, reason: z.enum(['ceremony', 'lost', 'compromised', 'superseded']) }).optional(),
});

/**
 * docs/vault-contents.md §3.4: Autocrypt Level 1 peer state (`peers[addr]`), keys named by
 * fingerprint (the key itself is the contact's cert or its changed cert, or was not kept).
 */
export const AutocryptPeer = z.strictObject({
  /** `last_seen`: the youngest effective date of the messages from this address (none when only gossip named it). */
  lastSeen: isoDate.optional(),
  /** `autocrypt_timestamp`: the youngest effective date of a message with a valid Autocrypt header. */
  autocryptTimestamp: isoDate.optional(),
  /** `public_key`, as its fingerprint. */
  fingerprint: z.string().regex(FINGERPRINT_PATTERN).optional(),
  /** `prefer_encrypt`: recorded, not obeyed (Caliop encrypts whenever it has a key). */
  preferEncrypt: z.enum(['mutual', 'nopreference']).optional(),
  /** `gossip_timestamp` and `gossip_key` (as its fingerprint). */
  gossipTimestamp: isoDate.optional(),
  gossipFingerprint: z.string().regex(FINGERPRINT_PATTERN).optional(),
});

/** docs/vault-contents.md §3: a contact and how far we trust its key. */
export const Contact = z.strictObject({
  address: z.string().min(3),
  name: z.string().optional(),
  fingerprint: z.string().regex(FINGERPRINT_PATTERN),
  armoredCert: z.string(),
  /** verified: fingerprint compared in person; unverified: imported or fetched, trusted on first use. */
  verification: z.enum(['verified', 'unverified']),
  /** docs/vault-contents.md §3.4: `autocrypt` and `autocrypt-gossip` are the lowest sources. */
  source: z.enum(['imported', 'relay-directory', 'wkd', 'message', 'autocrypt', 'autocrypt-gossip']),
  addedAt: isoDate,
  verifiedAt: isoDate.optional(),
  /** docs/vault-contents.md §3.3: when `caliop sync` last asked the relay's directory for this contact's newer copy. */
  directoryCheckedAt: isoDate.optional(),
  /** A different cert seen for this address; sending stops until resolved (docs/vault-contents.md §3.2). */
  changedCert: z
    .strictObject({
      fingerprint: z.string(),
      armoredCert: z.string(),
      seenAt: isoDate,
      source: z.string(),
      /** docs/api.md §7.1: the date of the change, when the relay's directory announced it (a new ceremony, §6.6). */
      announcedAt: isoDate.optional(),
    })
    .optional(),
  /** docs/vault-contents.md §3.4: what Autocrypt headers said about this address. */
  autocrypt: AutocryptPeer.optional(),
});

/** docs/store.md §5.1: a large ciphertext kept as its own sealed object (blob) of the store. */
export const CiphertextBlob = z.strictObject({
  ref: z.string().regex(/^[0-9a-f]{32}$/),
  /** Bytes of the armored ciphertext. */
  size: z.number().int().nonnegative(),
});

/** docs/store.md §5.1: one attachment of a large message, decoded at arrival and kept as its own blob. */
export const attachmentBlobSchema = builtOnFirstUse(() => z.strictObject({
  index: z.number().int().positive(),
  name: z.string(),
  type: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  ref: z.string().regex(/^[0-9a-f]{32}$/),
}));

/**
 * docs/store.md §5.2: a large message opened once, at arrival, as a stream: what reading
 * shows without decrypting it again (the header fields, the text, the signature checks
 * made then), or that it could not be opened (not for our key, or damaged).
 */
export const openedAtArrivalSchema = builtOnFirstUse(() => z.union([
  z.strictObject({ failed: z.literal(true) }),
  z.strictObject({
    /** ArrivalHeaders of src/core/mail-content.ts. */
    headers: z.record(z.string(), z.unknown()),
    body: z.string(),
    /** docs/message-payload.md §6.2-§6.3: an inline-signed or clear-signed block in the text, checked at each read. */
    inlineSigned: z.strictObject({
      kind: z.enum(['inline', 'cleartext']),
      armored: z.string(),
      /** docs/message-payload.md §6.6: the block's bytes in its part (base64), when they are not its UTF-8 form. */
      octets: z.string().optional(),
      /** docs/message-payload.md §6.6: the charset the signed text is decoded with (declared, or §4.5's guess); absent: §4.5's rule. */
      charset: z.string().optional(),
      /** docs/message-payload.md §6.7: the part is RFC 3676 flowed text. */
      flowed: z.strictObject({ delSp: z.boolean() }).optional(),
    }).optional(),
    /** The OpenPGP signatures of the message, checked as it was decrypted (SignatureCheck of src/service/pgp.ts). */
    signatures: z.array(
      z.strictObject({
        status: z.string(),
        keyId: z.string(),
        signerFingerprint: z.string().optional(),
        created: z.string().optional(),
        hash: z.string().optional(),
        detail: z.string().optional(),
      }),
    ),
    /** Written before issue 9's streamed PGP/MIME check (no longer written): a signature inside that was not checked. */
    pgpMimeSignatureUnchecked: z.boolean().optional(),
    /**
     * docs/store.md §5.2: a PGP/MIME signature inside (RFC 3156 §5), its first part hashed as it
     * streamed: the armored signature and, per signature packet, the hex digest of the signed
     * bytes with the packet's trailer ("" when not computed); checked at each read.
     */
    pgpMimeSigned: z.strictObject({
      signature: z.string().max(64 * 1024),
      digests: z.array(z.string().regex(/^([0-9a-f]{40,128})?$/)).max(64),
      // docs/message-payload.md §6.4: over GnuPG's form, for text-mode packets, when it differs.
      gnupgDigests: z.array(z.string().regex(/^([0-9a-f]{40,128})?$/)).max(64).optional(),
    }).optional(),
  }),
]));

/** docs/vault-contents.md §4: a message waiting for the relay. */
export const OutboxItem = z.strictObject({
  id: z.string(),
  to: z.array(z.string()).min(1),
  subject: z.string(),
  createdAt: isoDate,
  /** The payload as encrypted and signed at send time (for outbound mail: encrypted to ourselves, the sent copy). Empty when in `ciphertextBlob`. */
  armoredMessage: z.string(),
  /** docs/store.md §5.1: a large ciphertext rests in the store as a blob, not in this document. */
  ciphertextBlob: CiphertextBlob.optional(),
  /** docs/vault-contents.md §4.1: to the outside through the relay's gateway, the RFC 5322 message to hand over. */
  outbound: z
    .strictObject({
      /** Empty when in `messageBlob`. */
      rawMessage: z.string(),
      /** docs/store.md §5.1: a large message to the outside rests in the store as a blob, not in this document. */
      messageBlob: CiphertextBlob.optional(),
      exposed: z.boolean(),
      /** docs/vault-contents.md §4.1, docs/api.md §8.7: readable recipients judged on the relay's TLS guarantee; it must keep it. */
      requireTlsFor: z.array(z.string()).optional(),
    })
    .optional(),
  /** docs/vault-contents.md §4.1, docs/api.md §8.10: chosen when queued, sent on every attempt, so the relay delivers it once. */
  idempotencyKey: z.string().optional(),
  attempts: z.number().int().nonnegative(),
  lastError: z.string().optional(),
  /** docs/vault-contents.md §4.2: refused for good (not retried by sync) until `caliop outbox retry ID`. */
  failed: z.strictObject({ at: isoDate, code: z.string(), reason: z.string() }).optional(),
  /** The exposure assessment shown before sending, kept for the sent copy. */
  sentAssessment: z.unknown().optional(),
});

/** docs/vault-contents.md §5: a message in the vault, received or sent (built on first use). */
export const storedMessageSchema = builtOnFirstUse(() => z.strictObject({
  id: z.string(),
  direction: z.enum(['in', 'out']),
  relayId: z.string().optional(),
  from: z.string(),
  to: z.array(z.string()),
  subject: z.string(),
  date: isoDate,
  storedAt: isoDate,
  unread: z.boolean(),
  /** The ciphertext as it arrived (or as sent): re-decrypted and re-verified on each read. Empty when in `ciphertextBlob`. */
  armoredMessage: z.string(),
  /** docs/store.md §5.1: a large ciphertext is its own sealed object of the store. */
  ciphertextBlob: CiphertextBlob.optional(),
  /** docs/store.md §5.1: the attachments of a large message, decoded once at arrival, each its own sealed object. */
  attachmentBlobs: z.array(attachmentBlobSchema()).optional(),
  /** docs/store.md §5.2: a large message received as a stream: opened once at arrival, not decrypted again to be read. */
  openedAtArrival: openedAtArrivalSchema().optional(),
  /** The facts the relay observed about its arrival (docs/api.md), kept as given. */
  relayFacts: z.unknown().optional(),
  /** For a sent copy: the exposure assessment shown before sending (docs/exposure.md §2.3). */
  sentAssessment: z.unknown().optional(),
  /** docs/limits.md §3: over a limit when it arrived; kept sealed, never decrypted again, deletable. */
  sealed: z.strictObject({ reason: z.enum(['decompressed-too-large', 'headers-too-large', 'message-too-large', 'too-many-parts', 'nested-too-deep']), at: isoDate }).optional(),
  /**
   * docs/vault-contents.md §5.5: a sent copy the relay queued (202): the queued ids it
   * has not reported on yet, and its reports (docs/api.md §8.12) as given.
   */
  delivery: z
    .strictObject({
      pending: z.array(z.string()).max(100),
      reports: z
        .array(
          z.strictObject({
            id: z.string(),
            state: z.enum(['delivered', 'bounced', 'expired']),
            at: isoDate,
            /** delivered: the relay's SmtpOutboundFacts, kept as given. */
            facts: z.unknown().optional(),
            /** bounced: the relay's reason. */
            reason: z.string().optional(),
          }),
        )
        .max(100),
    })
    .optional(),
}));

const Settings = z.strictObject({
  language: z.enum(['en', 'fr']),
});

const relayAccount = z
  .strictObject({
    url: z.string(),
    pin: z.string().optional(),
    address: z.string(),
    enrolledAt: isoDate,
    /** docs/api.md §6.4: this stick's device name within the account (absent before devices). */
    deviceName: z.string().optional(),
    /**
     * docs/vault-contents.md §6: SHA-256 (hex) of the binary cert this stick last gave the
     * relay's directory. Absent (a stick enrolled before it): the next sync publishes.
     */
    publishedCertSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  })
  .optional();

/** docs/vault-contents.md §7: where the message store is, and its key (docs/store.md §1-§2). */
export const StoreRecord = z.strictObject({
  /** The store folder's name inside the vault folder: `store-` and 16 random hex digits. */
  folder: z.string().regex(/^store-[0-9a-f]{16}$/),
  /** The 256-bit key that seals the store's index, journal and objects. */
  keyHex: z.string().regex(/^[0-9a-f]{64}$/),
});

/**
 * docs/vault-contents.md §8: this stick's own device key, when it is not the one
 * derived from the seed (a stick made by `caliop recover` is a new device of the
 * account: docs/lost-stick.md).
 */
export const DeviceRecord = z.strictObject({
  /** A random Ed25519 secret key (32 bytes, hex) that signs this stick's requests to the relay. */
  secretKeyHex: z.string().regex(/^[0-9a-f]{64}$/),
});

export const VaultContentsSchema = z.strictObject({
  format: z.literal(VAULT_CONTENTS_FORMAT),
  identity: Identity,
  contacts: z.array(Contact),
  settings: Settings,
  outbox: z.array(OutboxItem),
  /** docs/vault-contents.md §6: the account this stick holds on its relay. */
  relayAccount,
  store: StoreRecord,
  /** docs/vault-contents.md §8: absent on the stick of the ceremony (its device key is derived from the seed). */
  device: DeviceRecord.optional(),
});

/** The one-document format (docs/store.md §7): read only to migrate (built on first use). */
export const vaultContentsV1Schema = builtOnFirstUse(() => z.strictObject({
  format: z.literal(VAULT_CONTENTS_FORMAT_V1),
  identity: Identity,
  contacts: z.array(Contact),
  settings: Settings,
  outbox: z.array(OutboxItem),
  messages: z.array(storedMessageSchema()),
  /** docs/vault-contents.md §6: the account this stick holds on its relay. */
  relayAccount: z
    .strictObject({ url: z.string(), pin: z.string().optional(), address: z.string(), enrolledAt: isoDate })
    .optional(),
  /** The relay's mailbox cursor: messages up to it are in `messages`. */
  relayCursor: z.string().optional(),
}));
