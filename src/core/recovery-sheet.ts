// The recovery phrase and the printable recovery sheet (docs/ceremony.md §2, §7).
//
// The phrase is the 256-bit seed as BIP39 entropy: 24 English words, the last one
// carrying an 8-bit checksum (BIP39). There is no PBKDF2 mnemonic-to-seed step.
// The sheet adds what the words alone cannot give back: the creation date (part of
// the fingerprint) and the user id (part of the self-signature).

import { entropyToMnemonic, mnemonicToEntropy } from '@scure/bip39';
import { CaliopError } from '../errors.js';
import { RECOVERY_WORDLIST, normaliseWord, quoteExcerpt, wordIndex } from './recovery-words.js';
import { SHARE_WORD_COUNT, combineShares } from './seed-shares.js';

/** docs/ceremony.md §2.1 */
export const PHRASE_WORD_COUNT = 24;

/**
 * docs/ceremony.md §7.2: the most `caliop recover` reads of a sheet's file. Sixteen share
 * sheets (the most `backup split` makes) are about 16 KiB; more is not a sheet.
 */
export const RECOVERY_TEXT_MAX_BYTES = 64 * 1024;

export interface RecoverySheetFacts {
  creationDate: Date;
  name: string;
  email: string;
  /** 40 hex digits; printed for checking the rebuilt key, never needed to rebuild it. */
  fingerprint: string;
}

export interface ParsedRecoverySheet {
  seed: Uint8Array;
  creationDate: Date;
  /** Absent when the text held only the words and the creation date (docs/ceremony.md §7.3). */
  name?: string;
  email?: string;
  /** 40 hex digits, upper case, when the sheet carried one: compare it with the rebuilt key. */
  fingerprint?: string;
  /** How many shares were combined; absent when the text held the phrase itself. */
  sharesCombined?: number;
}

/** docs/ceremony.md §2.1: the seed as 24 words. */
export function phraseFromSeed(seed: Uint8Array): string[] {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new TypeError('seed: expected a Uint8Array of 32 bytes');
  return entropyToMnemonic(seed, RECOVERY_WORDLIST as string[]).split(' ');
}

/** docs/ceremony.md §2.1, §7.2: 24 words back to the seed; precise recovery_invalid errors. */
export function seedFromPhrase(words: string[]): Uint8Array {
  if (words.length !== PHRASE_WORD_COUNT) {
    throw new CaliopError('recovery_invalid', `found ${words.length} words; a recovery phrase has ${PHRASE_WORD_COUNT}`);
  }
  const normalised = words.map((word, index) => {
    wordIndex(word, `word ${index + 1}`);
    return normaliseWord(word);
  });
  try {
    return mnemonicToEntropy(normalised.join(' '), RECOVERY_WORDLIST as string[]);
  } catch (cause) {
    throw new CaliopError('recovery_invalid',
      'the 24 words fail the BIP39 checksum: one word is probably wrong, or two are swapped', { cause });
  }
}

/** docs/ceremony.md §7.1: the sheet for the phrase itself. */
export function formatRecoverySheet(facts: RecoverySheetFacts & { words: string[] }): string {
  if (facts.words.length !== PHRASE_WORD_COUNT) throw new TypeError(`words: expected ${PHRASE_WORD_COUNT} words`);
  return [
    '# CALIOP KEY - RECOVERY SHEET / FEUILLE DE RÉCUPÉRATION (format 1)',
    '# Keep this sheet secret and safe: whoever reads it can become you.',
    '# Gardez cette feuille secrète et à l\'abri : qui la lit peut se faire passer pour vous.',
    `# To rebuild your key you need the ${PHRASE_WORD_COUNT} words AND the creation date, name and email below.`,
    `# Pour refaire votre clé il faut les ${PHRASE_WORD_COUNT} mots ET la date de création, le nom et l'adresse ci-dessous.`,
    ...factLines(facts),
    '',
    ...wordLines(facts.words),
    '',
  ].join('\n');
}

/** docs/ceremony.md §8.4: the sheet for one share; k of them concatenated are read by parseRecoverySheet. */
export function formatShareSheet(facts: RecoverySheetFacts & { words: string[]; shareNumber: number; shareCount: number; threshold: number }): string {
  if (facts.words.length !== SHARE_WORD_COUNT) throw new TypeError(`words: expected ${SHARE_WORD_COUNT} words`);
  return [
    '# CALIOP KEY - RECOVERY SHARE / PART DE RÉCUPÉRATION (format 1)',
    `# This is one share of your recovery phrase. Any ${facts.threshold} different shares rebuild your key; fewer tell nothing.`,
    `# Ceci est une part de votre phrase de récupération. ${facts.threshold} parts différentes refont votre clé ; moins ne révèlent rien.`,
    '# To rebuild your key you also need the creation date, name and email below.',
    '# Pour refaire votre clé il faut aussi la date de création, le nom et l\'adresse ci-dessous.',
    ...factLines(facts),
    `share: ${facts.shareNumber} of ${facts.shareCount}, ${facts.threshold} needed`,
    '',
    ...wordLines(facts.words),
    '',
  ].join('\n');
}

