// The catalogues and the one function that picks a text and fills its {params}.
import { en, type MessageKey } from './en.js';
import { fr } from './fr.js';
import { MESSAGE_LIMITS, type OverLimitReason } from '../../core/message-limits.js';

export type UiLanguage = 'en' | 'fr';
export type { MessageKey };

export const CATALOGUES: Readonly<Record<UiLanguage, Readonly<Record<MessageKey, string>>>> = { en, fr };

export type Translate = (key: MessageKey, params?: Readonly<Record<string, string | number>>) => string;

export function translator(language: UiLanguage): Translate {
  const catalogue = CATALOGUES[language];
  return (key, params) => catalogue[key].replace(/\{(\w+)\}/g, (whole, name: string) => (params && name in params ? String(params[name]) : whole));
}

/** docs/limits.md §3.2: why a message stays sealed, in the interface's language. */
export function sealedReasonText(t: Translate, reason: OverLimitReason): string {
  const mib = (bytes: number) => ({ mib: bytes / 1024 / 1024 });
  switch (reason) {
    case 'decompressed-too-large':
      return t('sealedDecompressedTooLarge', mib(MESSAGE_LIMITS.maxDecompressedBytes));
    case 'headers-too-large':
      return t('sealedHeadersTooLarge', mib(MESSAGE_LIMITS.maxHeaderBytes));
    case 'message-too-large':
      return t('sealedMessageTooLarge', mib(MESSAGE_LIMITS.maxMessageBytes));
    case 'too-many-parts':
      return t('sealedTooManyParts', { count: MESSAGE_LIMITS.maxMimeParts });
    case 'nested-too-deep':
      return t('sealedNestedTooDeep', { count: MESSAGE_LIMITS.maxMimeDepth });
  }
}
