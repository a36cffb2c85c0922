// Optional split of the recovery phrase into k-of-n shares (`caliop backup split`),
// each shown on its own screen, once.
import { Box, Text } from 'ink';
import { useState } from 'react';
import { splitBackup, type ShareSheet } from '../../service/recovery.js';
import type { StickSession } from '../../service/stick-session.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Screen } from '../components/Screen.js';
import { Sentence } from '../components/Sentence.js';
import { TextField } from '../components/TextField.js';
import { isNo, isYes } from '../keys.js';
import { useText } from '../use-text.js';
import { useKeys } from '../key-queue.js';

export function SharesFlow({ session, askFirst, onDone }: { session: StickSession; askFirst: boolean; onDone: () => void }) {
  const { t } = useText();
  const [phase, setPhase] = useState<'ask' | 'count' | 'threshold' | 'show'>(askFirst ? 'ask' : 'count');
  const [count, setCount] = useState('3');
  const [threshold, setThreshold] = useState('2');
  const [sheets, setSheets] = useState<ShareSheet[]>([]);
  const [shown, setShown] = useState(0);
  const [error, setError] = useState<unknown>(null);

  useKeys(
    (input, key) => {
      if (phase === 'ask') {
        if (isYes(input)) setPhase('count');
        else if (isNo(input) || key.escape) onDone();
      } else if (phase === 'show' && key.return) {
        if (shown + 1 >= sheets.length) {
          setSheets([]);
          onDone();
        } else setShown(shown + 1);
      } else if (key.escape) onDone();
    },
  );

  if (phase === 'ask') {
    return (
      <Screen title={t('sharesTitle')} keys={t('sharesKeys')}>
        <Sentence text={t('sharesExplain')} />
      </Screen>
    );
  }
  if (phase === 'show') {
    const sheet = sheets[shown]!;
    return (
      <Screen title={t('shareTitle', { number: sheet.number, count: sheets.length, threshold })} keys={t('shareKeys')}>
        <Text>{t('shareExplain')}</Text>
        <Box marginTop={1}>
          <Text>{sheet.sheet.split('\n').filter((line) => !line.startsWith('#')).join('\n')}</Text>
        </Box>
      </Screen>
    );
  }
  const split = () => {
    splitBackup(session, Number(count), Number(threshold)).then(
      (result) => {
        setSheets(result);
        setShown(0);
        setPhase('show');
      },
      (failure: unknown) => {
        setError(failure);
        setPhase('count');
      },
    );
  };
  return (
    <Screen title={t('sharesTitle')} keys={`${t('keysContinue')} · ${t('keysBack')}`}>
      <TextField label={t('sharesCountLabel')} value={count} focus={phase === 'count'} onChange={setCount} onSubmit={() => setPhase('threshold')} />
      {phase === 'threshold' ? <TextField label={t('sharesThresholdLabel')} value={threshold} onChange={setThreshold} onSubmit={split} /> : null}
      {error ? <ErrorNotice error={error} /> : null}
    </Screen>
  );
}
