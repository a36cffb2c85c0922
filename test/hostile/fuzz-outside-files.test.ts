// The files a user is handed and gives to caliop, as hostile as their author likes
// (docs/fuzzing.md, third session): the recovery sheet of `caliop recover` (docs/ceremony.md
// §7.2), the vault file and the store's files on a stick someone else prepared
// (docs/vault-format.md §6, docs/store.md §3-§6). Pure parsers in process, on seeded cases
// (CALIOP_TEST_SEED=n for another seed; the seed and the case are in every failure), each
// case bounded in CPU time; the real `caliop` for a handful of messages and exit codes.
// Every input ends in a result or in its documented CaliopError, whose message is short
// and, once printed, inert.
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { wordlist as french } from '@scure/bip39/wordlists/french.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prng } from '../../scripts/fuzz/prng.js';
import { formatRecoverySheet, formatShareSheet, parseRecoverySheet, phraseFromSeed, RECOVERY_TEXT_MAX_BYTES } from '../../src/core/recovery-sheet.js';
import { normaliseWord } from '../../src/core/recovery-words.js';
import { splitSeed } from '../../src/core/seed-shares.js';
import {
  emptyStoreState, GENERATION_HEADER_LENGTH, INDEX_CHUNK_ENTRIES, INDEX_HEADER_LENGTH, INDEX_VERSION, journalHeader, MAX_JOURNAL_RECORD, OBJECT_HEADER_LENGTH, openIndex, openJournal,
  sealIndex, sealJournalRecord, SEALED_CHUNK, type IndexEntry, type StoreState,
} from '../../src/core/store-format.js';
import { kdfParamsProblem, openParsedVault, parseVault, sealVault, UNSAFE_TEST_KDF } from '../../src/core/vault-format.js';
import { readStickConfig } from '../../src/edges/stick-config.js';
import { stickAt } from '../../src/edges/stick-locator.js';
import { StoreFiles } from '../../src/edges/store-files.js';
import { readVaultHeader } from '../../src/edges/vault-file.js';
import { errorText } from '../../src/error-printer.js';
import { isCaliopError, type ErrorCode } from '../../src/errors.js';
import { readRecoverySheetFile } from '../../src/service/recovery.js';
import { caliop, temporaryFolder, testEnv } from '../helpers/caliop.js';
import { cpuMs } from '../helpers/cpu-time.js';

const SEED = Number(process.env.CALIOP_TEST_SEED ?? 20_261_203);
const scratch = temporaryFolder('fuzz-outside-files');
afterAll(() => scratch.remove());

/** A message quotes at most 40 characters of what it read (docs/ceremony.md §7.2): the rest of it is ours. */
const MESSAGE_MAX_CHARS = 400;

/**
 * Runs `work` on `input`; it must end in a value or in one of `codes`, within `cpuBoundMs` of
 * CPU, with a short message that the printer makes inert. Returns the code, or 'ok'.
 */
async function endsWell(label: string, codes: readonly ErrorCode[], cpuBoundMs: number, work: () => Promise<unknown> | unknown): Promise<string> {
  let outcome = 'ok';
  const spent = await cpuMs(async () => {
    try {
      await work();
    } catch (error) {
      if (!isCaliopError(error) || !codes.includes(error.code)) throw new Error(`${label}: unexpected ${String((error as Error)?.stack ?? error)}`);
      outcome = error.code;
      expect(error.message.length, `${label}: a message of ${error.message.length} characters`).toBeLessThanOrEqual(MESSAGE_MAX_CHARS);
      // eslint-disable-next-line no-control-regex
      expect(errorText('caliop', error), label).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u);
    }
  });
  expect(spent, `${label}: ${spent.toFixed(0)} ms of CPU`).toBeLessThan(cpuBoundMs);
  return outcome;
}

/** The code a synchronous refusal carries ('ok' when none); anything but a CaliopError fails. */
function codeOf(work: () => unknown): string {
  try {
    work();
    return 'ok';
  } catch (error) {
    if (!isCaliopError(error)) throw error;
    return error.code;
  }
}

