// Writes the known-answer vectors of the key ceremony (docs/ceremony.md §11) to
// test/vectors/ceremony/, one case per file.
//
//   npm run -s build && node build/scripts/make-ceremony-vectors.js
//
// Re-running it must leave the derivation vectors unchanged (git diff is empty): they
// are the contract of docs/ceremony.md, and a change to them is a change of the spec.
// The share vectors hold shares drawn at random once; they are rewritten only when
// missing, so that re-running the script does not churn them.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { deriveIdentity, DERIVATION_INFO, deriveKeyMaterial, type DerivedIdentity } from '../src/core/key-derivation.js';
import { formatRecoverySheet, formatShareSheet, phraseFromSeed } from '../src/core/recovery-sheet.js';
import { splitSeed } from '../src/core/seed-shares.js';

const root = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'test', 'vectors', 'ceremony');

interface DerivationCase {
  file: string;
  description: string;
  seedHex: string;
  creationDate: string;
  name: string;
  email: string;
}

const derivationCases: DerivationCase[] = [
  { file: 'derive-counting-seed.json', description: 'seed 00 01 .. 1f, ASCII user id', seedHex: hexRange(), creationDate: '2026-01-02T03:04:05Z', name: 'Alice Example', email: 'alice@example.org' },
  { file: 'derive-zero-seed.json', description: 'all-zero seed (a valid BIP39 entropy: abandon x23 art)', seedHex: '00'.repeat(32), creationDate: '2025-06-30T12:00:00Z', name: 'Bob Zero', email: 'bob@example.net' },
  { file: 'derive-ff-seed-accented-name.json', description: 'all-ff seed, accented name (NFC UTF-8 in the user id)', seedHex: 'ff'.repeat(32), creationDate: '2024-02-29T23:59:59Z', name: 'Zoé Lefèvre-Dupont', email: 'zoe@exemple.fr' },
  { file: 'derive-same-seed-other-date.json', description: 'same seed as derive-counting-seed, other creation date: same key material, other fingerprints', seedHex: hexRange(), creationDate: '2030-12-31T00:00:00Z', name: 'Alice Example', email: 'alice@example.org' },
  { file: 'derive-same-seed-other-user-id.json', description: 'same seed and date as derive-counting-seed, other user id: same fingerprints, other certificate', seedHex: hexRange(), creationDate: '2026-01-02T03:04:05Z', name: 'Alice Other', email: 'alice@example.com' },
];

mkdirSync(out, { recursive: true });

for (const vector of derivationCases) {
  const seed = Buffer.from(vector.seedHex, 'hex');
  const identity = await deriveIdentity({ seed: new Uint8Array(seed), name: vector.name, email: vector.email, creationDate: new Date(vector.creationDate) });
  const subkeys = identity.privateKey.subkeys;
  const roles = ['signing', 'encryption', 'authentication', 'postQuantum'] as const;
  const phrase = phraseFromSeed(new Uint8Array(seed));
  const file = {
    description: vector.description,
    expect: 'success',
    input: { seedHex: vector.seedHex, creationDate: vector.creationDate, name: vector.name, email: vector.email },
    phrase: phrase.join(' '),
    keyMaterialHex: Object.fromEntries(Object.keys(DERIVATION_INFO).map((role) => [role, hex(deriveKeyMaterial(new Uint8Array(seed), role as keyof typeof DERIVATION_INFO))])),
    primaryFingerprint: identity.fingerprint,
    subkeyFingerprints: Object.fromEntries(subkeys.map((subkey, index) => [roles[index], subkey.getFingerprint().toUpperCase()])),
    devicePublicKeyHex: hex(identity.device.publicKey),
    certSha256: sha256Hex(identity.armoredCert),
    // docs/ceremony.md §6: the cert without its last subkey (the post-quantum one) is byte for byte the cert of earlier sticks.
    certBeforePostQuantumSha256: sha256Hex(withoutLastSubkey(identity.publicKey)),
    secretKeySha256: sha256Hex(identity.armoredSecretKey),
    revocationCertificateSha256: sha256Hex(identity.revocationCertificate),
    recoverySheet: formatRecoverySheet({ words: phrase, creationDate: new Date(vector.creationDate), name: vector.name, email: vector.email, fingerprint: identity.fingerprint }),
  };
  writeFileSync(join(out, vector.file), `${JSON.stringify(file, null, 2)}\n`);
}

