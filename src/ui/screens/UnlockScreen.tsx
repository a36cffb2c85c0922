// Unlock: the passphrase, a clear message when it is wrong, and no limit on attempts.
import { Text } from 'ink';
import { useState } from 'react';
import type { Stick } from '../../service/stick-lookup.js';
import { isCaliopError } from '../../errors.js';
import { StickSession } from '../../service/stick-session.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Progress } from '../components/Progress.js';
import { Screen } from '../components/Screen.js';
import { TextField } from '../components/TextField.js';
import { useText } from '../use-text.js';
import { useKeys } from '../key-queue.js';

export function UnlockScreen({ stick, onUnlocked, onQuit, onLanguage }: { stick: Stick; onUnlocked: (session: StickSession) => void; onQuit: () => void; onLanguage?: (language: 'en' | 'fr') => void }) {
  const { t, language } = useText();
  const [passphrase, setPassphrase] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useKeys((_input, key) => {
    if (key.escape) onQuit();
    else if (key.tab) onLanguage?.(language === 'en' ? 'fr' : 'en'); // docs/ui.md §7
  }, { isActive: !busy });
  const submit = (value: string) => {
    if (value === '') return;
    setBusy(true);
    setError(null);
    StickSession.unlock(stick, value).then(onUnlocked, (failure: unknown) => {
      setBusy(false);
      setPassphrase('');
      setError(failure);
    });
  };
  return (
    <Screen title={t('unlockTitle')} keys={t('unlockKeys')} status={stick.root}>
      <Text>{t('unlockExplain')}</Text>
      <TextField label={t('unlockLabel')} value={passphrase} mask focus={!busy} onChange={setPassphrase} onSubmit={submit} />
      {busy ? <Progress label={t('unlockWorking')} /> : null}
      {isCaliopError(error, 'wrong_passphrase') ? <Text color="red">✗ {t('unlockWrong')}</Text> : error ? <ErrorNotice error={error} /> : null}
    </Screen>
  );
}
