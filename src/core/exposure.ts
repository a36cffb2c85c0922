// The interception-risk index, "exposure" (normative spec: docs/exposure.md).
//
// Pure: facts in, an assessment out. No I/O, no clock, no randomness. The relay
// and the stick gather the facts (src/relay, src/service); this file only judges
// them. Every rule below cites the section of docs/exposure.md it enforces.

import { RelayFactsSchema, type AuthFacts, type RelayFacts, type SmtpHopFacts } from '../api/facts.js';
import { CaliopError } from '../errors.js';
import { renderReasonText, LEVEL_NAMES } from './exposure-text.js';

// ---------------------------------------------------------------- levels (§3)

/** docs/exposure.md §3: the levels, best first. These codes are stable: scripts rely on them. */
export const LEVELS = ['e2e-verified', 'e2e-tofu', 'pgp-external', 'tls-only', 'cleartext', 'alarm'] as const;
export type ExposureLevel = (typeof LEVELS)[number];

/**
 * docs/exposure.md §3: compares two levels. Positive when `a` is safer than `b`,
 * negative when `a` is less safe, 0 when equal. `alarm` is below every other level.
 */
export function compareLevels(a: ExposureLevel, b: ExposureLevel): number {
  return levelRank(b) - levelRank(a);
}

/** The least safe of the given levels (docs/exposure.md §5: a minimum over caps). */
export function worstLevel(first: ExposureLevel, ...rest: ExposureLevel[]): ExposureLevel {
  return rest.reduce((worst, level) => (compareLevels(level, worst) < 0 ? level : worst), first);
}

function levelRank(level: ExposureLevel): number {
  const rank = LEVELS.indexOf(level);
  if (rank < 0) throw new CaliopError('exposure_facts_invalid', `unknown exposure level "${String(level)}"`);
  return rank;
}

/** docs/exposure.md §6: the score band of each level, and the score a level starts from. */
export const SCORE_BANDS: Readonly<Record<ExposureLevel, { readonly min: number; readonly max: number; readonly base: number }>> = {
  'e2e-verified': { min: 90, max: 100, base: 95 },
  'e2e-tofu': { min: 75, max: 89, base: 82 },
  'pgp-external': { min: 55, max: 74, base: 64 },
  'tls-only': { min: 30, max: 54, base: 42 },
  cleartext: { min: 10, max: 29, base: 20 },
  alarm: { min: 0, max: 0, base: 0 },
};

/** docs/exposure.md §3: plain-text symbols; never colour alone. Each is 4 columns wide. */
export const LEVEL_SYMBOLS: Readonly<Record<ExposureLevel, ExposureSymbol>> = {
  'e2e-verified': { unicode: '●●●●', ascii: '####' },
  'e2e-tofu': { unicode: '●●●○', ascii: '###-' },
  'pgp-external': { unicode: '●●○○', ascii: '##--' },
  'tls-only': { unicode: '●○○○', ascii: '#---' },
  cleartext: { unicode: '○○○○', ascii: '----' },
  alarm: { unicode: '!!!!', ascii: '!!!!' },
};

// ---------------------------------------------------------------- input facts (§2)

export type Vouch = 'stick' | 'relay';

/** docs/exposure.md §2.1: the signature, as the stick verified it. */
export const SIGNATURE_STATES = ['valid', 'valid-weak', 'invalid', 'absent', 'unknown-key', 'expired-key', 'revoked-key', 'unsupported-algorithm'] as const;
export type SignatureState = (typeof SIGNATURE_STATES)[number];

/** docs/exposure.md §2.1: the state of a correspondent's key in the vault's contacts. */
export const KEY_STATES = ['verified-in-person', 'tofu', 'changed', 'unknown'] as const;
export type KeyState = (typeof KEY_STATES)[number];

