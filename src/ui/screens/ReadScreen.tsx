// One message: headers, its exposure level and every reason in plain words, the body.
import { Box, Text, useInput } from 'ink';
import { useEffect, useState } from 'react';
import { reasonLine } from '../../core/exposure-text.js';
import { readOne, type MessageView } from '../../service/mailbox-view.js';
import type { StickSession } from '../../service/stick-session.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { ExposureLabel } from '../components/ExposureLabel.js';
import { Screen } from '../components/Screen.js';
import { useText } from '../use-text.js';

const BODY_ROWS = 8;

export function ReadScreen({ session, id, onBack }: { session: StickSession; id: string; onBack: () => void }) {
  const { t, language } = useText();
  const [view, setView] = useState<MessageView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [scroll, setScroll] = useState(0);
  useEffect(() => {
    readOne(session, id).then(setView, setError);
  }, [session, id]);
  const bodyLines = (view?.body ?? t('readUndecryptable')).split('\n');
  useInput((_input, key) => {
    if (key.escape || /^q$/i.test(_input)) onBack();
    else if (key.upArrow) setScroll((current) => Math.max(0, current - 1));
    else if (key.downArrow) setScroll((current) => Math.min(Math.max(0, bodyLines.length - BODY_ROWS), current + 1));
  });
  if (error) {
    return (
      <Screen title={t('errorTitle')} keys={t('keysBack')}>
        <ErrorNotice error={error} />
      </Screen>
    );
  }
  if (!view) return <Screen title={t('working')} keys={t('keysBack')}><Text> </Text></Screen>;
  return (
    <Screen title={view.subject} keys={t('readKeys')}>
      <Text>
        {t('readFrom')}: {view.from}
      </Text>
      <Text>
        {t('readTo')}: {view.to.join(', ')}
      </Text>
      <Text>
        {t('readDate')}: {view.date.slice(0, 16).replace('T', ' ')}
      </Text>
      <Text>
        {t('readExposure')}: <ExposureLabel assessment={view.exposure} /> ({view.exposure.score}/100)
      </Text>
      <Text>{t('readWhy')}</Text>
      {view.exposure.reasons.map((reason, index) => (
        <Text key={`${reason.code}-${index}`}>
          {'  '}- {reasonLine(reason, language)}
        </Text>
      ))}
      <Box marginTop={1} flexDirection="column">
        <Text>{bodyLines.slice(scroll, scroll + BODY_ROWS).join('\n')}</Text>
      </Box>
    </Screen>
  );
}
