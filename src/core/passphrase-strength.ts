// How long a passphrase would hold against someone who stole the stick (docs/ceremony.md §9).
//
// The estimate is zxcvbn-ts with its common, English and French dictionaries. They weigh
// several megabytes, so they are imported the first time a passphrase is assessed, once.

import type { ZxcvbnFactory, TranslationKeys } from '@zxcvbn-ts/core';

/**
 * docs/ceremony.md §9.2: the attacker we size against runs 10^4 Argon2id guesses a second
 * against the vault (256 MiB, 3 passes: some 10-100 high-end GPUs working for them).
 */
export const OFFLINE_GUESSES_PER_SECOND = 1e4;

/**
 * docs/ceremony.md §9.2: below 10^12 estimated guesses a passphrase is "weak": such an
 * attacker would go through all of them in about three years, half that on average.
 */
export const WEAK_BELOW_GUESSES_LOG10 = 12;

export interface Bilingual<T> {
  en: T;
  fr: T;
}

export interface PassphraseAssessment {
  /** zxcvbn's score: 0 (too guessable) .. 4 (very unguessable: more than 10^10 guesses). */
  score: 0 | 1 | 2 | 3 | 4;
  /** log10 of the estimated number of guesses an attacker needs. */
  guessesLog10: number;
  /** guessesLog10 < WEAK_BELOW_GUESSES_LOG10: the ceremony explains and asks for confirmation. */
  weak: boolean;
  /** What makes it guessable, if zxcvbn found something. */
  warning?: Bilingual<string>;
  suggestions: Bilingual<string[]>;
  /** Seconds for the attacker of §9.2 to try every guess up to this passphrase. */
  crackTimeSeconds: number;
  /** The same, in words: "3 years", "centuries" / "3 ans", "des siècles". */
  crackTimeText: Bilingual<string>;
}

/** docs/ceremony.md §9.1: assess a passphrase; `userInputs` are the user's own words (name, email). */
export async function assessPassphrase(passphrase: string, userInputs: string[]): Promise<PassphraseAssessment> {
  const { factory, translations } = await loadEstimator();
  const result = factory.check(passphrase, expandUserInputs(userInputs));
  const warningKey = result.feedback.warning as keyof TranslationKeys['warnings'] | null;
  const suggestionKeys = result.feedback.suggestions as Array<keyof TranslationKeys['suggestions']>;
  const crackTimeSeconds = 10 ** result.guessesLog10 / OFFLINE_GUESSES_PER_SECOND;
  return {
    score: result.score,
    guessesLog10: result.guessesLog10,
    weak: result.guessesLog10 < WEAK_BELOW_GUESSES_LOG10,
    ...(warningKey ? { warning: { en: translations.en.warnings[warningKey], fr: translations.fr.warnings[warningKey] } } : {}),
    suggestions: {
      en: suggestionKeys.map((key) => translations.en.suggestions[key]),
      fr: suggestionKeys.map((key) => translations.fr.suggestions[key]),
    },
    crackTimeSeconds,
    crackTimeText: { en: durationText(crackTimeSeconds, translations.en), fr: durationText(crackTimeSeconds, translations.fr) },
  };
}

// ---- internals ----

interface Estimator {
  factory: ZxcvbnFactory;
  translations: Bilingual<TranslationKeys>;
}

/**
 * docs/ui.md §8: the French glossary says "phrase de passe", never "mot de passe", which
 * zxcvbn's French texts use; these replace them (the other texts are kept as they are).
 */
export const FRENCH_GLOSSARY = {
  warnings: {
    topTen: 'Cette phrase de passe est parmi les plus utilisées.',
    topHundred: 'Cette phrase de passe est très souvent utilisée.',
    common: 'Cette phrase de passe est couramment utilisée.',
    similarToCommon: 'Cette phrase de passe ressemble à une phrase de passe courante.',
    userInputs: 'La phrase de passe ne doit contenir ni votre nom ni votre adresse.',
    pwned: 'Cette phrase de passe a été divulguée lors d’une fuite de données sur Internet.',
  },
  suggestions: {
    noNeed: 'Une phrase de passe solide n’a besoin ni de symboles, ni de chiffres, ni de majuscules.',
    pwned: 'Si vous utilisez cette phrase de passe ailleurs, changez-la.',
  },
} as const;

let estimator: Promise<Estimator> | undefined;

function loadEstimator(): Promise<Estimator> {
  estimator ??= (async () => {
    const [core, common, en, fr] = await Promise.all([
      import('@zxcvbn-ts/core'),
      import('@zxcvbn-ts/language-common'),
      import('@zxcvbn-ts/language-en'),
      import('@zxcvbn-ts/language-fr'),
    ]);
    // No `translations` option: feedback comes back as keys, which we translate to both languages.
    const factory = new core.ZxcvbnFactory({
      dictionary: { ...common.dictionary, ...en.dictionary, ...fr.dictionary },
      graphs: common.adjacencyGraphs,
      useLevenshteinDistance: true, // catches near misses of common passwords; ~0.1-2 s a check (docs/ceremony.md §9.1)
    });
    const french = {
      ...fr.translations,
      warnings: { ...fr.translations.warnings, ...FRENCH_GLOSSARY.warnings },
      suggestions: { ...fr.translations.suggestions, ...FRENCH_GLOSSARY.suggestions },
    };
    return { factory, translations: { en: en.translations, fr: french } };
  })();
  estimator.catch(() => {
    estimator = undefined;
  });
  return estimator;
}

/** The inputs, and their pieces: "alice.martin@example.org" also gives "alice", "martin", "example". */
function expandUserInputs(inputs: string[]): string[] {
  const all = new Set<string>();
  for (const input of inputs) {
    const trimmed = input.trim();
    if (trimmed === '') continue;
    all.add(trimmed.toLowerCase());
    for (const piece of trimmed.toLowerCase().split(/[^\p{L}\p{N}]+/u)) if (piece.length >= 3) all.add(piece);
  }
  return [...all];
}

const DURATION_UNITS = [
  ['second', 1],
  ['minute', 60],
  ['hour', 3600],
  ['day', 86_400],
  ['month', 2_678_400], // 31 days, as zxcvbn counts
  ['year', 31_536_000],
] as const;

function durationText(seconds: number, translations: TranslationKeys): string {
  const time = translations.timeEstimation as Record<string, string | ((value: number) => string)>;
  const say = (key: string, base: number): string => {
    const template = time[key]!;
    return typeof template === 'function' ? template(base) : template.replace('{base}', String(base));
  };
  if (seconds < 1) return say('ltSecond', 0);
  if (seconds >= 100 * 31_536_000) return say('centuries', 0);
  let chosen: readonly [string, number] = DURATION_UNITS[0];
  for (const unit of DURATION_UNITS) if (seconds >= unit[1]) chosen = unit;
  const base = Math.round(seconds / chosen[1]);
  return say(base === 1 ? chosen[0] : `${chosen[0]}s`, base);
}