/** docs/exposure.md §2.1: what the stick itself verified when it opened the message. */
export interface StickFacts {
  /**
   * The message as its sender made it is an OpenPGP message encrypted to this stick's key, and it
   * decrypted. A seal the relay added on arrival does not count (docs/exposure.md §2.1).
   */
  readonly encryptedToMe: boolean;
  /**
   * docs/decisions/post-quantum.md: every session-key packet of that message is ML-KEM-768+X25519
   * (breaking it needs ML-KEM-768 and X25519 both broken). Absent: false.
   */
  readonly postQuantum?: boolean;
  readonly signature: SignatureState;
  /** The state of the key that made the valid signature (only judged when `signature` is 'valid', except 'changed'). */
  readonly senderKey: KeyState;
  /** Subject and headers were inside the encrypted payload (protected headers). */
  readonly headersProtected: boolean;
  /**
   * docs/exposure.md §4.1.1: the From names a contact (or us) but nothing proves it
   * (`contact-unproven`: unsigned, or signed by no key we hold), or the relay says
   * another account submitted it (`not-submitter`). Absent: nothing to say.
   */
  readonly fromClaim?: { readonly kind: 'contact-unproven' | 'not-submitter'; readonly address: string };
  /**
   * docs/exposure.md §4.1, docs/message-payload.md §6.8: an inline-signed or clear-signed block
   * stands among text it does not cover. `signature` is then `absent` (the message as a whole is
   * unsigned) and `signature-partial` says so instead of `signature-absent`. Absent: false.
   */
  readonly partlySigned?: boolean;
}

/** docs/exposure.md §2: the input of assessReceived. `relay` is null when the relay recorded nothing. */
export interface ExposureFacts {
  readonly stick: StickFacts;
  readonly relay: RelayFacts | null;
}

/** docs/exposure.md §2.3: one recipient of a message about to be sent. */
export type RecipientFacts =
  | {
      readonly address: string;
      readonly kind: 'internal';
      readonly keyState: 'verified-in-person' | 'tofu' | 'changed';
      /**
       * docs/decisions/post-quantum.md: the message will be encrypted to the post-quantum
       * subkeys (every internal cert and ours has one). Absent: false.
       */
      readonly postQuantum?: boolean;
    }
  | {
      readonly address: string;
      readonly kind: 'external';
      readonly cert: { readonly source: 'contacts' | 'wkd' | 'autocrypt' | 'autocrypt-gossip'; readonly keyState: 'verified-in-person' | 'tofu' | 'changed' } | null;
      /** The relay refuses to hand the message over without TLS all the way (MTA-STS enforce, DANE, RFC 8689 REQUIRETLS). */
      readonly tlsGuaranteed: boolean;
    };

// ---------------------------------------------------------------- reasons (§4)

export type ReasonEffect = 'raises' | 'caps' | 'alarm' | 'info';

interface ReasonRule {
  readonly vouchedBy: Vouch;
  readonly effect: ReasonEffect;
  /** Only for effect 'caps': the best level the message can have with this fact. */
  readonly capsAt?: ExposureLevel;
  /** docs/exposure.md §6: in-band score adjustment. */
  readonly delta: number;
}

