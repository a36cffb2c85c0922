// The catalogues and the one function that picks a text and fills its {params}.
import { en, type MessageKey } from './en.js';
import { fr } from './fr.js';

export type UiLanguage = 'en' | 'fr';
export type { MessageKey };

export const CATALOGUES: Readonly<Record<UiLanguage, Readonly<Record<MessageKey, string>>>> = { en, fr };

export type Translate = (key: MessageKey, params?: Readonly<Record<string, string | number>>) => string;

export function translator(language: UiLanguage): Translate {
  const catalogue = CATALOGUES[language];
  return (key, params) => catalogue[key].replace(/\{(\w+)\}/g, (whole, name: string) => (params && name in params ? String(params[name]) : whole));
}
