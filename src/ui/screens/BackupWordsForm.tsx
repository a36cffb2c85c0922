// Asks for the recovery words at a few positions, one at a time (docs/ceremony.md §8.3).
// `onBack`: Esc leaves it, nothing recorded (the Keys screen's W); the ceremony gives none.
import { Text } from 'ink';
import { useState } from 'react';
import { Screen } from '../components/Screen.js';
import { TextField } from '../components/TextField.js';
import { useKeys } from '../key-queue.js';
import { useText } from '../use-text.js';

export function BackupWordsForm({ positions, onDone, onBack }: { positions: readonly number[]; onDone: (answers: string[]) => void; onBack?: () => void }) {
  const { t } = useText();
  useKeys((_input, key) => {
    if (key.escape) onBack?.();
  });
  const [answers, setAnswers] = useState<string[]>([]);
  const [value, setValue] = useState('');
  const position = positions[answers.length] ?? positions[positions.length - 1]!;
  return (
    <Screen title={t('checkTitle')} keys={onBack === undefined ? t('keysContinue') : `${t('keysContinue')} · ${t('keysBack')}`}>
      <Text>{t('checkExplain', { position })}</Text>
      <TextField
        label={t('checkLabel', { position })}
        value={value}
        onChange={setValue}
        onSubmit={(word) => {
          if (word.trim() === '') return;
          const next = [...answers, word.trim()];
          setValue('');
          if (next.length === positions.length) onDone(next);
          else setAnswers(next);
        }}
      />
    </Screen>
  );
}