/** docs/exposure.md §4: every reason code, with who vouches for it, its effect and its score adjustment. Stable codes. */
export const REASON_RULES = {
  // §4.1 stick facts
  'payload-encrypted': { vouchedBy: 'stick', effect: 'raises', delta: 0 },
  'payload-encrypted-pq': { vouchedBy: 'stick', effect: 'info', delta: 0 },
  'payload-not-encrypted': { vouchedBy: 'stick', effect: 'caps', capsAt: 'tls-only', delta: 0 },
  'signature-valid': { vouchedBy: 'stick', effect: 'raises', delta: 3 },
  'signature-absent': { vouchedBy: 'stick', effect: 'caps', capsAt: 'pgp-external', delta: 0 },
  // §4.1: a signed block among text it does not cover: the message as a whole is unsigned (the rule of signature-absent).
  'signature-partial': { vouchedBy: 'stick', effect: 'caps', capsAt: 'pgp-external', delta: 0 },
  'signature-unknown-key': { vouchedBy: 'stick', effect: 'caps', capsAt: 'pgp-external', delta: 0 },
  'signature-invalid': { vouchedBy: 'stick', effect: 'alarm', delta: 0 },
  // §4.1: a valid signature made with an algorithm we would no longer create: below a good one, never the forgery alarm.
  'signature-weak': { vouchedBy: 'stick', effect: 'caps', capsAt: 'e2e-tofu', delta: 1 },
  'signature-expired-key': { vouchedBy: 'stick', effect: 'caps', capsAt: 'pgp-external', delta: 0 },
  'signature-revoked-key': { vouchedBy: 'stick', effect: 'caps', capsAt: 'pgp-external', delta: -2 },
  'signature-unsupported': { vouchedBy: 'stick', effect: 'caps', capsAt: 'pgp-external', delta: 0 },
  'sender-key-verified': { vouchedBy: 'stick', effect: 'raises', delta: 2 },
  'sender-key-tofu': { vouchedBy: 'stick', effect: 'caps', capsAt: 'e2e-tofu', delta: 0 },
  'sender-key-unknown': { vouchedBy: 'stick', effect: 'caps', capsAt: 'pgp-external', delta: 0 },
  'sender-key-changed': { vouchedBy: 'stick', effect: 'alarm', delta: 0 },
  'from-contact-unproven': { vouchedBy: 'stick', effect: 'caps', capsAt: 'tls-only', delta: -5 },
  'from-not-submitter': { vouchedBy: 'stick', effect: 'alarm', delta: 0 },
  'headers-protected': { vouchedBy: 'stick', effect: 'raises', delta: 3 },
  'headers-unprotected': { vouchedBy: 'stick', effect: 'caps', capsAt: 'pgp-external', delta: 0 },
  'route-unknown': { vouchedBy: 'stick', effect: 'caps', capsAt: 'pgp-external', delta: -6 },
  // §4.2 relay facts: the route
  'route-internal': { vouchedBy: 'relay', effect: 'raises', delta: 0 },
  'route-smtp-inbound': { vouchedBy: 'relay', effect: 'caps', capsAt: 'pgp-external', delta: 0 },
  'route-smtp-outbound': { vouchedBy: 'relay', effect: 'caps', capsAt: 'pgp-external', delta: 0 },
  'arrived-encrypted': { vouchedBy: 'relay', effect: 'raises', delta: 0 },
  'arrived-readable': { vouchedBy: 'relay', effect: 'caps', capsAt: 'tls-only', delta: 0 },
  'sent-encrypted': { vouchedBy: 'relay', effect: 'raises', delta: 0 },
  'sent-readable': { vouchedBy: 'relay', effect: 'caps', capsAt: 'tls-only', delta: 0 },
  'relay-held-plaintext': { vouchedBy: 'relay', effect: 'caps', capsAt: 'tls-only', delta: 0 },
  // §4.3 relay facts: the connections
  'submission-tls': { vouchedBy: 'relay', effect: 'raises', delta: 0 },
  'submission-no-tls': { vouchedBy: 'relay', effect: 'caps', capsAt: 'cleartext', delta: -6 },
  'submission-no-tls-sealed': { vouchedBy: 'relay', effect: 'caps', capsAt: 'pgp-external', delta: -6 },
  'hop-tls': { vouchedBy: 'relay', effect: 'raises', delta: 0 },
  'hop-no-tls': { vouchedBy: 'relay', effect: 'caps', capsAt: 'cleartext', delta: -6 },
  'hop-no-tls-sealed': { vouchedBy: 'relay', effect: 'caps', capsAt: 'pgp-external', delta: -6 },
  'transport-unknown': { vouchedBy: 'relay', effect: 'caps', capsAt: 'cleartext', delta: -6 },
  'transport-unknown-sealed': { vouchedBy: 'relay', effect: 'caps', capsAt: 'pgp-external', delta: -6 },
  'tls-outdated': { vouchedBy: 'relay', effect: 'info', delta: -5 },
  'claimed-hop-tls': { vouchedBy: 'relay', effect: 'info', delta: 0 },
  'claimed-hop-no-tls': { vouchedBy: 'relay', effect: 'info', delta: -4 },
  // §4.4 relay facts: sender authentication (DKIM, SPF, DMARC)
  'dkim-pass': { vouchedBy: 'relay', effect: 'info', delta: 3 },
  'dkim-fail': { vouchedBy: 'relay', effect: 'info', delta: -4 },
  'dkim-none': { vouchedBy: 'relay', effect: 'info', delta: -2 },
  'dkim-inconclusive': { vouchedBy: 'relay', effect: 'info', delta: -1 },
  'spf-pass': { vouchedBy: 'relay', effect: 'info', delta: 2 },
  'spf-fail': { vouchedBy: 'relay', effect: 'info', delta: -3 },
  'spf-none': { vouchedBy: 'relay', effect: 'info', delta: -1 },
  'spf-inconclusive': { vouchedBy: 'relay', effect: 'info', delta: -1 },
  'dmarc-pass': { vouchedBy: 'relay', effect: 'info', delta: 3 },
  'dmarc-fail': { vouchedBy: 'relay', effect: 'alarm', delta: 0 },
  'dmarc-none': { vouchedBy: 'relay', effect: 'info', delta: -1 },
  'dmarc-inconclusive': { vouchedBy: 'relay', effect: 'info', delta: -1 },
  // §4.5 send side, per recipient
  'recipient-internal': { vouchedBy: 'relay', effect: 'raises', delta: 0 },
  'recipient-external-cert': { vouchedBy: 'stick', effect: 'caps', capsAt: 'pgp-external', delta: 0 },
  'recipient-no-cert': { vouchedBy: 'stick', effect: 'caps', capsAt: 'tls-only', delta: 0 },
  'recipient-tls-guaranteed': { vouchedBy: 'relay', effect: 'raises', delta: 0 },
  'recipient-tls-not-guaranteed': { vouchedBy: 'relay', effect: 'caps', capsAt: 'cleartext', delta: 0 },
  // §5.2.1: the same Δ as sender-key-verified, so that both ends of one message agree.
  'recipient-key-verified': { vouchedBy: 'stick', effect: 'raises', delta: 2 },
  'recipient-key-tofu': { vouchedBy: 'stick', effect: 'caps', capsAt: 'e2e-tofu', delta: 0 },
  'recipient-key-changed': { vouchedBy: 'stick', effect: 'alarm', delta: 0 },
  // §4.5, §5.2.1: what the sender's own stick does to every message it encrypts; the mirror of
  // signature-valid and headers-protected, which the recipient's stick will find (same Δ).
  'send-signed': { vouchedBy: 'stick', effect: 'raises', delta: 3 },
  'send-headers-protected': { vouchedBy: 'stick', effect: 'raises', delta: 3 },
  // §4.5, §5.2.1: the mirror of payload-encrypted-pq, which the recipient's stick will find.
  'send-encrypted-pq': { vouchedBy: 'stick', effect: 'info', delta: 0 },
  // §4.6 sent and delivered: what the relay saw of the hop replaces the pre-send prediction.
  'delivered-tls-guaranteed': { vouchedBy: 'relay', effect: 'raises', delta: 2 },
  'delivered-tls-opportunistic': { vouchedBy: 'relay', effect: 'raises', delta: -3 },
  'delivered-smarthost': { vouchedBy: 'relay', effect: 'caps', capsAt: 'cleartext', delta: 0 },
  'delivered-no-tls': { vouchedBy: 'relay', effect: 'caps', capsAt: 'cleartext', delta: -6 },
  'delivered-encrypted': { vouchedBy: 'relay', effect: 'info', delta: 0 },
} as const satisfies Record<string, ReasonRule>;

