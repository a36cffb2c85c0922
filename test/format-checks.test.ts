// Issue 13: the vault's contents, the store's index and its journal records are checked
// without zod on every unlock (src/core/json-shape.ts). The hand-written checks must accept
// exactly what the zod schemas accept (docs/vault-contents.md, docs/store.md §2, §4): here
// each is compared with its schema on full documents and on every mutation of each field
// (removed, replaced by a value of each other kind, an unknown key beside it), and a
// refused document still gets zod's own error. Deterministic: no randomness, no time.
import { describe, expect, it } from 'vitest';
import { isJournalRecord, isStoreState, type StoreOp, type StoreState } from '../src/core/store-format.js';
import { JournalRecordSchema, StoreStateSchema } from '../src/core/store-format-schema.js';
import { decodeVaultContents, encodeVaultContents, isVaultContents, VAULT_CONTENTS_FORMAT, type VaultContents } from '../src/core/vault-contents.js';
import { VaultContentsSchema } from '../src/core/vault-contents-schema.js';

const DATE = '2026-11-30T12:00:00.000Z';
const HEX64 = 'ab'.repeat(32);
const REF = '0123456789abcdef0123456789abcdef';

/** Every optional field present, so that each is mutated. */
const fullVault: VaultContents = {
  format: VAULT_CONTENTS_FORMAT,
  identity: {
    seedHex: '11'.repeat(32),
    creationDate: DATE,
    name: 'Bob',
    email: 'bob@caliop.example',
    fingerprint: 'A'.repeat(40),
    ceremony: { performedAt: DATE, offline: true, allowedOnline: false, networkEvidence: ['eth0'], kind: 'init', backupChecked: true },
    renewedAt: DATE,
    renewalRemindedAt: DATE,
    directoryCheckedAt: DATE,
    revoked: { at: DATE, reason: 'lost' },
  },
  contacts: [
    {
      address: 'ada@example.org',
      name: 'Ada',
      fingerprint: 'B'.repeat(64),
      armoredCert: '-----BEGIN PGP PUBLIC KEY BLOCK-----',
      verification: 'verified',
      source: 'autocrypt-gossip',
      addedAt: DATE,
      verifiedAt: DATE,
      directoryCheckedAt: DATE,
      changedCert: { fingerprint: 'C'.repeat(40), armoredCert: 'x', seenAt: DATE, source: 'wkd', announcedAt: DATE },
      autocrypt: {
        lastSeen: DATE, autocryptTimestamp: DATE, fingerprint: 'D'.repeat(40), preferEncrypt: 'mutual', gossipTimestamp: DATE, gossipFingerprint: 'E'.repeat(40),
      },
    },
  ],
  settings: { language: 'fr' },
  outbox: [
    {
      id: 'o1',
      to: ['ada@example.org'],
      subject: 'hi',
      createdAt: DATE,
      armoredMessage: '',
      ciphertextBlob: { ref: REF, size: 12 },
      outbound: { rawMessage: '', messageBlob: { ref: REF, size: 0 }, exposed: true, requireTlsFor: ['ada@example.org'] },
      idempotencyKey: 'k',
      attempts: 2,
      lastError: 'e',
      failed: { at: DATE, code: 'c', reason: 'r' },
      sentAssessment: { anything: [1, 'two'] },
    },
  ],
  relayAccount: { url: 'https://relay.example', pin: 'p', address: 'bob@caliop.example', enrolledAt: DATE, deviceName: 'stick-1', publishedCertSha256: HEX64 },
  store: { folder: 'store-0123456789abcdef', keyHex: HEX64 },
  device: { secretKeyHex: HEX64 },
};

const minimalVault: VaultContents = {
  format: VAULT_CONTENTS_FORMAT,
  identity: { ...fullVault.identity, renewedAt: undefined, renewalRemindedAt: undefined, directoryCheckedAt: undefined, revoked: undefined },
  contacts: [],
  settings: { language: 'en' },
  outbox: [],
  store: fullVault.store,
};

