// Settings: the relay (and enrolment with it), the language.
import { Text } from 'ink';
import { useState } from 'react';
import { relayTargetOf } from '../../service/relay-account.js';
import { setLanguage } from '../../service/settings.js';
import type { StickSession } from '../../service/stick-session.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Screen } from '../components/Screen.js';
import type { UiLanguage } from '../i18n/index.js';
import { useText } from '../use-text.js';
import { EnrolForm } from './EnrolForm.js';
import { useKeys } from '../key-queue.js';

export function SettingsScreen({ session, onBack, onLanguage }: { session: StickSession; onBack: () => void; onLanguage: (language: UiLanguage) => void }) {
  const { t, language } = useText();
  const [enrolling, setEnrolling] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useKeys(
    (input, key) => {
      if (key.escape) onBack();
      else if (/^l$/i.test(input)) {
        const next: UiLanguage = language === 'en' ? 'fr' : 'en';
        setLanguage(session, next).then(() => onLanguage(next), setError);
      } else if (/^e$/i.test(input)) setEnrolling(true);
    },
    { isActive: !enrolling },
  );
  if (enrolling) return <EnrolForm session={session} onDone={() => setEnrolling(false)} />;
  const target = relayTargetOf(session);
  const account = session.contents.relayAccount;
  return (
    <Screen title={t('settingsTitle')} keys={t('settingsKeys')}>
      <Text>{t('settingsLanguage', { language: t('languageName') })}</Text>
      <Text>{t('settingsRelay', { relay: target ? `${target.url}${target.pin ? ` ${target.pin}` : ''}` : t('stickNoRelay') })}</Text>
      <Text>{account ? t('settingsEnrolled', { address: account.address }) : t('settingsNotEnrolled')}</Text>
      {error ? <ErrorNotice error={error} /> : null}
    </Screen>
  );
}