export type ReasonCode = keyof typeof REASON_RULES;
export const REASON_CODES = Object.keys(REASON_RULES) as ReasonCode[];

/** docs/exposure.md §4: one fact, as shown to the user. */
export interface ExposureReason {
  readonly code: ReasonCode;
  readonly vouchedBy: Vouch;
  readonly effect: ReasonEffect;
  readonly capsAt?: ExposureLevel;
  /** This fact set the level: its cap (or alarm) equals the final level. */
  readonly decisive: boolean;
  /** Values shown in the text (host, domain, TLS version, address…), never secrets. */
  readonly params?: Readonly<Record<string, string>>;
  readonly text: { readonly en: string; readonly fr: string };
}

export interface ExposureSymbol {
  readonly unicode: string;
  readonly ascii: string;
}

/** docs/exposure.md §7: the output. */
export interface ExposureAssessment {
  readonly level: ExposureLevel;
  /** 0-100, higher is safer; always inside the level's band (§6). */
  readonly score: number;
  readonly name: { readonly en: string; readonly fr: string };
  readonly symbol: ExposureSymbol;
  readonly reasons: readonly ExposureReason[];
}

// ---------------------------------------------------------------- assessment

interface Fact {
  readonly code: ReasonCode;
  readonly params?: Record<string, string>;
}

/** docs/exposure.md §5: judges the facts about a received (or sent and delivered) message. */
export function assessReceived(facts: ExposureFacts): ExposureAssessment {
  checkExposureFacts(facts);
  return judge([...stickFactsToReasons(facts), ...relayFactsToReasons(facts)]);
}

/**
 * docs/exposure.md §5.2: judges a message about to be sent. Each recipient gets an
 * assessment; the message's is the worst recipient's (level and score), with the
 * reasons of every recipient.
 */
export function assessOutgoing(recipients: readonly RecipientFacts[]): {
  message: ExposureAssessment;
  perRecipient: { address: string; assessment: ExposureAssessment }[];
} {
  if (!Array.isArray(recipients) || recipients.length === 0) {
    throw new CaliopError('exposure_facts_invalid', 'a message to assess needs at least one recipient');
  }
  const perRecipient = recipients.map((recipient, index) => {
    checkRecipient(recipient, `recipients[${index}]`);
    return { address: recipient.address, facts: recipientFacts(recipient) };
  });
  const assessed = perRecipient.map(({ address, facts }) => ({ address, assessment: judge(facts) }));
  const message = judge(perRecipient.flatMap(({ facts }) => facts));
  // §5.2: the message's score is its worst recipient's score, never the mix of all.
  const worstScore = Math.min(...assessed.map(({ assessment }) => assessment.score));
  return { message: { ...message, score: worstScore }, perRecipient: assessed };
}

