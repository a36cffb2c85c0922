// The files a user is handed and gives to caliop, as hostile as their author likes
// (docs/fuzzing.md, third session): the recovery sheet of `caliop recover` (docs/ceremony.md
// §7.2), the vault file and the store's files on a stick someone else prepared
// (docs/vault-format.md §6, docs/store.md §3-§6). Pure parsers in process, on seeded cases
// (CALIOP_TEST_SEED=n for another seed; the seed and the case are in every failure), each
// case bounded in CPU time; the real `caliop` for a handful of messages and exit codes.
// Every input ends in a result or in its documented CaliopError, whose message is short
// and, once printed, inert.
import { wordlist as french } from '@scure/bip39/wordlists/french.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prng } from '../../scripts/fuzz/prng.js';
import { formatRecoverySheet, formatShareSheet, parseRecoverySheet, phraseFromSeed, RECOVERY_TEXT_MAX_BYTES } from '../../src/core/recovery-sheet.js';
import { normaliseWord } from '../../src/core/recovery-words.js';
import { splitSeed } from '../../src/core/seed-shares.js';
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