/**
 * docs/ceremony.md §7.2-§7.3: read a recovery sheet, or k share sheets concatenated,
 * or just the 24 words and a "created:" line. Async because combining shares is.
 */
export async function parseRecoverySheet(text: string): Promise<ParsedRecoverySheet> {
  const fields = new Map<Field, { value: string; line: number }>();
  const groups: Array<Array<{ word: string; number?: number; line: number }>> = [];
  let current: Array<{ word: string; number?: number; line: number }> = [];
  const startGroup = () => {
    if (current.length > 0) groups.push(current);
    current = [];
  };

  text.split(/\r\n|\r|\n/).forEach((rawLine, index) => {
    const lineNumber = index + 1;
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const field = /^([A-Za-z]+)\s*:(.*)$/.exec(line);
    let wordText = line;
    if (field) {
      const key = field[1]!.toLowerCase();
      const value = field[2]!.trim();
      if (key === 'share') {
        startGroup();
        return;
      }
      if (WORD_LABELS.has(key)) {
        wordText = value;
      } else if (isField(key)) {
        const known = fields.get(key);
        if (known && !sameFieldValue(key, known.value, value)) {
          throw new CaliopError('recovery_invalid', `line ${lineNumber}: "${key}: ${quoteExcerpt(value)}" differs from line ${known.line} ("${quoteExcerpt(known.value)}"): are these sheets of the same key?`);
        }
        fields.set(key, { value, line: lineNumber });
        return;
      } else {
        throw new CaliopError('recovery_invalid', `line ${lineNumber}: unknown line "${quoteExcerpt(key)}:" (expected name, email, created, fingerprint, share or words)`);
      }
    }
    // Tokens: words, optionally numbered "1." "1)" "1:" "1" or glued "1.abandon".
    let pendingNumber: number | undefined;
    for (const token of wordText.split(/\s+/).filter((part) => part !== '')) {
      const numbered = /^(\d+)[.):-]?(.*)$/.exec(token);
      let word = token;
      if (numbered) {
        pendingNumber = Number(numbered[1]);
        word = numbered[2]!;
        if (word === '') continue;
      }
      if (pendingNumber === 1 && current.length > 0) startGroup();
      current.push({ word, number: pendingNumber, line: lineNumber });
      pendingNumber = undefined;
    }
  });
  startGroup();

  const created = fields.get('created');
  if (!created) {
    throw new CaliopError('recovery_invalid', 'the creation date is missing: add the line "created: YYYY-MM-DDTHH:MM:SSZ" from your sheet');
  }
  const creationDate = parseCreated(created.value, created.line);
  const fingerprint = fields.get('fingerprint');
  const result: Omit<ParsedRecoverySheet, 'seed'> = {
    creationDate,
    ...(fields.has('name') ? { name: fields.get('name')!.value } : {}),
    ...(fields.has('email') ? { email: fields.get('email')!.value } : {}),
    ...(fingerprint ? { fingerprint: parseFingerprint(fingerprint.value, fingerprint.line) } : {}),
  };

  if (groups.length === 0) throw new CaliopError('recovery_invalid', 'no recovery words were found');
  const ordered = groups.map((group, index) => orderedWords(group, groups.length === 1 ? 'the words' : `group ${index + 1}`));
  const phrases = ordered.filter((words) => words.length === PHRASE_WORD_COUNT);
  const shares = ordered.filter((words) => words.length === SHARE_WORD_COUNT);
  const odd = ordered.findIndex((words) => words.length !== PHRASE_WORD_COUNT && words.length !== SHARE_WORD_COUNT);
  if (odd !== -1) {
    const where = groups.length === 1 ? 'found' : `group ${odd + 1} (from line ${groups[odd]![0]!.line}) has`;
    throw new CaliopError('recovery_invalid',
      `${where} ${ordered[odd]!.length} words; a recovery phrase has ${PHRASE_WORD_COUNT} words and a share ${SHARE_WORD_COUNT}`);
  }
  if (phrases.length > 0 && shares.length > 0) {
    throw new CaliopError('recovery_invalid', 'the text holds both a recovery phrase and shares: give one or the other');
  }
  if (phrases.length > 1) {
    throw new CaliopError('recovery_invalid', `the text holds ${phrases.length} recovery phrases: give one`);
  }
  if (phrases.length === 1) return { seed: seedFromPhrase(phrases[0]!), ...result };
  return { seed: await combineShares(shares), ...result, sharesCombined: shares.length };
}