/** docs/exposure.md §4.6: one SMTP transaction as the relay reported it (docs/api.md §8.7 `deliveries`). */
export interface DeliveryFacts {
  readonly recipients: readonly string[];
  readonly server: string;
  readonly via: 'mx' | 'smarthost';
  readonly tlsPolicy: 'dane' | 'mta-sts' | 'opportunistic' | 'absent';
}

const PREDICTIONS: ReadonlySet<string> = new Set(['recipient-tls-guaranteed', 'recipient-tls-not-guaranteed']);

function deliveredCode(delivery: DeliveryFacts): ReasonCode {
  if (delivery.tlsPolicy === 'absent') return 'delivered-no-tls';
  if (delivery.via === 'smarthost') return 'delivered-smarthost';
  return delivery.tlsPolicy === 'opportunistic' ? 'delivered-tls-opportunistic' : 'delivered-tls-guaranteed';
}

/**
 * docs/exposure.md §4.6: the sent copy judged again once the relay said how each
 * transaction left. Works on the reasons of the assessment kept at send time (their
 * codes and params are the facts): for each delivered recipient without a cert the
 * TLS prediction gives way to the fact; a recipient with a cert gets an info reason.
 * Level and score as in §5.2 (the worst recipient's score).
 */
export function assessDelivered(sent: ExposureAssessment, deliveries: readonly DeliveryFacts[]): ExposureAssessment {
  const deliveryOf = new Map<string, DeliveryFacts>();
  for (const delivery of deliveries) for (const address of delivery.recipients) deliveryOf.set(address.toLowerCase(), delivery);
  const byAddress = new Map<string, Fact[]>();
  for (const reason of sent.reasons) {
    if (!(reason.code in REASON_RULES) || reason.code.startsWith('delivered-')) continue;
    const address = reason.params?.address ?? '';
    const delivery = deliveryOf.get(address.toLowerCase());
    const facts = byAddress.get(address) ?? [];
    byAddress.set(address, facts);
    if (delivery !== undefined && PREDICTIONS.has(reason.code)) {
      facts.push({ code: deliveredCode(delivery), params: { address, server: delivery.server } });
      continue;
    }
    facts.push({ code: reason.code, ...(reason.params !== undefined ? { params: { ...reason.params } } : {}) });
    if (delivery !== undefined && reason.code === 'recipient-external-cert') facts.push({ code: 'delivered-encrypted', params: { address, server: delivery.server } });
  }
  if (byAddress.size === 0) return sent;
  const all = [...byAddress.values()].flat();
  const message = judge(all);
  const worstScore = Math.min(...[...byAddress.values()].map((facts) => judge(facts).score));
  return { ...message, score: worstScore };
}

// §4.1: the stick's own facts.
function stickFactsToReasons({ stick, relay }: ExposureFacts): Fact[] {
  const out: Fact[] = [];
  out.push({ code: stick.encryptedToMe ? 'payload-encrypted' : 'payload-not-encrypted' });
  // §4.1, docs/decisions/post-quantum.md: which encryption the sender used, said beside payload-encrypted.
  if (stick.encryptedToMe && stick.postQuantum === true) out.push({ code: 'payload-encrypted-pq' });
  switch (stick.signature) {
    case 'valid': out.push({ code: 'signature-valid' }); break;
    case 'absent': out.push({ code: stick.partlySigned === true ? 'signature-partial' : 'signature-absent' }); break;
    case 'unknown-key': out.push({ code: 'signature-unknown-key' }); break;
    case 'invalid': out.push({ code: 'signature-invalid' }); break;
    case 'valid-weak': out.push({ code: 'signature-weak' }); break;
    case 'expired-key': out.push({ code: 'signature-expired-key' }); break;
    case 'revoked-key': out.push({ code: 'signature-revoked-key' }); break;
    case 'unsupported-algorithm': out.push({ code: 'signature-unsupported' }); break;
  }
  // §4.1: the key state is the state of the key that made the valid signature;
  // without a valid signature there is no such key. A changed key is always an alarm.
  if (stick.senderKey === 'changed') out.push({ code: 'sender-key-changed' });
  else if (stick.signature === 'valid' || stick.signature === 'valid-weak') {
    out.push({ code: stick.senderKey === 'verified-in-person' ? 'sender-key-verified' : stick.senderKey === 'tofu' ? 'sender-key-tofu' : 'sender-key-unknown' });
  }
  // §4.1.1: a From that names someone we know but is not proven to be them.
  if (stick.fromClaim?.kind === 'contact-unproven') out.push({ code: 'from-contact-unproven', params: { address: stick.fromClaim.address } });
  if (stick.fromClaim?.kind === 'not-submitter') {
    out.push({ code: 'from-not-submitter', params: { address: stick.fromClaim.address, submittedBy: relay?.route === 'internal' ? relay.submittedBy : 'unknown' } });
  }
  // §4.1: headers can only be protected inside an encrypted payload.
  if (stick.encryptedToMe) out.push({ code: stick.headersProtected ? 'headers-protected' : 'headers-unprotected' });
  return out;
}

