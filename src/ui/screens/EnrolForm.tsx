// Enrolment with the relay: the URL and pin from the stick's config.json when it
// names them, else typed; an invite token when the relay asks for one.
import { Box, Text } from 'ink';
import { useState } from 'react';
import { enrolWithRelay, relayTargetOf } from '../../service/relay-account.js';
import type { StickSession } from '../../service/stick-session.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Progress } from '../components/Progress.js';
import { Screen } from '../components/Screen.js';
import { TextField } from '../components/TextField.js';
import { useText } from '../use-text.js';
import { useKeys } from '../key-queue.js';

const FIELDS = ['url', 'pin', 'token'] as const;

export function EnrolForm({ session, onDone }: { session: StickSession; onDone: (enrolled: { url: string; address: string } | null) => void }) {
  const { t } = useText();
  const named = relayTargetOf(session);
  const [values, setValues] = useState({ url: named?.url ?? '', pin: named?.pin ?? '', token: '' });
  const [focus, setFocus] = useState<(typeof FIELDS)[number]>(named ? 'token' : 'url');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = () => {
    if (values.url.trim() === '') {
      setFocus('url');
      return;
    }
    setBusy(true);
    setError(null);
    enrolWithRelay(session, {
      url: values.url.trim(),
      pin: values.pin.trim() === '' ? undefined : values.pin.trim(),
      ...(values.token.trim() === '' ? {} : { inviteToken: values.token.trim() }),
    }).then(
      (result) => onDone(result),
      (failure: unknown) => {
        setBusy(false);
        setError(failure);
      },
    );
  };

  useKeys(
    (_input, key) => {
      if (key.escape) onDone(null);
      else if (key.tab) setFocus((current) => FIELDS[(FIELDS.indexOf(current) + 1) % FIELDS.length]!);
    },
    { isActive: !busy },
  );

  const field = (name: (typeof FIELDS)[number], label: string) => (
    <TextField label={label} value={values[name]} focus={!busy && focus === name} onChange={(value) => setValues((current) => ({ ...current, [name]: value }))} onSubmit={submit} />
  );
  return (
    <Screen title={t('enrolTitle')} keys={t('enrolKeys')}>
      <Text>{t('enrolExplain')}</Text>
      {named ? (
        <Text>
          {t('enrolFromStick')} {named.url}
        </Text>
      ) : null}
      <Box flexDirection="column" marginTop={1}>
        {field('url', t('enrolUrlLabel'))}
        {field('pin', t('enrolPinLabel'))}
        {field('token', t('enrolTokenLabel'))}
      </Box>
      {busy ? <Progress label={t('working')} /> : null}
      {error ? <ErrorNotice error={error} /> : null}
    </Screen>
  );
}