async function codeOfAsync(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
    return 'ok';
  } catch (error) {
    if (!isCaliopError(error)) throw error;
    return error.code;
  }
}

describe('hostile recovery sheets (docs/ceremony.md §7.2)', () => {
  const facts = { creationDate: new Date('2026-03-01T10:00:00Z'), name: 'Ana Example', email: 'ana@example.org', fingerprint: '0123456789ABCDEF0123456789ABCDEF01234567' };
  const seed = Uint8Array.from({ length: 32 }, (_, i) => (i * 11 + 3) & 0xff);
  const words = phraseFromSeed(seed);
  const sheet = formatRecoverySheet({ ...facts, words });

  it('attack: a word of 64 KiB of punctuation costs linear time, not its square (normaliseWord)', async () => {
    // Before: /^[…]+|[…]+$/ tried the run from each of its characters: 20,000 dots 0.63 s,
    // 40,000 2.7 s, 80,000 12 s of CPU; 64 KiB about 8 s, the 64 KiB a file may hold the same.
    for (const filler of ['.', ',;:', '()[]"\'']) {
      const long = `a${filler.repeat(Math.ceil(60_000 / filler.length))}b`;
      const text = `created: 2026-03-01T10:00:00Z\n${[...words.slice(0, 3), long, ...words.slice(4)].join(' ')}\n`;
      expect(text.length).toBeLessThan(RECOVERY_TEXT_MAX_BYTES);
      const code = await endsWell(`a word of ${long.length} characters "${filler}"`, ['recovery_invalid'], 1_000, () => parseRecoverySheet(text));
      expect(code).toBe('recovery_invalid');
    }
  });

  it('normaliseWord gives what the expression gave, on every seeded string of the characters that matter', () => {
    const old = (typed: string) => typed.normalize('NFKD').toLowerCase().replace(/^[\s"'.,;:()[\]]+|[\s"'.,;:()[\]]+$/g, '');
    const alphabet = ['a', 'B', 'é', '.', ',', ';', ':', '(', ')', '[', ']', '"', "'", ' ', '\t', '\u00a0', '\ufeff', '\u2028', '\u3000', '-', '!', '\u0000', 'ﬁ'];
    const random = prng(SEED);
    for (let round = 0; round < 20_000; round++) {
      const typed = Array.from({ length: Math.floor(random() * 9) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      expect(normaliseWord(typed), `seed ${SEED} (CALIOP_TEST_SEED), round ${round}: ${JSON.stringify(typed)}`).toBe(old(typed));
    }
  });

  it('attack: a field or a word of up to 1 MiB is quoted in 40 characters, not whole', async () => {
    // Before: "name: <1 MiB>" then "name: y" made a message of 1,048,653 characters.
    const huge = 'x'.repeat(1 << 20);
    const cases = [
      `name: ${huge}\nname: y\n`,
      `${huge}: value\n`,
      `created: ${huge}\n${words.join(' ')}\n`,
      `created: 2026-03-01T10:00:00Z\n${['\u001b]0;title\u0007' + huge, ...words.slice(1)].join(' ')}\n`,
      `created: 2026-03-01T10:00:00Z\n${words.map((word, i) => (i === 5 ? `${huge}` : `${i + 1}. ${word}`)).join('\n')}\n`,
    ];
    for (const [index, text] of cases.entries()) {
      expect(await endsWell(`case ${index}`, ['recovery_invalid'], 2_000, () => parseRecoverySheet(text))).toBe('recovery_invalid');
    }
  });

  it('the same sheet with CRLF, CR, a BOM, indentation or a trailing NUL line gives the same seed', async () => {
    const forms = [
      sheet.replace(/\n/g, '\r\n'),
      sheet.replace(/\n/g, '\r'),
      `\ufeff${sheet}`,
      `\ufeff${sheet.replace(/\n/g, '\r\n')}`,
      sheet.split('\n').map((line) => `  \t${line}`).join('\n'),
    ];
    for (const text of forms) expect((await parseRecoverySheet(text)).seed).toEqual(seed);
  });

  it(`seeded hostile sheets (CALIOP_TEST_SEED=${SEED}) end in a seed or recovery_invalid, each within its CPU bound`, async () => {
    const shareWords = await splitSeed(seed, 3, 2);
    const shareSheets = shareWords.map((share, index) => formatShareSheet({ ...facts, words: share, shareNumber: index + 1, shareCount: 3, threshold: 2 }));
    const bases = [sheet, shareSheets[0]! + shareSheets[2]!, shareSheets.join('\n'), `created: 2026-03-01T10:00:00Z\n${words.join(' ')}\n`];
    const random = prng(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const at = (text: string) => Math.floor(random() * (text.length + 1));
    const insert = (text: string, piece: string) => {
      const where = at(text);
      return text.slice(0, where) + piece + text.slice(where);
    };
    const controls = ['\u0000', '\u001b[2J', '\u001b]8;;https://x\u0007', '\u009b31m', '\u202e', '\r', '\u0008', '\u007f', '\ufeff', '\u2028', '\ud800'];
    const edits: Array<(text: string) => string> = [
      (text) => text.slice(0, at(text)), // truncated anywhere
      (text) => insert(text, pick(controls).repeat(1 + Math.floor(random() * 4))),
      (text) => insert(text, pick(controls).repeat(Math.floor(random() * 20_000))),
      (text) => text.replace(/[a-z]+/g, (word) => (random() < 0.3 ? pick(french) : word)), // a sheet in the other language
      (text) => text.replace(/\n/g, () => pick(['\n', '\r\n', '\r', '\n\n', '\u0085'])),
      (text) => insert(text, pick(['.', ' ', '\t', '1', '1.', 'a', ':', '#', '\n']).repeat(Math.floor(random() * 30_000))),
      (text) => insert(text, `${pick(['name', 'email', 'created', 'fingerprint', 'share', 'words', 'x'])}: ${'y'.repeat(Math.floor(random() * 30_000))}\n`),
      (text) => `${pick(words)} `.repeat(Math.floor(random() * (RECOVERY_TEXT_MAX_BYTES / 8))), // up to 64 KiB of words
      (text) => text.split('\n').map((line) => (random() < 0.2 ? `${Math.floor(random() * 1e6)}. ${line}` : line)).join('\n'),
      (text) => text.split('\n').sort(() => random() - 0.5).join('\n'), // lines swapped
      (text) => Buffer.from(Uint8Array.from({ length: Math.floor(random() * 2_000) }, () => Math.floor(random() * 256))).toString('utf8'),
    ];
    const counts = new Map<string, number>();
    for (let round = 0; round < 1_500; round++) {
      let text = pick(bases);
      const steps = 1 + Math.floor(random() * 3);
      for (let step = 0; step < steps; step++) text = pick(edits)(text);
      const outcome = await endsWell(`seed ${SEED} (CALIOP_TEST_SEED), round ${round}, ${text.length} characters`, ['recovery_invalid'], 1_000, () => parseRecoverySheet(text));
      counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    }
    process.stdout.write(`hostile recovery sheets, seed ${SEED}: ${[...counts].map(([outcome, n]) => `${outcome} ${n}`).join(', ')}\n`);
    expect(counts.get('recovery_invalid')).toBeGreaterThan(0);
    expect(counts.get('ok')).toBeGreaterThan(0);
  });

  it(`attack: a sheet file past ${RECOVERY_TEXT_MAX_BYTES / 1024} KiB, or that never ends, is refused after reading that much`, async () => {
    // Before: read whole: 1 GiB of words took the memory of 1 GiB and more, /dev/zero forever.
    const large = join(scratch.path, 'large-sheet.txt');
    writeFileSync(large, `created: 2026-03-01T10:00:00Z\n${`${words[0]} `.repeat(RECOVERY_TEXT_MAX_BYTES / 4)}`);
    await expect(readRecoverySheetFile(large)).rejects.toMatchObject({ code: 'recovery_invalid', message: expect.stringContaining('more than 64 KiB') });
    expect(await endsWell('/dev/zero', ['recovery_invalid'], 1_000, () => readRecoverySheetFile('/dev/zero'))).toBe('recovery_invalid');
    const exact = join(scratch.path, 'exact-sheet.txt');
    writeFileSync(exact, sheet + '\n'.repeat(RECOVERY_TEXT_MAX_BYTES - Buffer.byteLength(sheet)));
    expect((await readRecoverySheetFile(exact)).seed).toEqual(seed);
    const folder = join(scratch.path, 'a-folder');
    mkdirSync(folder);
    await expect(readRecoverySheetFile(folder)).rejects.toMatchObject({ code: 'file_unreadable' });
  });

  it('caliop recover says what is wrong with a hostile sheet in one line, with its exit code, and no stack trace', async () => {
    const stick = join(scratch.path, 'empty-stick');
    mkdirSync(stick);
    const escaped = join(scratch.path, 'escaped-sheet.txt');
    writeFileSync(escaped, `created: 2026-03-01T10:00:00Z\n\u001b]0;owned\u0007\u001b[2J${'.'.repeat(50_000)}${words.slice(1).join(' ')} ${words[0]}\n`);
    const runs = await Promise.all([
      ['/dev/zero', 19, /more than 64 KiB/],
      [scratch.path, 22, /could not read the recovery sheet/],
      [join(scratch.path, 'missing.txt'), 22, /could not read the recovery sheet/],
      [escaped, 19, /word 1: ".*… \(\d+ characters\)" is not in the BIP39/],
    ].map(async ([file, status, message]) => ({ file, status, message, run: await caliop(['--stick', stick, '--batch', '--passphrase-file', '@ENV:TEST_PASSPHRASE', 'recover', '--phrase-file', file as string], { env: testEnv() }) })));
    for (const { file, status, message, run } of runs) {
      expect(run.status, `${String(file)}: ${run.stderr}`).toBe(status);
      expect(run.stderr).toMatch(/^caliop: error: /);
      expect(run.stderr).toMatch(message as RegExp);
      expect(run.stderr).not.toMatch(/\u001b|    at /);
      expect(run.stderr.length).toBeLessThan(1_000);
    }
  });
});

describe('a vault file someone else prepared (docs/vault-format.md §2, §6), parsed in process', () => {
  const key = new Uint8Array(32).fill(9);
  const VAULT_CODES: ErrorCode[] = ['vault_truncated', 'vault_unsupported_version', 'vault_tampered', 'wrong_passphrase'];
  const header = { version: 1 as const, kdf: { ...UNSAFE_TEST_KDF }, salt: new Uint8Array(16).fill(5) };
  const vault = sealVault(header, key, new Uint8Array(24).fill(1), new TextEncoder().encode('{"contents":"of a vault"}'));
  const H = 24 + 16 + 4;
  /** The header's checksum set again after an edit: what a forger who knows the format writes (§3.1 a is unkeyed). */
  const rechecked = (bytes: Uint8Array, headerEnd = H): Uint8Array => {
    bytes.set(sha256(bytes.subarray(0, headerEnd)), headerEnd);
    return bytes;
  };
  const open = (bytes: Uint8Array) => {
    const parsed = parseVault(bytes);
    expect(kdfParamsProblem(parsed.header.kdf)).toBeUndefined();
    return openParsedVault(parsed, key);
  };

  it('cut at every offset, it is truncated (or not a vault), never opened and never another error', async () => {
    const counts = new Map<string, number>();
    for (let length = 0; length < vault.length; length++) {
      const outcome = await endsWell(`cut at ${length}`, ['vault_truncated', 'vault_tampered'], 200, () => open(vault.slice(0, length)));
      counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    }
    expect(counts.get('ok')).toBeUndefined();
    expect(counts.get('vault_truncated')).toBeGreaterThan(vault.length - 16);
  });

  it('every version number but 1 is refused as unsupported, before anything else is read', async () => {
    const refused = new Map<string, number>();
    for (let version = 0; version < 0x10000; version++) {
      if (version === 1) continue;
      const bytes = vault.slice();
      new DataView(bytes.buffer).setUint16(8, version);
      const code = codeOf(() => parseVault(bytes));
      refused.set(code, (refused.get(code) ?? 0) + 1);
    }
    expect(Object.fromEntries(refused)).toEqual({ vault_unsupported_version: 0xffff });
  });

  it('a header claiming a 4 GiB ciphertext (or any length but its own), with a right checksum, is refused at once', async () => {
    for (const claimed of [0, 15, 16, vault.length - H - 88 - 1, vault.length - H - 88 + 1, 0x7fff_ffff, 0x8000_0000, 0xffff_fff0, 0xffff_ffff]) {
      const bytes = vault.slice();
      new DataView(bytes.buffer).setUint32(H - 4, claimed);
      const outcome = await endsWell(`claimed ${claimed}`, ['vault_truncated', 'vault_tampered'], 100, () => open(rechecked(bytes)));
      expect(outcome, `claimed ${claimed}`).not.toBe('ok');
    }
  });

  it(`every byte of the header set to 0x00, 0xFF or a seeded value, checksum set again (CALIOP_TEST_SEED=${SEED}), and salt lengths 0-255`, async () => {
    const random = prng(SEED);
    const counts = new Map<string, number>();
    for (let at = 8; at < H; at++) {
      for (const value of [0x00, 0xff, Math.floor(random() * 256)]) {
        if (value === vault[at]) continue;
        const bytes = vault.slice();
        bytes[at] = value;
        const outcome = await endsWell(`seed ${SEED}, byte ${at} = ${value}`, VAULT_CODES, 200, () => open(rechecked(bytes)));
        counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
      }
    }
    for (let salt = 0; salt < 256; salt++) {
      // The salt length moves the header's end: the checksum where that length puts it.
      const headerEnd = 24 + salt + 4;
      const bytes = new Uint8Array(Math.max(vault.length, headerEnd + 32 + 88 + 16));
      bytes.set(vault.subarray(0, 23));
      bytes[23] = salt;
      new DataView(bytes.buffer).setUint32(headerEnd - 4, bytes.length - headerEnd - 32 - 32 - 24);
      await endsWell(`salt length ${salt}`, VAULT_CODES, 200, () => open(rechecked(bytes, headerEnd)));
    }
    process.stdout.write(`vault header bytes: ${[...counts].map(([outcome, n]) => `${outcome} ${n}`).join(', ')}\n`);
    // A changed header is never opened: the keyed check (§3.1 b) covers every byte of it.
    expect(counts.get('ok')).toBeUndefined();
  });
});

describe("a store someone else prepared (docs/store.md §3-§6): the index, the journal, an object", () => {
  const key = new Uint8Array(32).fill(4);
  const STORE_CODES: ErrorCode[] = ['vault_tampered'];
  let counter = 0;
  const nonce = (length: number) => {
    counter += 1;
    return new Uint8Array(length).fill(counter & 0xff);
  };
  const entry = (n: number): IndexEntry => ({
    id: String(n), object: n.toString(16).padStart(32, '0'), direction: 'in', from: `sender${n}@example.org`, to: ['ana@example.org'],
    subject: `message ${n}`, date: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(), storedAt: '2026-02-01T00:00:00.000Z', unread: n % 2 === 0, size: 1000 + n,
  });
  const state = (count: number): StoreState => ({ ...emptyStoreState(), nextId: count + 1, relayCursor: 'c-1', entries: Array.from({ length: count }, (_, i) => entry(i + 1)) });
  /** Opens the index, every chunk (as a listing of the whole mailbox does) and every bucket of its id table (lookups by id). */
  const openAll = async (bytes: Uint8Array) => {
    const reading = await openIndex(key, bytes);
    await reading.chunks(reading.chunkSizes.map((_, i) => i));
    await reading.buckets(Array.from({ length: reading.bucketCount }, (_, b) => b));
    return reading;
  };

  it('an index cut at every offset, or with any one byte changed, is refused as damaged (vault_tampered), never read', async () => {
    const index = await sealIndex(key, 3, nonce, state(3));
    for (let length = 0; length < index.length; length++) {
      expect(await endsWell(`index cut at ${length}`, STORE_CODES, 200, () => openAll(index.slice(0, length)))).toBe('vault_tampered');
    }
    for (let at = 0; at < index.length; at++) {
      const bytes = index.slice();
      bytes[at] = bytes[at]! ^ 0x41;
      expect(await endsWell(`index byte ${at}`, STORE_CODES, 200, () => openAll(bytes)), `byte ${at}`).toBe('vault_tampered');
    }
  });

  it('an index of two chunks cut at 500 seeded offsets, with lengths of 4 GiB, and every version but its own', async () => {
    const index = await sealIndex(key, 3, nonce, state(INDEX_CHUNK_ENTRIES + 10));
    const random = prng(SEED);
    for (let round = 0; round < 500; round++) {
      const length = Math.floor(random() * index.length);
      expect(await endsWell(`seed ${SEED}, index cut at ${length}`, STORE_CODES, 300, () => openAll(index.slice(0, length)))).toBe('vault_tampered');
    }
    // The head's length, then the first chunk's (the u32 before each part, §3).
    const headLength = new DataView(index.buffer).getUint32(INDEX_HEADER_LENGTH);
    for (const at of [INDEX_HEADER_LENGTH, INDEX_HEADER_LENGTH + 4 + 24 + headLength]) {
      for (const claimed of [0, 15, 16, 0x7fff_ffff, 0xffff_ffff]) {
        const bytes = index.slice();
        new DataView(bytes.buffer).setUint32(at, claimed);
        expect(await endsWell(`length ${claimed} at ${at}`, STORE_CODES, 300, () => openAll(bytes))).toBe('vault_tampered');
      }
    }
    const refused = new Map<string, number>();
    for (let version = 0; version < 0x10000; version++) {
      if (version === INDEX_VERSION) continue;
      const bytes = index.slice();
      new DataView(bytes.buffer).setUint16(8, version);
      const code = await codeOfAsync(() => openAll(bytes));
      refused.set(code, (refused.get(code) ?? 0) + 1);
    }
    // Versions 1, 2 and 3 are read for their rewrite (§7.1): these bytes are not theirs, so damaged too.
    expect(Object.fromEntries(refused)).toEqual({ vault_tampered: 0xffff });
  });

  it('a journal cut at every offset keeps its whole records (a torn append); a record claiming 4 GiB or damaged in the middle is refused', async () => {
    const records = await Promise.all([1, 2, 3].map((n, seq) => sealJournalRecord(key, 3, seq, nonce(24), [{ op: 'set', id: String(n), unread: false }])));
    const journal = concatBytes(journalHeader(3), ...records);
    for (let length = 0; length <= journal.length; length++) {
      let kept = -1;
      const outcome = await endsWell(`journal cut at ${length}`, STORE_CODES, 200, async () => {
        const reading = await openJournal(key, journal.slice(0, length));
        kept = reading.records.length;
        expect(reading.validLength).toBeLessThanOrEqual(length);
      });
      if (length < GENERATION_HEADER_LENGTH) expect(outcome).toBe('vault_tampered');
      else expect(kept, `cut at ${length}`).toBe(records.filter((_, i) => GENERATION_HEADER_LENGTH + records.slice(0, i + 1).reduce((sum, r) => sum + r.length, 0) <= length).length);
    }
    for (const claimed of [0, 0x7fff_ffff, 0xffff_ffff, MAX_JOURNAL_RECORD + 1]) {
      const bytes = journal.slice();
      new DataView(bytes.buffer).setUint32(GENERATION_HEADER_LENGTH, claimed);
      await endsWell(`journal record claiming ${claimed}`, STORE_CODES, 200, () => openJournal(key, bytes));
    }
    const middle = journal.slice();
    middle[GENERATION_HEADER_LENGTH + 40] = middle[GENERATION_HEADER_LENGTH + 40]! ^ 1;
    expect(await endsWell('a damaged first record', STORE_CODES, 200, () => openJournal(key, middle))).toBe('vault_tampered');
  });

  it('swapped files and generations: a journal newer than the index, the journal as the index, another key; an object cut or padded', async () => {
    const folder = join(scratch.path, 'store');
    const files = await StoreFiles.create(folder, key, state(2), nonce);
    await files.rewrite(state(2)); // generation 1: one older and one newer exist
    await files.append([{ op: 'set', id: '1', unread: false }]);
    const object = files.newObjectName();
    await files.writeObject(object, new Uint8Array(200_000).fill(7));
    const index = readFileSync(join(folder, 'index'));
    const journal = readFileSync(join(folder, 'journal'));
    const restore = () => {
      writeFileSync(join(folder, 'index'), index);
      writeFileSync(join(folder, 'journal'), journal);
    };
    const cases: Array<[string, () => void, string]> = [
      ['the journal as written', () => undefined, 'ok'],
      ['the journal one generation newer', () => writeFileSync(join(folder, 'journal'), concatBytes(journalHeader(2), journal.subarray(GENERATION_HEADER_LENGTH))), 'vault_tampered'],
      ['the journal one generation older (an interrupted compaction: read as stale)', () => writeFileSync(join(folder, 'journal'), concatBytes(journalHeader(0), journal.subarray(GENERATION_HEADER_LENGTH))), 'ok'],
      ['the journal 2^32-1 generations on', () => writeFileSync(join(folder, 'journal'), concatBytes(journalHeader(0xffff_ffff), journal.subarray(GENERATION_HEADER_LENGTH))), 'vault_tampered'],
      ['the journal in place of the index', () => writeFileSync(join(folder, 'index'), journal), 'vault_tampered'],
      ['the index in place of the journal', () => writeFileSync(join(folder, 'journal'), index), 'vault_tampered'],
      ['an index whose head was sealed with another key', () => writeFileSync(join(folder, 'index'), index.map((byte, i) => (i === INDEX_HEADER_LENGTH + 4 + 24 + 1 ? byte ^ 1 : byte))), 'vault_tampered'],
      ['an empty index', () => writeFileSync(join(folder, 'index'), new Uint8Array(0)), 'vault_tampered'],
      ['a folder in place of the index', () => { rmSync(join(folder, 'index')); mkdirSync(join(folder, 'index')); }, 'file_unreadable'],
    ];
    for (const [label, damage, expected] of cases) {
      restore();
      damage();
      expect(await endsWell(label, ['vault_tampered', 'file_unreadable'], 2_000, () => StoreFiles.open(folder, key, nonce)), label).toBe(expected);
      rmSync(join(folder, 'index'), { recursive: true, force: true });
    }
    restore();
    const path = files.objectPath(object);
    const sealed = readFileSync(path);
    const random = prng(SEED);
    const cuts = [0, 1, OBJECT_HEADER_LENGTH - 1, OBJECT_HEADER_LENGTH, OBJECT_HEADER_LENGTH + 15, OBJECT_HEADER_LENGTH + SEALED_CHUNK, sealed.length - 1, ...Array.from({ length: 40 }, () => Math.floor(random() * sealed.length))];
    for (const length of cuts) {
      writeFileSync(path, sealed.subarray(0, length));
      expect(await endsWell(`seed ${SEED}, object cut at ${length}`, STORE_CODES, 500, () => files.readWholeObject(object))).toBe('vault_tampered');
    }
    writeFileSync(path, concatBytes(sealed, new Uint8Array(SEALED_CHUNK + 3)));
    expect(await endsWell('an object with a chunk too many', STORE_CODES, 500, () => files.readWholeObject(object))).toBe('vault_tampered');
    writeFileSync(path, sealed);
    expect((await files.readWholeObject(object)).length).toBe(200_000);
  });
});

describe.skipIf(process.platform === 'win32')('attack: a stick whose files are a device, a pipe or a folder (docs/stick-layout.md §2.1)', () => {
  // Before: the vault and the journal were read whole with readFile: /dev/zero in their place
  // took 10 GB of memory in a minute and never ended; a FIFO in place of the vault, the index
  // or an object waited for a writer for ever (open); config.json the same.
  const places = (stick: string) => ({
    vault: join(stick, 'vault', 'caliop.vault'),
    index: join(stick, 'store', 'index'),
    journal: join(stick, 'store', 'journal'),
    config: join(stick, 'config.json'),
  });
  const kinds = (which: string): Array<[string, (path: string) => void]> => [
    ['a FIFO', (path) => execFileSync('mkfifo', [path])],
    ...(which === 'fifo' ? [] : [
      ['/dev/zero', (path: string) => symlinkSync('/dev/zero', path)] as [string, (path: string) => void],
      ['a folder', (path: string) => mkdirSync(path)] as [string, (path: string) => void],
    ]),
  ];
  let count = 0;
  const freshStick = () => {
    const stick = join(scratch.path, `odd-stick-${(count += 1)}`);
    mkdirSync(join(stick, 'vault'), { recursive: true });
    mkdirSync(join(stick, 'store'), { recursive: true });
    return stick;
  };

  for (const which of ['fifo', 'all']) {
    it(which === 'fifo' ? 'a FIFO in place of the vault, the index, the journal, an object or config.json is refused at once' : '/dev/zero or a folder in their place is refused at once', async () => {
      for (const [kind, make] of kinds(which).filter(([name]) => which === 'all' ? name !== 'a FIFO' : true)) {
        // The vault and config.json, as every command reads them.
        for (const [label, path, read] of [
          ['vault', places(freshStick()).vault, (at: string) => readVaultHeader(at)],
          ['config.json', places(freshStick()).config, (at: string) => readStickConfig(stickAt(dirname(at), '--stick'))],
        ] as const) {
          make(path);
          const outcome = await endsWell(`${kind} as the ${label}`, ['file_unreadable'], 500, () => read(path));
          expect(outcome, `${kind} as the ${label}`).toBe('file_unreadable');
        }
        // The store: a real one, then one of its files replaced.
        const key = new Uint8Array(32).fill(6);
        for (const file of ['index', 'journal', 'object'] as const) {
          const folder = join(freshStick(), 'store', 'messages');
          const files = await StoreFiles.create(folder, key, { ...emptyStoreState(), nextId: 1, entries: [] }, (length) => new Uint8Array(length).fill(2));
          const object = files.newObjectName();
          await files.writeObject(object, new Uint8Array(10).fill(1));
          const path = file === 'object' ? files.objectPath(object) : join(folder, file);
          rmSync(path);
          make(path);
          const outcome = await endsWell(`${kind} as the store's ${file}`, ['file_unreadable'], 500, async () => {
            if (file === 'object') await files.readWholeObject(object);
            else await StoreFiles.open(folder, key, (length) => new Uint8Array(length).fill(3));
          });
          expect(outcome, `${kind} as the store's ${file}`).toBe('file_unreadable');
        }
      }
    }, 60_000);
  }

  it('caliop key show on a stick whose vault is /dev/zero or a FIFO: one line, exit 22, no stack trace', async () => {
    const runs = await Promise.all(kinds('all').filter(([name]) => name !== 'a folder').map(async ([kind, make]) => {
      const stick = freshStick();
      make(places(stick).vault);
      return { kind, run: await caliop(['--stick', stick, '--passphrase-file', '@ENV:TEST_PASSPHRASE', 'key', 'show'], { env: testEnv() }) };
    }));
    for (const { kind, run } of runs) {
      expect(run.status, `${kind}: ${run.stderr}`).toBe(22);
      expect(run.stderr).toMatch(/^caliop: error: the vault .*caliop\.vault is not a regular file/);
      expect(run.stderr).not.toMatch(/    at /);
    }
  }, 60_000);
});