// §4.2-§4.4: the relay's facts.
function relayFactsToReasons({ stick, relay }: ExposureFacts): Fact[] {
  if (relay === null) {
    // §4.2: no record of the way: metadata exposure unknown, and the content too if it was readable.
    return stick.encryptedToMe ? [{ code: 'route-unknown' }] : [{ code: 'route-unknown' }, { code: 'transport-unknown' }];
  }
  switch (relay.route) {
    case 'internal': {
      const out: Fact[] = [{ code: 'route-internal', params: { submittedBy: relay.submittedBy } }];
      const tls = relay.transport.protocol === 'https' && relay.transport.tlsVersion !== null;
      if (tls) {
        const version = relay.transport.tlsVersion ?? '';
        out.push({ code: 'submission-tls', params: { version, cipher: relay.transport.cipher ?? 'unknown' } });
        if (isOutdatedTls(version)) out.push({ code: 'tls-outdated', params: { from: relay.submittedBy, by: 'relay', version } });
      } else {
        // §4.3: a hop without TLS exposes the content if it was readable there, otherwise the metadata.
        out.push({ code: stick.encryptedToMe ? 'submission-no-tls-sealed' : 'submission-no-tls' });
      }
      return out;
    }
    case 'smtp-inbound': {
      const out: Fact[] = [{ code: 'route-smtp-inbound', params: { host: relay.peer.host, ip: relay.peer.ip } }];
      out.push({ code: relay.arrivedEncrypted ? 'arrived-encrypted' : 'arrived-readable' });
      if (relay.relayHeldPlaintext) out.push({ code: 'relay-held-plaintext' });
      out.push(...hopReasons(relay.hops, !relay.arrivedEncrypted));
      out.push(...authReasons(relay.auth));
      return out;
    }
    case 'smtp-outbound': {
      const out: Fact[] = [{ code: 'route-smtp-outbound', params: { host: relay.peer.host, ip: relay.peer.ip } }];
      out.push({ code: relay.sentEncrypted ? 'sent-encrypted' : 'sent-readable' });
      if (relay.relayHeldPlaintext) out.push({ code: 'relay-held-plaintext' });
      out.push(...hopReasons(relay.hops, !relay.sentEncrypted));
      return out;
    }
  }
}

// §4.3: hops. Only hops the relay saw itself can set or cap the level; claims are shown and only lower the score.
function hopReasons(hops: readonly SmtpHopFacts[], contentReadable: boolean): Fact[] {
  const out: Fact[] = [];
  let verifiedHops = 0;
  for (const hop of hops) {
    const where = { from: hop.from, by: hop.by };
    if (!hop.verifiedByRelay) {
      out.push({ code: hop.tls === null ? 'claimed-hop-no-tls' : 'claimed-hop-tls', params: where });
      continue;
    }
    verifiedHops += 1;
    if (hop.tls === null) {
      out.push({ code: contentReadable ? 'hop-no-tls' : 'hop-no-tls-sealed', params: where });
      continue;
    }
    // §2.2: a TLS session whose version or cipher was not recorded is shown as "unknown".
    const version = hop.tls.version ?? 'unknown';
    out.push({ code: 'hop-tls', params: { ...where, version, cipher: hop.tls.cipher ?? 'unknown' } });
    if (isOutdatedTls(version)) out.push({ code: 'tls-outdated', params: { ...where, version } });
  }
  // §4.3: "unknown" counts as "without TLS".
  if (verifiedHops === 0) out.push({ code: contentReadable ? 'transport-unknown' : 'transport-unknown-sealed' });
  return out;
}

