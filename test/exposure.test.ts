// The interception-risk index (docs/exposure.md): known-answer vectors, table-driven,
// plus property tests (§5.3: monotonicity, alarm override, canonical ordering).

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AUTH_RESULTS, InternalArrivalFactsSchema, type ArrivalFacts, type AuthResult, type RelayFacts, type SmtpHopFacts } from '../src/api/facts.js';
import { isCaliopError } from '../src/errors.js';
import {
  LEVELS,
  REASON_CODES,
  REASON_RULES,
  SCORE_BANDS,
  assessDelivered,
  assessOutgoing,
  assessReceived,
  compareLevels,
  worstLevel,
  type DeliveryFacts,
  type ExposureAssessment,
  type ExposureFacts,
  type ExposureLevel,
  type RecipientFacts,
  type StickFacts,
} from '../src/core/exposure.js';
import { prng } from '../scripts/fuzz/prng.js';

const VECTORS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'vectors', 'exposure');

interface Expectation {
  level?: ExposureLevel;
  score?: number;
  scoreBand?: [number, number];
  reasons?: string[];
  decisive?: string[];
  texts?: Record<string, { en: string; fr: string }>;
  perRecipient?: { address: string; level: ExposureLevel; score: number }[];
  /** docs/exposure.md §5.2.1: the vector of the same message as its other end sees it. */
  agreesWith?: string;
  error?: string;
}

interface Vector {
  file: string;
  description: string;
  kind: 'received' | 'outgoing' | 'delivered';
  facts?: unknown;
  recipients?: unknown;
  deliveries?: unknown;
  expect: Expectation;
}

const vectors: Vector[] = readdirSync(VECTORS_DIR)
  .filter((name) => name.endsWith('.json'))
  .sort()
  .map((file) => ({ file, ...(JSON.parse(readFileSync(join(VECTORS_DIR, file), 'utf8')) as Omit<Vector, 'file'>) }));

function run(vector: Vector): { message: ExposureAssessment; perRecipient?: { address: string; assessment: ExposureAssessment }[] } {
  if (vector.kind === 'received') return { message: assessReceived(vector.facts as ExposureFacts) };
  // §4.6: the sent copy judged again on the relay's delivery facts.
  if (vector.kind === 'delivered') return { message: assessDelivered(assessOutgoing(vector.recipients as RecipientFacts[]).message, vector.deliveries as DeliveryFacts[]) };
  return assessOutgoing(vector.recipients as RecipientFacts[]);
}

const codesOf = (assessment: ExposureAssessment) => [...new Set(assessment.reasons.map((reason) => reason.code))].sort();

/** Invariants every assessment must satisfy (docs/exposure.md §5, §6). */
function checkInvariants(assessment: ExposureAssessment): void {
  const band = SCORE_BANDS[assessment.level];
  expect(assessment.score).toBeGreaterThanOrEqual(band.min);
  expect(assessment.score).toBeLessThanOrEqual(band.max);
  expect(Number.isInteger(assessment.score)).toBe(true);
  // §5: the level is exactly the minimum over every cap, alarm included.
  const caps = assessment.reasons.flatMap((reason): ExposureLevel[] =>
    reason.effect === 'alarm' ? ['alarm'] : reason.effect === 'caps' && reason.capsAt ? [reason.capsAt] : []);
  expect(assessment.level).toBe(worstLevel(LEVELS[0], ...caps));
  // §5: every level below the top is explained by at least one decisive reason.
  if (assessment.level !== LEVELS[0]) expect(assessment.reasons.some((reason) => reason.decisive)).toBe(true);
  for (const reason of assessment.reasons) {
    const rule = REASON_RULES[reason.code];
    expect(reason.vouchedBy).toBe(rule.vouchedBy);
    expect(reason.effect).toBe(rule.effect);
    expect(reason.capsAt).toBe('capsAt' in rule ? rule.capsAt : undefined);
    for (const text of [reason.text.en, reason.text.fr]) {
      expect(text.length).toBeGreaterThan(0);
      expect(text).not.toMatch(/[{}]|\?\)|\(\?/);
    }
  }
  // Scripts read it as JSON (--json): it must survive a round trip unchanged.
  expect(JSON.parse(JSON.stringify(assessment))).toEqual(assessment);
}

