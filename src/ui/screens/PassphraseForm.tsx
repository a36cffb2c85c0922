// A new passphrase typed twice, with the strength estimate live as it is typed
// (docs/ceremony.md §9.1: the same estimator the ceremony and `caliop passwd` use).
import { Box, Text } from 'ink';
import { useEffect, useState } from 'react';
import { assessPassphrase, type PassphraseAssessment } from '../../core/passphrase-strength.js';
import { TextField } from '../components/TextField.js';
import { useText } from '../use-text.js';

export function usePassphraseAssessment(passphrase: string, userInputs: readonly string[]): PassphraseAssessment | null {
  const [assessment, setAssessment] = useState<PassphraseAssessment | null>(null);
  const inputsKey = userInputs.join('\n');
  useEffect(() => {
    if (passphrase === '') {
      setAssessment(null);
      return;
    }
    let current = true;
    void assessPassphrase(passphrase, inputsKey.split('\n')).then((result) => {
      if (current) setAssessment(result);
    });
    return () => {
      current = false;
    };
  }, [passphrase, inputsKey]);
  return assessment;
}

export function StrengthLine({ assessment }: { assessment: PassphraseAssessment | null }) {
  const { t, language } = useText();
  if (!assessment) return <Text> </Text>;
  return (
    <Box flexDirection="column">
      <Text color={assessment.weak ? 'red' : 'green'}>
        {assessment.weak ? '✗ ' : '✓ '}
        {t('passStrength', { score: assessment.score, time: assessment.crackTimeText[language] })}
      </Text>
      {assessment.weak && assessment.warning ? <Text color="red">{assessment.warning[language]}</Text> : null}
    </Box>
  );
}

export function PassphraseForm({ userInputs, onDone, busy = false }: { userInputs: readonly string[]; onDone: (passphrase: string) => void; busy?: boolean }) {
  const { t } = useText();
  const [first, setFirst] = useState('');
  const [second, setSecond] = useState('');
  const [step, setStep] = useState<'first' | 'second'>('first');
  const [mismatch, setMismatch] = useState(false);
  const assessment = usePassphraseAssessment(first, userInputs);
  return (
    <Box flexDirection="column">
      <TextField
        label={t('passTypeLabel')}
        value={first}
        mask
        focus={!busy && step === 'first'}
        onChange={(value) => {
          setFirst(value);
          setMismatch(false);
        }}
        onSubmit={(value) => {
          if (value !== '') setStep('second');
        }}
      />
      <StrengthLine assessment={assessment} />
      {step === 'second' ? (
        <TextField
          label={t('passRepeatLabel')}
          value={second}
          mask
          focus={!busy}
          onChange={setSecond}
          onSubmit={(value) => {
            if (value === first) {
              onDone(value);
              return;
            }
            setMismatch(true);
            setFirst('');
            setSecond('');
            setStep('first');
          }}
        />
      ) : null}
      {mismatch ? <Text color="red">{t('passMismatch')}</Text> : null}
    </Box>
  );
}