/** §4.3: TLS before 1.2 is deprecated (RFC 8996); SSL never counted as safe. */
function isOutdatedTls(version: string): boolean {
  return /^(SSL|TLSv1(\.0|\.1)?$)/i.test(version.trim());
}

// §4.4: DKIM, SPF, DMARC, as the relay verified them.
function authReasons(auth: AuthFacts): Fact[] {
  const out: Fact[] = [];
  const dkim = auth.dkim.filter((entry) => entry.result !== 'none');
  if (dkim.length === 0) out.push({ code: 'dkim-none' });
  for (const { domain, result } of dkim) {
    const code: ReasonCode = result === 'pass' ? 'dkim-pass' : result === 'fail' || result === 'softfail' ? 'dkim-fail' : 'dkim-inconclusive';
    out.push({ code, params: { domain, result } });
  }
  const spf = auth.spf;
  out.push({
    code: spf.result === 'pass' ? 'spf-pass' : spf.result === 'fail' || spf.result === 'softfail' ? 'spf-fail' : spf.result === 'none' ? 'spf-none' : 'spf-inconclusive',
    params: { domain: spf.domain, result: spf.result },
  });
  const dmarc = auth.dmarc;
  out.push({
    code: dmarc.result === 'pass' ? 'dmarc-pass' : dmarc.result === 'fail' ? 'dmarc-fail' : dmarc.result === 'none' ? 'dmarc-none' : 'dmarc-inconclusive',
    params: { domain: dmarc.domain, result: dmarc.result },
  });
  return out;
}

// §4.5: one recipient of an outgoing message.
function recipientFacts(recipient: RecipientFacts): Fact[] {
  const address = { address: recipient.address };
  const out: Fact[] = [];
  let keyState: 'verified-in-person' | 'tofu' | 'changed' | null;
  if (recipient.kind === 'internal') {
    out.push({ code: 'recipient-internal', params: address });
    if (recipient.postQuantum === true) out.push({ code: 'send-encrypted-pq', params: address });
    keyState = recipient.keyState;
  } else if (recipient.cert !== null) {
    out.push({ code: 'recipient-external-cert', params: { ...address, source: recipient.cert.source } });
    keyState = recipient.cert.keyState;
  } else {
    out.push({ code: 'recipient-no-cert', params: address });
    out.push({ code: recipient.tlsGuaranteed ? 'recipient-tls-guaranteed' : 'recipient-tls-not-guaranteed', params: address });
    keyState = null;
  }
  if (keyState !== null) {
    out.push({ code: keyState === 'verified-in-person' ? 'recipient-key-verified' : keyState === 'tofu' ? 'recipient-key-tofu' : 'recipient-key-changed', params: address });
    // §5.2.1: a recipient with a key gets the message encrypted, signed by our stick, its subject
    // and headers inside the encryption (src/service/mail.ts sendMessage): the facts the
    // recipient's stick will check as signature-valid and headers-protected.
    if (keyState !== 'changed') out.push({ code: 'send-signed', params: address }, { code: 'send-headers-protected', params: address });
  }
  return out;
}

/** Order of reasons in the output (§5): alarms, then caps worst first, then raises, then info. */
const EFFECT_ORDER: Record<ReasonEffect, number> = { alarm: 0, caps: 1, raises: 2, info: 3 };

// §5: the level is the minimum over every cap, an alarm overrides everything; the score stays in the level's band.
function judge(facts: readonly Fact[]): ExposureAssessment {
  let level: ExposureLevel = LEVELS[0];
  let delta = 0;
  for (const { code } of facts) {
    const rule: ReasonRule = REASON_RULES[code];
    if (rule.effect === 'alarm') level = 'alarm';
    else if (rule.effect === 'caps' && rule.capsAt !== undefined) level = worstLevel(level, rule.capsAt);
    delta += rule.delta;
  }
  const band = SCORE_BANDS[level];
  const score = Math.min(band.max, Math.max(band.min, band.base + delta));
  const reasons = facts
    .map((fact, index) => ({ fact, index, rule: REASON_RULES[fact.code] as ReasonRule }))
    .sort((a, b) =>
      EFFECT_ORDER[a.rule.effect] - EFFECT_ORDER[b.rule.effect] ||
      (a.rule.capsAt !== undefined && b.rule.capsAt !== undefined ? compareLevels(a.rule.capsAt, b.rule.capsAt) : 0) ||
      a.index - b.index)
    .map(({ fact, rule }): ExposureReason => ({
      code: fact.code,
      vouchedBy: rule.vouchedBy,
      effect: rule.effect,
      ...(rule.capsAt !== undefined ? { capsAt: rule.capsAt } : {}),
      decisive: (rule.effect === 'alarm' && level === 'alarm') || (rule.effect === 'caps' && rule.capsAt === level),
      ...(fact.params !== undefined ? { params: fact.params } : {}),
      text: { en: renderReasonText('en', fact.code, fact.params), fr: renderReasonText('fr', fact.code, fact.params) },
    }));
  return { level, score, name: { en: LEVEL_NAMES.en[level], fr: LEVEL_NAMES.fr[level] }, symbol: LEVEL_SYMBOLS[level], reasons };
}

