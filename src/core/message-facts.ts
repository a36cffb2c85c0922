// From what the stick verified when it opened a message to the exposure index's
// stick facts (docs/exposure.md §2.1). Pure: the opened message's verdicts in,
// facts out.
import type { RelayFacts } from '../api/facts.js';
import type { KeyState, SignatureState, StickFacts } from './exposure.js';

/** The stick's verdict on a message's signature (src/service/mail-read.ts SignatureStatus). */
export type OpenedSignature =
  | 'good'
  | 'good-weak'
  | 'bad'
  | 'signer-mismatch'
  | 'unknown-key'
  | 'unsigned'
  /** docs/message-payload.md §6.8: a good signature over an inline block that does not cover all the text: unsigned as a whole. */
  | 'partly-signed'
  | 'undecryptable'
  | 'expired-key'
  | 'revoked-key'
  | 'unsupported-algorithm';
/** The sender's key as the vault holds it. */
export type OpenedSenderKey = 'verified' | 'unverified' | 'changed' | 'unknown' | 'self';

export interface OpenedMessageVerdict {
  readonly decrypted: boolean;
  readonly signature: OpenedSignature;
  readonly senderKey: OpenedSenderKey;
  readonly protectedHeaders: boolean;
  /** docs/decisions/post-quantum.md: every session-key packet was ML-KEM-768+X25519. */
  readonly postQuantum?: boolean;
  /** docs/exposure.md §4.1.1: set by the service when the From names someone known but is not proven. */
  readonly fromClaim?: StickFacts['fromClaim'];
}

/** A valid signature by a key other than the From address's is a forgery of the From line: invalid. */
const SIGNATURE_STATE: Record<OpenedSignature, SignatureState> = {
  good: 'valid',
  'good-weak': 'valid-weak',
  'expired-key': 'expired-key',
  'revoked-key': 'revoked-key',
  'unsupported-algorithm': 'unsupported-algorithm',
  bad: 'invalid',
  'signer-mismatch': 'invalid',
  'unknown-key': 'unknown-key',
  unsigned: 'absent',
  'partly-signed': 'absent',
  undecryptable: 'absent',
};

/** Our own key is as good as verified in person. */
const KEY_STATE: Record<OpenedSenderKey, KeyState> = {
  verified: 'verified-in-person',
  self: 'verified-in-person',
  unverified: 'tofu',
  changed: 'changed',
  unknown: 'unknown',
};

/**
 * docs/exposure.md §2.1: `encryptedToMe` is about the sender's encryption. When the
 * relay's gateway sealed a message that arrived readable, our key opens it, but the
 * sender did not encrypt it: not encrypted to me.
 */
export function stickFactsOf(verdict: OpenedMessageVerdict, relay: RelayFacts | null): StickFacts {
  const sealedByRelay = relay?.route === 'smtp-inbound' && !relay.arrivedEncrypted;
  return {
    encryptedToMe: verdict.decrypted && !sealedByRelay,
    signature: SIGNATURE_STATE[verdict.signature],
    senderKey: KEY_STATE[verdict.senderKey],
    headersProtected: verdict.decrypted && verdict.protectedHeaders && !sealedByRelay,
    ...(verdict.decrypted && !sealedByRelay && verdict.postQuantum === true ? { postQuantum: true } : {}),
    ...(verdict.fromClaim !== undefined ? { fromClaim: verdict.fromClaim } : {}),
    ...(verdict.signature === 'partly-signed' ? { partlySigned: true } : {}),
  };
}
