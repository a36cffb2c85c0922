// The interface language the stick's owner chose, kept in the clear beside the vault so
// that the screens before the unlock speak it (docs/stick-layout.md §3.1, docs/ui.md §7).
import { join } from 'node:path';
import { writeFileAtomically } from './atomic-file.js';
import { readRegularTextFileSync } from './plain-files.js';
import type { Stick } from './stick-locator.js';

/** docs/stick-layout.md §3.1: the most read of vault/language ("fr" and a newline is 3). */
export const STICK_LANGUAGE_MAX_BYTES = 16;

export function stickLanguagePath(stick: Stick): string {
  return join(stick.vaultDir, 'language');
}

/** What vault/language says, trimmed, or undefined (missing, unreadable, not a regular file, too large): hostile, so only ever a hint. */
export function readStickLanguage(stick: Stick): string | undefined {
  try {
    return readRegularTextFileSync(stickLanguagePath(stick), STICK_LANGUAGE_MAX_BYTES).trim();
  } catch {
    return undefined;
  }
}

/** Writes vault/language atomically (docs/vault-format.md §7). Throws what the file system says; callers treat it as best effort. */
export async function writeStickLanguage(stick: Stick, language: 'en' | 'fr'): Promise<void> {
  await writeFileAtomically(stickLanguagePath(stick), new TextEncoder().encode(`${language}\n`), 0o644);
}