// ---------------------------------------------------------------- boundary checks (§2.4)

function fail(path: string, expected: string, got: unknown): never {
  throw new CaliopError('exposure_facts_invalid', `${path} must be ${expected} (got ${JSON.stringify(got) ?? String(got)})`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkBoolean(value: unknown, path: string): void {
  if (typeof value !== 'boolean') fail(path, 'true or false', value);
}

function checkString(value: unknown, path: string): void {
  if (typeof value !== 'string') fail(path, 'a string', value);
}

function checkOneOf(value: unknown, allowed: readonly string[], path: string): void {
  if (typeof value !== 'string' || !allowed.includes(value)) fail(path, `one of ${allowed.join(', ')}`, value);
}

/** §2.4: facts are checked once, at the boundary, and trusted inside. */
export function checkExposureFacts(facts: unknown): asserts facts is ExposureFacts {
  if (!isRecord(facts)) fail('facts', 'an object {stick, relay}', facts);
  const stick = facts.stick;
  if (!isRecord(stick)) fail('facts.stick', 'an object', stick);
  checkBoolean(stick.encryptedToMe, 'facts.stick.encryptedToMe');
  if (stick.postQuantum !== undefined) checkBoolean(stick.postQuantum, 'facts.stick.postQuantum');
  checkOneOf(stick.signature, SIGNATURE_STATES, 'facts.stick.signature');
  checkOneOf(stick.senderKey, KEY_STATES, 'facts.stick.senderKey');
  checkBoolean(stick.headersProtected, 'facts.stick.headersProtected');
  if (stick.partlySigned !== undefined) checkBoolean(stick.partlySigned, 'facts.stick.partlySigned');
  const fromClaim = stick.fromClaim;
  if (fromClaim !== undefined) {
    if (!isRecord(fromClaim)) fail('facts.stick.fromClaim', 'an object {kind, address} or absent', fromClaim);
    checkOneOf(fromClaim.kind, ['contact-unproven', 'not-submitter'] as const, 'facts.stick.fromClaim.kind');
    checkString(fromClaim.address, 'facts.stick.fromClaim.address');
  }
  if (facts.relay === null) return;
  // The relay's facts have one definition, the schema of the narrow API (src/api/facts.ts).
  const relay = RelayFactsSchema.safeParse(facts.relay);
  if (!relay.success) {
    const issue = relay.error.issues[0]!;
    const at = issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('');
    throw new CaliopError('exposure_facts_invalid', `facts.relay${at}: ${issue.message}`);
  }
}

function checkRecipient(recipient: unknown, path: string): asserts recipient is RecipientFacts {
  if (!isRecord(recipient)) fail(path, 'an object', recipient);
  checkString(recipient.address, `${path}.address`);
  const keyStates = ['verified-in-person', 'tofu', 'changed'];
  if (recipient.kind === 'internal') {
    checkOneOf(recipient.keyState, keyStates, `${path}.keyState`);
    if (recipient.postQuantum !== undefined) checkBoolean(recipient.postQuantum, `${path}.postQuantum`);
  } else if (recipient.kind === 'external') {
    checkBoolean(recipient.tlsGuaranteed, `${path}.tlsGuaranteed`);
    const cert = recipient.cert;
    if (cert === null) return;
    if (!isRecord(cert)) fail(`${path}.cert`, 'an object {source, keyState} or null', cert);
    checkOneOf(cert.source, ['contacts', 'wkd', 'autocrypt', 'autocrypt-gossip'], `${path}.cert.source`);
    checkOneOf(cert.keyState, keyStates, `${path}.cert.keyState`);
  } else {
    fail(`${path}.kind`, 'one of internal, external', recipient.kind);
  }
}
