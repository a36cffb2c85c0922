// Which language the interface opens in, before the vault is open (docs/ui.md §7).
import { startLanguage, type UiLanguage } from '../core/ui-language.js';
import { readStickConfig } from '../edges/stick-config.js';
import type { Stick } from '../edges/stick-locator.js';
import { readStickLanguage, writeStickLanguage } from '../edges/stick-language.js';

export function interfaceStartLanguage(stick: Stick | null, env: NodeJS.ProcessEnv = process.env): UiLanguage {
  let stickDefault: unknown;
  try {
    stickDefault = stick ? readStickConfig(stick).language : undefined;
  } catch {
    stickDefault = undefined; // an unreadable config.json is reported where it matters (relay, verify)
  }
  const ownerChoice = stick ? readStickLanguage(stick) : undefined;
  return startLanguage({ ownerChoice, stickDefault, env, systemLocale: Intl.DateTimeFormat().resolvedOptions().locale });
}

/**
 * docs/stick-layout.md §3.1: the owner's language kept beside the vault for the screens before
 * the next unlock. Best effort: a stick that cannot take the write (read-only, full) keeps the
 * vault's setting all the same, and only the next unlock screen speaks another language.
 */
export async function rememberOwnerLanguage(stick: Stick, language: UiLanguage): Promise<void> {
  if (readStickLanguage(stick) === language) return;
  try {
    await writeStickLanguage(stick, language);
  } catch {
    // a hint only (above)
  }
}
