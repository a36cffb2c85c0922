// The current language's texts, for every screen.
import { createContext, useContext } from 'react';
import { translator, type Translate, type UiLanguage } from './i18n/index.js';

export interface TextContextValue {
  readonly language: UiLanguage;
  readonly t: Translate;
}

export const TextContext = createContext<TextContextValue>({ language: 'en', t: translator('en') });

export function useText(): TextContextValue {
  return useContext(TextContext);
}