// ---- internals ----

type Field = 'name' | 'email' | 'created' | 'fingerprint';
const FIELDS: readonly Field[] = ['name', 'email', 'created', 'fingerprint'];
const WORD_LABELS = new Set(['words', 'phrase']);

function isField(key: string): key is Field {
  return (FIELDS as readonly string[]).includes(key);
}

function sameFieldValue(key: Field, a: string, b: string): boolean {
  if (key === 'fingerprint') return a.replace(/\s/g, '').toUpperCase() === b.replace(/\s/g, '').toUpperCase();
  if (key === 'email') return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

function factLines(facts: RecoverySheetFacts): string[] {
  // docs/ceremony.md §2.3: the same NFC, trimmed strings the user id is made of.
  const [name, email] = [facts.name, facts.email].map((value) => value.normalize('NFC').trim());
  for (const [label, value] of [['name', name], ['email', email]] as const) {
    if (value === '' || /[\r\n]/.test(value!)) throw new TypeError(`${label}: expected a non-empty single line`);
  }
  return [
    `name: ${name}`,
    `email: ${email}`,
    `created: ${formatCreated(facts.creationDate)}`,
    `fingerprint: ${groupFingerprint(facts.fingerprint)}`,
  ];
}

/** docs/ceremony.md §7.1: four words a line, numbered, row by row. */
function wordLines(words: string[]): string[] {
  const lines: string[] = [];
  for (let row = 0; row < words.length; row += 4) {
    lines.push(words.slice(row, row + 4)
      .map((word, column) => `${String(row + column + 1).padStart(2)}. ${word.padEnd(8)}`)
      .join('   ').trimEnd());
  }
  return lines;
}

/** docs/ceremony.md §2.2: "YYYY-MM-DDTHH:MM:SSZ", UTC, whole seconds. */
export function formatCreated(date: Date): string {
  if (date.getTime() % 1000 !== 0) throw new TypeError('creationDate: expected whole seconds');
  return date.toISOString().replace('.000Z', 'Z');
}

function parseCreated(value: string, line: number): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})[Zz]$/.exec(value);
  const date = match ? new Date(Date.UTC(+match[1]!, +match[2]! - 1, +match[3]!, +match[4]!, +match[5]!, +match[6]!)) : null;
  if (!date || Number.isNaN(date.getTime()) || formatCreated(date) !== `${match![1]}-${match![2]}-${match![3]}T${match![4]}:${match![5]}:${match![6]}Z`) {
    throw new CaliopError('recovery_invalid', `line ${line}: "created: ${quoteExcerpt(value)}" is not a date of the form YYYY-MM-DDTHH:MM:SSZ`);
  }
  return date;
}

function groupFingerprint(fingerprint: string): string {
  const hex = fingerprint.replace(/\s/g, '').toUpperCase();
  if (!/^[0-9A-F]{40}$/.test(hex)) throw new TypeError('fingerprint: expected 40 hex digits');
  const groups = hex.match(/.{4}/g)!;
  return `${groups.slice(0, 5).join(' ')}  ${groups.slice(5).join(' ')}`;
}

function parseFingerprint(value: string, line: number): string {
  const hex = value.replace(/\s/g, '').toUpperCase();
  if (!/^[0-9A-F]{40}$/.test(hex)) {
    throw new CaliopError('recovery_invalid', `line ${line}: the fingerprint must be 40 hexadecimal digits`);
  }
  return hex;
}

/** docs/ceremony.md §7.2: numbered words are put in their numbers' order; unnumbered in reading order. */
function orderedWords(group: Array<{ word: string; number?: number; line: number }>, where: string): string[] {
  const numbered = group.filter((entry) => entry.number !== undefined);
  if (numbered.length === 0) return group.map((entry) => entry.word);
  if (numbered.length !== group.length) {
    const bare = group.find((entry) => entry.number === undefined)!;
    throw new CaliopError('recovery_invalid', `${where}: "${quoteExcerpt(bare.word)}" on line ${bare.line} has no number while other words do`);
  }
  const byNumber = new Map<number, string>();
  for (const entry of group) {
    if (entry.number! < 1 || entry.number! > group.length || byNumber.has(entry.number!)) {
      throw new CaliopError('recovery_invalid', `${where}: word number ${entry.number} on line ${entry.line} is repeated or out of range 1-${group.length}`);
    }
    byNumber.set(entry.number!, entry.word);
  }
  return Array.from({ length: group.length }, (_, index) => byNumber.get(index + 1)!);
}
