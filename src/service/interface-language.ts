// Which language the interface opens in, before the vault is open (docs/ui.md §7).
import { startLanguage, type UiLanguage } from '../core/ui-language.js';
import { readStickConfig } from '../edges/stick-config.js';
import type { Stick } from '../edges/stick-locator.js';

export function interfaceStartLanguage(stick: Stick | null, env: NodeJS.ProcessEnv = process.env): UiLanguage {
  let stickDefault: unknown;
  try {
    stickDefault = stick ? readStickConfig(stick).language : undefined;
  } catch {
    stickDefault = undefined; // an unreadable config.json is reported where it matters (relay, verify)
  }
  return startLanguage({ stickDefault, env, systemLocale: Intl.DateTimeFormat().resolvedOptions().locale });
}