describe('exposure vectors (test/vectors/exposure/*.json)', () => {
  it('has vectors', () => expect(vectors.length).toBeGreaterThanOrEqual(30));

  for (const vector of vectors) {
    it(`${vector.file}: ${vector.description}`, () => {
      const want = vector.expect;
      if (want.error !== undefined) {
        let caught: unknown;
        try {
          run(vector);
        } catch (error) {
          caught = error;
        }
        expect(isCaliopError(caught, want.error as never), `expected CaliopError ${want.error}, got ${String(caught)}`).toBe(true);
        return;
      }
      const { message, perRecipient } = run(vector);
      expect(message.level).toBe(want.level);
      expect(message.score).toBe(want.score);
      expect(message.score).toBeGreaterThanOrEqual(want.scoreBand![0]);
      expect(message.score).toBeLessThanOrEqual(want.scoreBand![1]);
      expect(codesOf(message)).toEqual([...want.reasons!].sort());
      expect([...new Set(message.reasons.filter((reason) => reason.decisive).map((reason) => reason.code))].sort()).toEqual([...want.decisive!].sort());
      for (const [code, text] of Object.entries(want.texts ?? {})) {
        expect(message.reasons.find((reason) => reason.code === code)?.text).toEqual(text);
      }
      if (want.perRecipient !== undefined) {
        expect(perRecipient?.map(({ address, assessment }) => ({ address, level: assessment.level, score: assessment.score }))).toEqual(want.perRecipient);
        perRecipient?.forEach(({ assessment }) => checkInvariants(assessment));
      }
      checkInvariants(message);
      if (want.agreesWith !== undefined) {
        // §5.2.1: the sender's view before sending and the other end's view of the same message agree.
        const other = vectors.find((candidate) => candidate.file === want.agreesWith);
        expect(other, `${want.agreesWith} exists`).toBeDefined();
        const otherView = run(other!).message;
        expect({ level: message.level, score: message.score }).toEqual({ level: otherView.level, score: otherView.score });
      }
    });
  }

  it('exercise every reason code and every level', () => {
    const seenCodes = new Set<string>();
    const seenLevels = new Set<string>();
    for (const vector of vectors) {
      if (vector.expect.error !== undefined) continue;
      const { message, perRecipient } = run(vector);
      message.reasons.forEach((reason) => seenCodes.add(reason.code));
      seenLevels.add(message.level);
      perRecipient?.forEach(({ assessment }) => seenLevels.add(assessment.level));
    }
    expect(REASON_CODES.filter((code) => !seenCodes.has(code)), 'reason codes no vector exercises').toEqual([]);
    expect(LEVELS.filter((level) => !seenLevels.has(level)), 'levels no vector reaches').toEqual([]);
  });
});