const fullStore: StoreState = {
  format: 'caliop-store-index/1',
  nextId: 3,
  relayCursor: 'c-2',
  entries: [
    {
      id: '1', object: REF, direction: 'in', relayId: 'r1', from: 'ada@example.org', to: ['bob@caliop.example'], subject: 's', date: DATE, storedAt: DATE,
      unread: true, size: 100, awaitingDelivery: true, blobs: [REF],
    },
    { id: '2', object: REF, direction: 'out', from: 'bob@caliop.example', to: [], subject: '', date: DATE, storedAt: DATE, unread: false, size: 0 },
  ],
};

const fullJournalRecord: StoreOp[] = [
  { op: 'put', entry: fullStore.entries[0]! },
  { op: 'set', id: '1', unread: false },
  { op: 'marks', unread: true, ids: ['1', '2'] },
  { op: 'delete', id: '2' },
  { op: 'cursor', cursor: 'c-3' },
  { op: 'next-id', nextId: 4 },
];

/** Values of every JSON kind, and the edges of the checks (dates, integers, patterns). */
const REPLACEMENTS: readonly unknown[] = [
  undefined, null, true, false, 0, -0, 1, -1, 1.5, 2 ** 53, Number.POSITIVE_INFINITY, '', 'x', 'abc', [], [1], ['x'], {}, { op: 'put' },
  'A'.repeat(40), 'a'.repeat(40), 'B'.repeat(64), HEX64, HEX64.toUpperCase(), REF, REF.toUpperCase(), 'store-0123456789abcdef', 'store-0123456789ABCDEF',
  '2024-02-29T00:00Z', '2026-02-29T00:00:00Z', '2000-02-29T23:59:59.999999Z', '1900-02-29T00:00:00Z', '2026-11-30T12:00:00Z', '2026-11-30T12:00:00.1Z',
  '2026-11-30T12:00:00+01:00', '2026-11-30T12:00:00', '2026-11-30 12:00:00Z', '2026-11-30T24:00:00Z', '2026-11-30T12:60:00Z', '2026-11-30T12:00:60Z',
  '2026-11-30t12:00:00z', '2026-11-30T12:00:00.Z', '2026-04-31T00:00:00Z', '2026-11-30T12Z', '2026-11-30',
  'init', 'recover', 'en', 'fr', 'de', 'in', 'out', 'verified', 'wkd', 'mutual', 'lost', 'put', 'set', 'delete', 'cursor', 'next-id',
];

type Path = readonly (string | number)[];

/** Every path to a value inside `value` (objects and arrays walked), the root excluded. */
function paths(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return [];
  const out: Path[] = [];
  for (const [key, child] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
    const path = [...prefix, key];
    out.push(path, ...paths(child, path));
  }
  return out;
}