// Shares: drawn at random once (shamir-secret-sharing takes no random source), then kept.
const shareFile = join(out, 'shares-2-of-3.json');
if (!existsSync(shareFile)) {
  const seedHex = hexRange();
  const shares = await splitSeed(new Uint8Array(Buffer.from(seedHex, 'hex')), 3, 2);
  const identity = await deriveIdentity({ seed: new Uint8Array(Buffer.from(seedHex, 'hex')), name: 'Alice Example', email: 'alice@example.org', creationDate: new Date('2026-01-02T03:04:05Z') });
  const facts = { creationDate: new Date('2026-01-02T03:04:05Z'), name: 'Alice Example', email: 'alice@example.org', fingerprint: identity.fingerprint };
  writeFileSync(shareFile, `${JSON.stringify({
    description: 'a 2-of-3 split of the counting seed; any two shares give it back',
    expect: 'success',
    seedHex,
    shares: shares.map((words) => words.join(' ')),
    shareSheets: shares.map((words, index) => formatShareSheet({ ...facts, words, shareNumber: index + 1, shareCount: 3, threshold: 2 })),
  }, null, 2)}\n`);
}

// Sheet texts that must be read, or refused with a precise detail: one case per file.
{
  const seedHex = hexRange();
  const words = phraseFromSeed(new Uint8Array(Buffer.from(seedHex, 'hex')));
  const created = 'created: 2026-01-02T03:04:05Z';
  const sheetCases: Array<{ file: string; description: string; text: string; expect: 'success' | 'recovery_invalid'; detailContains?: string }> = [
    { file: 'sheet-bare-words-and-date.json', description: '24 bare words on one line and the created line: enough', expect: 'success',
      text: `${words.join(' ')}\n${created}\n` },
    { file: 'sheet-numbered-upper-case-messy-spaces.json', description: 'numbered "1." "2)" "3:", upper case, tabs and blank lines', expect: 'success',
      text: `  Created:   2026-01-02T03:04:05Z  \n\n${words.map((word, index) => `${index + 1}${['.', ')', ':'][index % 3]}\t${word.toUpperCase()}`).join('\n\n')}\n` },
    { file: 'sheet-numbered-out-of-reading-order.json', description: 'numbered words written column by column are put back in number order', expect: 'success',
      text: `${created}\n${Array.from({ length: 12 }, (_, row) => `${row + 1}. ${words[row]}   ${row + 13}. ${words[row + 12]}`).join('\n')}\n` },
    { file: 'sheet-unknown-word.json', description: 'a typo: the detail names the word, its position and the likely word', expect: 'recovery_invalid', detailContains: 'word 3: "abilty" is not in the BIP39 English word list',
      text: `${created}\n${words.slice(0, 2).join(' ')} abilty ${words.slice(3).join(' ')}\n` },
    { file: 'sheet-swapped-words.json', description: 'two words swapped: the BIP39 checksum fails', expect: 'recovery_invalid', detailContains: 'checksum',
      text: `${created}\n${[words[1], words[0], ...words.slice(2)].join(' ')}\n` },
    { file: 'sheet-23-words.json', description: 'a word missing', expect: 'recovery_invalid', detailContains: 'found 23 words',
      text: `${created}\n${words.slice(1).join(' ')}\n` },
    { file: 'sheet-no-creation-date.json', description: 'the words without the creation date cannot give the fingerprint back', expect: 'recovery_invalid', detailContains: 'creation date is missing',
      text: `${words.join(' ')}\n` },
    { file: 'sheet-bad-creation-date.json', description: 'a creation date that is not YYYY-MM-DDTHH:MM:SSZ', expect: 'recovery_invalid', detailContains: 'is not a date',
      text: `created: 2026-02-30T03:04:05Z\n${words.join(' ')}\n` },
  ];
  for (const { file, ...rest } of sheetCases) writeFileSync(join(out, file), `${JSON.stringify(rest, null, 2)}\n`);
}

function withoutLastSubkey(cert: DerivedIdentity['publicKey']): string {
  const copy = new openpgp.PublicKey(cert.toPacketList());
  copy.subkeys = copy.subkeys.slice(0, -1);
  return copy.armor();
}

function hexRange(): string {
  return Array.from({ length: 32 }, (_, index) => index.toString(16).padStart(2, '0')).join('');
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