describe('the relay\'s arrival facts (src/api/facts.ts, docs/api.md §8.3)', () => {
  it('are read by the index as they are, with no translation', () => {
    const arrival: ArrivalFacts = InternalArrivalFactsSchema.parse({
      route: 'internal',
      receivedAt: '2026-11-26T10:00:00Z',
      submittedBy: 'alice@caliop.example',
      transport: { protocol: 'https', tlsVersion: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
    });
    const relay: RelayFacts = arrival; // compile-time contract: the relay's schema fits the index's input
    const stick: StickFacts = { encryptedToMe: true, signature: 'valid', senderKey: 'verified-in-person', headersProtected: true };
    expect(assessReceived({ stick, relay }).level).toBe('e2e-verified');
    expect(assessReceived({ stick, relay: { ...arrival, transport: { protocol: 'http', tlsVersion: null, cipher: null } } }).level).toBe('pgp-external');
  });
});

describe('levels (docs/exposure.md §3)', () => {
  it('are ordered best first, alarm last, and compareLevels agrees', () => {
    expect(LEVELS).toEqual(['e2e-verified', 'e2e-tofu', 'pgp-external', 'tls-only', 'cleartext', 'alarm']);
    for (let i = 0; i < LEVELS.length; i++) {
      for (let j = 0; j < LEVELS.length; j++) {
        expect(Math.sign(compareLevels(LEVELS[i]!, LEVELS[j]!))).toBe(Math.sign(j - i));
      }
    }
  });

  it('have disjoint score bands in the same order', () => {
    for (let i = 1; i < LEVELS.length; i++) {
      const better = SCORE_BANDS[LEVELS[i - 1]!];
      const worse = SCORE_BANDS[LEVELS[i]!];
      expect(worse.max).toBeLessThan(better.min);
      expect(worse.base).toBeGreaterThanOrEqual(worse.min);
      expect(worse.base).toBeLessThanOrEqual(worse.max);
    }
  });
});

// ---------------------------------------------------------------- properties (§5.3)

type Random = () => number;
const pick = <T,>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const TLS_VERSIONS = ['TLSv1.3', 'TLSv1.2', 'TLSv1.1', 'TLSv1', null] as const;

function randomTls(random: Random) {
  if (random() < 0.1) return { version: null, cipher: null }; // a TLS session whose details were not recorded
  const version = pick(random, TLS_VERSIONS);
  return version === null ? null : { version, cipher: 'SOME-CIPHER' };
}

function randomHops(random: Random): SmtpHopFacts[] {
  const hops: SmtpHopFacts[] = [];
  const claimed = Math.floor(random() * 3);
  for (let i = 0; i < claimed; i++) hops.push({ from: `c${i}.example`, by: `c${i + 1}.example`, tls: randomTls(random), verifiedByRelay: false });
  if (random() < 0.9) hops.push({ from: 'mx.example', by: 'relay.example', tls: randomTls(random), verifiedByRelay: true });
  return hops;
}

function randomStick(random: Random): StickFacts {
  return {
    encryptedToMe: random() < 0.5,
    signature: pick(random, ['valid', 'valid', 'valid-weak', 'absent', 'unknown-key', 'invalid', 'expired-key', 'revoked-key', 'unsupported-algorithm'] as const),
    senderKey: pick(random, ['verified-in-person', 'tofu', 'unknown', 'changed'] as const),
    headersProtected: random() < 0.5,
  };
}

function randomRelay(random: Random): RelayFacts | null {
  const route = pick(random, ['none', 'internal', 'smtp-inbound', 'smtp-outbound'] as const);
  if (route === 'none') return null;
  if (route === 'internal') {
    const version = pick(random, TLS_VERSIONS);
    return {
      route, receivedAt: '2026-01-01T00:00:00Z', submittedBy: 'a@caliop.example',
      transport: { protocol: version === null ? 'http' : 'https', tlsVersion: version, cipher: version === null ? null : 'SOME-CIPHER' },
    };
  }
  if (route === 'smtp-inbound') {
    const arrivedEncrypted = random() < 0.5;
    return {
      route, receivedAt: '2026-01-01T00:00:00Z', peer: { host: 'mx.example', ip: '192.0.2.1' }, hops: randomHops(random),
      auth: {
        dkim: Array.from({ length: Math.floor(random() * 3) }, (_, i) => ({ domain: `d${i}.example`, result: pick(random, AUTH_RESULTS) })),
        spf: { domain: 'example', result: pick(random, AUTH_RESULTS) },
        dmarc: { domain: 'example', result: pick(random, AUTH_RESULTS) },
      },
      relayHeldPlaintext: !arrivedEncrypted || random() < 0.2,
      arrivedEncrypted,
    };
  }
  const sentEncrypted = random() < 0.5;
  return {
    route, sentAt: '2026-01-01T00:00:00Z', peer: { host: 'smarthost.example', ip: '192.0.2.2' }, hops: randomHops(random),
    relayHeldPlaintext: !sentEncrypted || random() < 0.2, sentEncrypted,
  };
}

const randomFacts = (random: Random): ExposureFacts => ({ stick: randomStick(random), relay: randomRelay(random) });

// Each worsening replaces one fact by a worse one, or returns null when it does not apply (§5.3).
type Worsening = (facts: ExposureFacts) => ExposureFacts | null;
const withStick = (facts: ExposureFacts, change: Partial<StickFacts>): ExposureFacts => ({ ...facts, stick: { ...facts.stick, ...change } });
const stepDown = <T,>(order: readonly T[]) => (value: T): T | null => {
  const at = order.indexOf(value);
  return at >= 0 && at + 1 < order.length ? order[at + 1]! : null;
};
const worseSignature = (s: StickFacts['signature']) =>
  ({
    valid: ['valid-weak', 'absent', 'unknown-key', 'invalid'],
    'valid-weak': ['absent', 'unknown-key', 'invalid'],
    absent: ['invalid'],
    'unknown-key': ['invalid'],
    'expired-key': ['invalid'],
    'revoked-key': ['invalid'],
    'unsupported-algorithm': ['invalid'],
    invalid: [],
  } as const)[s];
const worseKey = stepDown(['verified-in-person', 'tofu', 'unknown', 'changed'] as const);
const worseTlsVersion = (version: string | null) => (version === 'TLSv1.3' || version === 'TLSv1.2' ? 'TLSv1.1' : null);
// DKIM per signature: pass > inconclusive > fail. SPF: pass > none/inconclusive > fail. DMARC: pass > none/inconclusive > fail.
const worseAuth = (result: AuthResult): AuthResult | null =>
  result === 'pass' ? 'temperror' : result === 'fail' ? null : result === 'softfail' ? 'fail' : 'fail';

const WORSENINGS: Record<string, Worsening> = {
  'payload no longer encrypted': (f) => (f.stick.encryptedToMe ? withStick(f, { encryptedToMe: false }) : null),
  'headers no longer protected': (f) => (f.stick.headersProtected ? withStick(f, { headersProtected: false }) : null),
  'worse signature': (f) => { const w = worseSignature(f.stick.signature)[0]; return w ? withStick(f, { signature: w }) : null; },
  'forged signature': (f) => (f.stick.signature !== 'invalid' ? withStick(f, { signature: 'invalid' }) : null),
  'worse sender key': (f) => { const w = worseKey(f.stick.senderKey); return w ? withStick(f, { senderKey: w }) : null; },
  'internal route forgotten': (f) => (f.relay?.route === 'internal' ? { ...f, relay: null } : null),
  'internal submission weaker TLS': (f) => {
    if (f.relay?.route !== 'internal' || f.relay.transport.tlsVersion === null) return null;
    const tlsVersion = worseTlsVersion(f.relay.transport.tlsVersion);
    return { ...f, relay: { ...f.relay, transport: tlsVersion === null ? { protocol: 'http', tlsVersion: null, cipher: null } : { ...f.relay.transport, tlsVersion } } };
  },
  'SMTP hop weaker TLS': (f) => {
    if (f.relay === null || f.relay.route === 'internal') return null;
    const at = f.relay.hops.findIndex((hop) => hop.tls !== null);
    if (at < 0) return null;
    const hops = f.relay.hops.map((hop, i) => {
      if (i !== at || hop.tls === null) return hop;
      const version = worseTlsVersion(hop.tls.version);
      return { ...hop, tls: version === null ? null : { ...hop.tls, version } };
    });
    return { ...f, relay: { ...f.relay, hops } };
  },
  'a claimed cleartext hop is added': (f) =>
    f.relay === null || f.relay.route === 'internal' ? null
      : { ...f, relay: { ...f.relay, hops: [{ from: 'x.example', by: 'y.example', tls: null, verifiedByRelay: false }, ...f.relay.hops] } },
  'the relay saw no hop': (f) =>
    f.relay === null || f.relay.route === 'internal' || !f.relay.hops.some((hop) => hop.verifiedByRelay) ? null
      : { ...f, relay: { ...f.relay, hops: f.relay.hops.filter((hop) => !hop.verifiedByRelay) } },
  'arrived readable': (f) => (f.relay?.route === 'smtp-inbound' && f.relay.arrivedEncrypted ? { ...f, relay: { ...f.relay, arrivedEncrypted: false, relayHeldPlaintext: true } } : null),
  'sent readable': (f) => (f.relay?.route === 'smtp-outbound' && f.relay.sentEncrypted ? { ...f, relay: { ...f.relay, sentEncrypted: false, relayHeldPlaintext: true } } : null),
  'relay held the plaintext': (f) =>
    (f.relay?.route === 'smtp-inbound' || f.relay?.route === 'smtp-outbound') && !f.relay.relayHeldPlaintext ? { ...f, relay: { ...f.relay, relayHeldPlaintext: true } } : null,
  'worse DKIM result': (f) => {
    if (f.relay?.route !== 'smtp-inbound') return null;
    const at = f.relay.auth.dkim.findIndex((entry) => entry.result !== 'none' && worseAuth(entry.result) !== null);
    if (at < 0) return null;
    const dkim = f.relay.auth.dkim.map((entry, i) => (i === at ? { ...entry, result: worseAuth(entry.result)! } : entry));
    return { ...f, relay: { ...f.relay, auth: { ...f.relay.auth, dkim } } };
  },
  'worse SPF result': (f) => {
    if (f.relay?.route !== 'smtp-inbound') return null;
    const result = worseAuth(f.relay.auth.spf.result);
    return result === null ? null : { ...f, relay: { ...f.relay, auth: { ...f.relay.auth, spf: { ...f.relay.auth.spf, result } } } };
  },
  'worse DMARC result': (f) => {
    if (f.relay?.route !== 'smtp-inbound') return null;
    const result = worseAuth(f.relay.auth.dmarc.result);
    return result === null ? null : { ...f, relay: { ...f.relay, auth: { ...f.relay.auth, dmarc: { ...f.relay.auth.dmarc, result } } } };
  },
};

const RUNS = 3000;

describe('properties (docs/exposure.md §5.3)', () => {
  it('random facts always give a consistent assessment', () => {
    const random = prng(1);
    for (let i = 0; i < RUNS; i++) checkInvariants(assessReceived(randomFacts(random)));
  });

  for (const [name, worsen] of Object.entries(WORSENINGS)) {
    it(`monotonicity: "${name}" never raises the level or the score`, () => {
      const random = prng(name.length * 7919);
      let applied = 0;
      for (let i = 0; i < RUNS; i++) {
        const before = randomFacts(random);
        const after = worsen(before);
        if (after === null) continue;
        applied += 1;
        const a = assessReceived(before);
        const b = assessReceived(after);
        const context = `case ${i}: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`;
        expect(compareLevels(b.level, a.level), context).toBeLessThanOrEqual(0);
        expect(b.score, context).toBeLessThanOrEqual(a.score);
      }
      expect(applied).toBeGreaterThan(50);
    });
  }

  it('an alarm fact always yields alarm and score 0, whatever else', () => {
    const random = prng(42);
    for (let i = 0; i < RUNS; i++) {
      const facts = randomFacts(random);
      const alarms: ExposureFacts[] = [withStick(facts, { signature: 'invalid' }), withStick(facts, { senderKey: 'changed' })];
      if (facts.relay?.route === 'smtp-inbound') {
        alarms.push({ ...facts, relay: { ...facts.relay, auth: { ...facts.relay.auth, dmarc: { domain: 'x.example', result: 'fail' } } } });
      }
      for (const alarmed of alarms) {
        const assessment = assessReceived(alarmed);
        expect(assessment.level).toBe('alarm');
        expect(assessment.score).toBe(0);
        expect(assessment.reasons[0]?.effect).toBe('alarm');
      }
    }
  });

  it('the canonical scenarios order: internal verified > internal TOFU > PGP external > TLS-only > cleartext', () => {
    const canonical = ['01-internal-verified', '02-internal-tofu', '16-smtp-pgp-tofu', '14-smtp-plaintext-tls', '15-smtp-plaintext-no-tls']
      .map((name) => vectors.find((vector) => vector.file === `${name}.json`)!)
      .map((vector) => run(vector).message);
    expect(canonical.map((assessment) => assessment.level)).toEqual(['e2e-verified', 'e2e-tofu', 'pgp-external', 'tls-only', 'cleartext']);
    for (let i = 1; i < canonical.length; i++) {
      expect(compareLevels(canonical[i - 1]!.level, canonical[i]!.level)).toBeGreaterThan(0);
      expect(canonical[i - 1]!.score).toBeGreaterThan(canonical[i]!.score);
    }
  });

  it('stick facts alone never reach an end-to-end level without the relay saying the message stayed inside Caliop', () => {
    const random = prng(7);
    for (let i = 0; i < RUNS; i++) {
      const facts = randomFacts(random);
      if (facts.relay?.route === 'internal') continue;
      expect(compareLevels(assessReceived(facts).level, 'pgp-external')).toBeLessThanOrEqual(0);
    }
  });

  it('send_read_agreement: what a Caliop stick sends internally scores the same before sending and when read, for the same key state (§5.2.1)', () => {
    const states = ['verified-in-person', 'tofu'] as const;
    for (const senderSees of states) {
      for (const readerSees of states) {
        const sent = assessOutgoing([{ address: 'bob@caliop.example', kind: 'internal', keyState: senderSees }]).message;
        // What sendMessage makes: encrypted, signed by the sender's stick, protected headers, submitted over TLS.
        const read = assessReceived({
          stick: { encryptedToMe: true, signature: 'valid', senderKey: readerSees, headersProtected: true },
          relay: { route: 'internal', receivedAt: '2026-11-30T10:00:00Z', submittedBy: 'alice@caliop.example', transport: { protocol: 'https', tlsVersion: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' } },
        });
        if (senderSees === readerSees) {
          expect({ level: read.level, score: read.score }, `${senderSees}`).toEqual({ level: sent.level, score: sent.score });
        } else {
          // Each end knows the other's key in its own way: the difference is a decisive, shown reason.
          const lower = compareLevels(sent.level, read.level) > 0 ? read : sent;
          expect(lower.reasons.filter((reason) => reason.decisive).map((reason) => reason.code)).toEqual([lower === read ? 'sender-key-tofu' : 'recipient-key-tofu']);
        }
      }
    }
  });

  it('outgoing: the worst recipient decides; adding or worsening a recipient never raises the message', () => {
    // Best first (§5.2): each step is a worse recipient for the same address.
    const ladder = (address: string): RecipientFacts[] => [
      { address, kind: 'internal', keyState: 'verified-in-person' },
      { address, kind: 'internal', keyState: 'tofu' },
      { address, kind: 'external', cert: { source: 'contacts', keyState: 'verified-in-person' }, tlsGuaranteed: false },
      { address, kind: 'external', cert: { source: 'wkd', keyState: 'tofu' }, tlsGuaranteed: false },
      { address, kind: 'external', cert: null, tlsGuaranteed: true },
      { address, kind: 'external', cert: null, tlsGuaranteed: false },
      { address, kind: 'external', cert: { source: 'wkd', keyState: 'changed' }, tlsGuaranteed: false },
    ];
    const random = prng(99);
    for (let i = 0; i < RUNS; i++) {
      const count = 1 + Math.floor(random() * 4);
      const steps = Array.from({ length: count }, () => Math.floor(random() * 7));
      const recipients = steps.map((step, n) => ladder(`r${n}@x.example`)[step]!);
      const { message, perRecipient } = assessOutgoing(recipients);
      checkInvariants(message);
      const worst = worstLevel(perRecipient[0]!.assessment.level, ...perRecipient.map((entry) => entry.assessment.level));
      expect(message.level).toBe(worst);
      expect(message.score).toBe(Math.min(...perRecipient.map((entry) => entry.assessment.score)));

      const added = assessOutgoing([...recipients, ladder('extra@x.example')[Math.floor(random() * 7)]!]).message;
      expect(compareLevels(added.level, message.level)).toBeLessThanOrEqual(0);
      expect(added.score).toBeLessThanOrEqual(message.score);

      const which = Math.floor(random() * count);
      if (steps[which]! < 6) {
        const worse = [...recipients];
        worse[which] = ladder(`r${which}@x.example`)[steps[which]! + 1]!;
        const worsened = assessOutgoing(worse).message;
        expect(compareLevels(worsened.level, message.level)).toBeLessThanOrEqual(0);
        expect(worsened.score).toBeLessThanOrEqual(message.score);
      }
    }
  });
});