/** A deep copy with the value at `path` replaced (`remove`: the key deleted). */
function mutate(document: unknown, path: Path, replacement: unknown, remove = false): unknown {
  const copy = structuredClone(document) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

/** The documents made from `document`: each field removed, replaced, or given an unknown sibling; the root given an unknown key. */
function* mutations(document: unknown): Generator<{ label: string; value: unknown }> {
  yield { label: 'unknown key at the root', value: { ...(document as object), surprise: 1 } };
  for (const path of paths(document)) {
    yield { label: `${path.join('.')} removed`, value: mutate(document, path, undefined, true) };
    for (const replacement of REPLACEMENTS) yield { label: `${path.join('.')} = ${String(replacement)}`, value: mutate(document, path, replacement) };
    const target = path.reduce<unknown>((value, key) => (value as Record<string | number, unknown>)[key], document);
    if (typeof target === 'object' && target !== null && !Array.isArray(target)) {
      yield { label: `${path.join('.')} with an unknown key`, value: mutate(document, path, { ...target, surprise: 1 }) };
    }
  }
}

interface Pair {
  readonly name: string;
  readonly check: (value: unknown) => boolean;
  readonly schema: { safeParse(value: unknown): { success: boolean; data?: unknown } };
  readonly documents: readonly unknown[];
}

const PAIRS: readonly Pair[] = [
  { name: 'vault contents (VaultContentsSchema)', check: isVaultContents, schema: VaultContentsSchema, documents: [fullVault, minimalVault] },
  { name: 'store index (StoreStateSchema)', check: isStoreState, schema: StoreStateSchema, documents: [fullStore, { ...fullStore, entries: [] }] },
  { name: 'journal record (JournalRecordSchema)', check: isJournalRecord, schema: JournalRecordSchema, documents: [fullJournalRecord, [fullJournalRecord[4]]] },
];

describe('the checks without zod accept exactly what the zod schemas accept (issue 13)', () => {
  for (const pair of PAIRS) {
    it(`${pair.name}: the full documents, and every mutation of every field`, () => {
      let accepted = 0;
      let refused = 0;
      for (const document of pair.documents) {
        const parsed = pair.schema.safeParse(document);
        expect(parsed.success).toBe(true);
        expect(pair.check(document)).toBe(true);
        // What the check accepts is kept as it is: the same data as zod's output.
        expect(JSON.parse(JSON.stringify(document))).toEqual(JSON.parse(JSON.stringify(parsed.data)));
        // As JSON.parse gives it (no undefined, an own "__proto__" key).
        const reparsed: unknown = JSON.parse(JSON.stringify(document));
        expect(pair.check(reparsed)).toBe(true);
        if (!Array.isArray(document)) {
          const withProto: unknown = JSON.parse(JSON.stringify(document).replace(/^\{/, '{"__proto__":{},'));
          expect([pair.check(withProto), pair.schema.safeParse(withProto).success]).toEqual([false, false]);
        }
        for (const { label, value } of mutations(document)) {
          const zod = pair.schema.safeParse(value).success;
          if (pair.check(value) !== zod) throw new Error(`${pair.name}, ${label}: the check says ${!zod}, zod says ${zod}`);
          if (zod) accepted += 1;
          else refused += 1;
        }
      }
      // The mutations reach both answers (a check that always said no would fail above).
      expect(accepted).toBeGreaterThan(10);
      expect(refused).toBeGreaterThan(100);
    });
  }

  it('a vault refused by the check gets zod\'s error, naming the field; one accepted comes back unchanged', async () => {
    const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    expect(await decodeVaultContents(bytes(fullVault))).toEqual(JSON.parse(JSON.stringify(fullVault)));
    const cases: [unknown, RegExp][] = [
      [mutate(fullVault, ['contacts', 0, 'autocrypt', 'preferEncrypt'], 'always'), /do not match their format: contacts\.0\.autocrypt\.preferEncrypt /],
      [mutate(fullVault, ['outbox', 0, 'attempts'], 1.5), /: outbox\.0\.attempts /],
      [mutate(fullVault, ['identity', 'creationDate'], '2026-02-29T00:00:00Z'), /: identity\.creationDate /],
      [mutate(fullVault, ['device'], { secretKeyHex: HEX64, extra: 1 }), /: device /],
    ];
    for (const [value, message] of cases) {
      await expect(decodeVaultContents(bytes(value))).rejects.toThrow(expect.objectContaining({ code: 'vault_tampered', message: expect.stringMatching(message) }));
    }
    // Writing: an accepted document is written as given; a refused one throws zod's error.
    expect(JSON.parse(new TextDecoder().decode(await encodeVaultContents(fullVault)))).toEqual(JSON.parse(JSON.stringify(fullVault)));
    await expect(encodeVaultContents(mutate(fullVault, ['settings', 'language'], 'de') as VaultContents)).rejects.toThrow(/language/);
  });
});
