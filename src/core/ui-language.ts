// The interface's language before there is a vault (docs/ui.md §7). Pure: the stick
// image's default, the environment and the system's UI locale come in as values.
export type UiLanguage = 'en' | 'fr';

export interface LanguageSources {
  /** vault/language: the language the stick's owner chose (docs/stick-layout.md §3.1). */
  readonly ownerChoice?: unknown;
  /** config.json's "language", set when the stick image is built (docs/stick-layout.md §3). */
  readonly stickDefault?: unknown;
  /** The process environment (LC_ALL, LC_MESSAGES, LANG on Linux and macOS). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The user's UI locale as Intl reports it (what Windows and macOS give without LANG). */
  readonly systemLocale?: string;
}

function fromLocale(locale: string | undefined): UiLanguage | null {
  if (!locale) return null;
  const tag = locale.trim().toLowerCase();
  if (tag === '' ) return null;
  if (tag === 'c' || tag === 'posix' || tag.startsWith('c.')) return 'en';
  if (/^fr([_.@-]|$)/.test(tag)) return 'fr';
  return 'en';
}

/**
 * The owner's choice wins (a stick made in French unlocks in French anywhere); then the
 * stick image's default (a stick made for a French service starts in French);
 * else POSIX precedence: LC_ALL, then LC_MESSAGES, then LANG; else the system's UI
 * locale (Windows has no LANG); else English.
 */
export function startLanguage(sources: LanguageSources): UiLanguage {
  if (sources.ownerChoice === 'en' || sources.ownerChoice === 'fr') return sources.ownerChoice;
  if (sources.stickDefault === 'en' || sources.stickDefault === 'fr') return sources.stickDefault;
  for (const name of ['LC_ALL', 'LC_MESSAGES', 'LANG']) {
    const language = fromLocale(sources.env[name]);
    if (language) return language;
  }
  return fromLocale(sources.systemLocale) ?? 'en';
}
