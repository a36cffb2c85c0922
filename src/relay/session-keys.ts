// The relay's side of sessions (docs/api.md §4.6): its session secret (a file of the data
// folder, made on first start like the DKIM key, or given with --session-secret), its
// X25519 share per session derived from that secret and the session's id, and a bounded
// per-process cache of the session keys it derived. The store holds public facts only
// (docs/decisions/relay-sessions.md "Where K lives"); the cache holds keys and the
// immutable facts of a session, never whether it is still open (read with every request).

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fromBase64url, toBase64url } from '../api/base64url.js';
import { deriveSessionKey, relayShareSecret, SESSION_ID_BYTES, SESSION_LIFETIME_SECONDS, sessionKeyInfo, sessionSecretId } from '../api/relay-session.js';
import { x25519PrivateKey, x25519PublicBytes, x25519Shared } from '../api/session-x25519.js';
import { makeFolderSync, writeFileDurablySync } from './durable-file.js';
import { opensslSha256Hex } from './ed25519-verify.js';
import type { SessionRecord } from './store/relay-store.js';

/** The session secret's file in the data folder (mode 0600), when --session-secret names none. */
export const SESSION_SECRET_FILE = 'session.key';
const SECRET_BYTES = 32;

/** Keys derived by this process, most recent last (one X25519 + HKDF saved per request). */
const KEY_CACHE_SIZE = 1024;

/** Reads the secret file (32 bytes), or makes it when `make` and it does not exist. */
function readSecret(file: string, make: boolean): Uint8Array {
  if (make && !existsSync(file)) {
    makeFolderSync(dirname(file));
    writeFileDurablySync(file, randomBytes(SECRET_BYTES), 0o600);
  }
  const secret = new Uint8Array(readFileSync(file));
  if (secret.length !== SECRET_BYTES) throw new Error(`the session secret ${file} must hold exactly ${SECRET_BYTES} bytes (it holds ${secret.length})`);
  return secret;
}

/** docs/api.md §4.6: DIR/session.key, made on first start; or the file given (every process of one store must have the same). */
export function sessionSecretFor(dataDir: string, givenFile: string | null): Uint8Array {
  return givenFile === null ? readSecret(join(dataDir, SESSION_SECRET_FILE), true) : readSecret(givenFile, false);
}

/** What a request in a session needs of it, cached per process (immutable facts only). */
export interface SessionKey {
  readonly key: Uint8Array;
  readonly devicePublicKey: Uint8Array;
  /** Unix seconds. */
  readonly expiresAt: number;
}

/** docs/api.md §4.6: the relay's sessions, for one process. */
export class RelaySessions {
  readonly #secret: Uint8Array;
  readonly #domain: string;
  /** The public id of the secret, stored with each session: one made under another secret is unknown here. */
  readonly secretId: string;
  readonly lifetimeSeconds = SESSION_LIFETIME_SECONDS;
  readonly #keys = new Map<string, SessionKey>();

  constructor(secret: Uint8Array, domain: string) {
    if (secret.length !== SECRET_BYTES) throw new TypeError('the session secret must be 32 bytes');
    this.#secret = secret;
    this.#domain = domain.toLowerCase();
    this.secretId = sessionSecretId(secret, opensslSha256Hex);
  }

  /**
   * docs/api.md §4.6.1: a new session of `devicePublicKey` for its share `clientShare`: the
   * record to store and the relay's share to answer; undefined when the share is not a usable
   * X25519 key (RFC 7748 §6.1: a low-order point gives an all-zero secret).
   */
  open(devicePublicKey: Uint8Array, clientShare: string, nowSeconds: number): { record: SessionRecord; relayShare: string } | undefined {
    const id = toBase64url(randomBytes(SESSION_ID_BYTES));
    const record: SessionRecord = { id, devicePublicKey, clientShare, secretId: this.secretId, openedAt: nowSeconds, expiresAt: nowSeconds + this.lifetimeSeconds, closedAt: null };
    const derived = this.#derive(record);
    if (derived === undefined) return undefined;
    this.#remember(id, derived.session);
    return { record, relayShare: derived.relayShare };
  }

  /** docs/api.md §4.6.3 step 3: the cached key and facts of session `id`, without asking the store. */
  cached(id: string): SessionKey | undefined {
    return this.#keys.get(id);
  }

  /** K of a stored session (another process opened it, or this one forgot it); undefined when made under another secret. */
  keyOf(record: SessionRecord): SessionKey | undefined {
    if (record.secretId !== this.secretId) return undefined;
    const derived = this.#derive(record);
    if (derived === undefined) return undefined;
    this.#remember(record.id, derived.session);
    return derived.session;
  }

  #derive(record: SessionRecord): { session: SessionKey; relayShare: string } | undefined {
    const clientShare = fromBase64url(record.clientShare);
    if (clientShare === null || clientShare.length !== 32) return undefined;
    const own = x25519PrivateKey(relayShareSecret(this.#secret, record.id));
    const shared = x25519Shared(own, clientShare);
    if (shared === undefined) return undefined;
    const relayShare = toBase64url(x25519PublicBytes(own));
    const info = sessionKeyInfo({ devicePublicKey: toBase64url(record.devicePublicKey), domain: this.#domain, clientShare: record.clientShare, relayShare });
    const key = deriveSessionKey(shared, record.id, info);
    shared.fill(0);
    return { session: { key, devicePublicKey: record.devicePublicKey, expiresAt: record.expiresAt }, relayShare };
  }

  #remember(id: string, session: SessionKey): void {
    if (this.#keys.size >= KEY_CACHE_SIZE) this.#keys.delete(this.#keys.keys().next().value as string);
    this.#keys.set(id, session);
  }
}

/** docs/api.md §4.6.3 step 4: constant-time comparison of two MACs (RFC 2104 §5: never byte by byte with an early exit). */
export function macsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
