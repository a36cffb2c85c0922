// The stick's own settings kept in the vault (docs/vault-contents.md: settings).
// Today: the language of the faces. Used by the UI's settings screen.
import { CaliopError } from '../errors.js';
import { rememberOwnerLanguage } from './interface-language.js';
import type { StickSession } from './stick-session.js';

export const SETTING_LANGUAGES = ['en', 'fr'] as const;
export type SettingLanguage = (typeof SETTING_LANGUAGES)[number];

export async function setLanguage(session: StickSession, language: SettingLanguage): Promise<void> {
  if (!SETTING_LANGUAGES.includes(language)) throw new CaliopError('usage', `unknown language ${String(language)}`, { hint: 'choose en or fr' });
  if (session.contents.settings.language !== language) {
    await session.update((draft) => {
      draft.settings.language = language;
    });
  }
  // docs/stick-layout.md §3.1: the next unlock screen speaks it too.
  await rememberOwnerLanguage(session.stick, language);
}
