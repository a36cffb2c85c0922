// Reading a recovery sheet from a file, and splitting the seed into share sheets
// (docs/ceremony.md §7, §8.4).
import { parseRecoverySheet, formatShareSheet, phraseFromSeed, RECOVERY_TEXT_MAX_BYTES, type ParsedRecoverySheet } from '../core/recovery-sheet.js';
import { chooseBackupCheckPositions, checkBackupWords } from '../core/backup-check.js';
import { splitSeed } from '../core/seed-shares.js';
import { CaliopError } from '../errors.js';
import { randomBytes } from '../edges/random.js';
import { readTextFileAtMost } from '../edges/plain-files.js';
import { hexToBytes, type StickSession } from './stick-session.js';

export async function readRecoverySheetFile(path: string): Promise<ParsedRecoverySheet> {
  let text: string | undefined;
  try {
    text = await readTextFileAtMost(path, RECOVERY_TEXT_MAX_BYTES);
  } catch (error) {
    throw new CaliopError('file_unreadable', `could not read the recovery sheet ${path}`, { cause: error });
  }
  // docs/ceremony.md §7.2: read no further than the largest text a sheet can be.
  if (text === undefined) {
    throw new CaliopError('recovery_invalid', `${path} holds more than ${RECOVERY_TEXT_MAX_BYTES / 1024} KiB: a recovery sheet, or 16 share sheets, is a few KiB`, {
      hint: 'give the file that holds the text of your recovery sheet (or of your share sheets)',
    });
  }
  return parseRecoverySheet(text);
}

/**
 * docs/ceremony.md §7: the name and address the key was made with, from the sheet
 * or as the user gives them (`caliop recover --name --email`); without both, the
 * identical key cannot be rebuilt.
 */
export function identityForRecovery(sheet: ParsedRecoverySheet, given: { readonly name?: string | undefined; readonly email?: string | undefined } = {}): { name: string; email: string } {
  const name = given.name ?? sheet.name;
  const email = given.email ?? sheet.email;
  if (!name || !email) {
    throw new CaliopError('recovery_invalid', 'the sheet does not say the name and address of the key', {
      hint: 'use the full recovery sheet, with its name and email lines (or give them with caliop recover --name and --email, exactly as at the ceremony)',
    });
  }
  return { name, email };
}

export interface ShareSheet {
  readonly number: number;
  readonly words: string[];
  readonly sheet: string;
}

/** `caliop backup split`: k-of-n shares of the seed, each as a printable sheet. */
export async function splitBackup(session: StickSession, shares: number, threshold: number): Promise<ShareSheet[]> {
  if (!Number.isInteger(shares) || !Number.isInteger(threshold) || threshold < 2 || shares < threshold || shares > 16) {
    throw new CaliopError('usage', `cannot split into ${shares} shares with a threshold of ${threshold}`, {
      hint: 'use 2 <= --threshold <= --shares <= 16, for example --shares 3 --threshold 2',
    });
  }
  const identity = session.contents.identity;
  const seed = hexToBytes(identity.seedHex);
  try {
    const wordLists = await splitSeed(seed, shares, threshold);
    return wordLists.map((words, index) => ({
      number: index + 1,
      words,
      sheet: formatShareSheet({
        words,
        shareNumber: index + 1,
        shareCount: shares,
        threshold,
        creationDate: new Date(identity.creationDate),
        name: identity.name,
        email: identity.email,
        fingerprint: identity.fingerprint,
      }),
    }));
  } finally {
    seed.fill(0);
  }
}

/** `caliop backup check`: the positions to ask, then the verdict recorded in the vault. */
export function backupCheckPositions(random: (length: number) => Uint8Array = randomBytes): number[] {
  return chooseBackupCheckPositions(random(64));
}

export async function recordBackupCheck(session: StickSession, positions: readonly number[], answers: readonly string[]): Promise<void> {
  const words = phraseFromSeed(hexToBytes(session.contents.identity.seedHex));
  if (!checkBackupWords(words, [...positions], [...answers])) throw new CaliopError('backup_check_failed');
  await session.update((draft) => {
    draft.identity.ceremony.backupChecked = true;
  });
}
