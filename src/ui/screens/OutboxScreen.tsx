// The outbox (docs/ui.md §3.6, docs/vault-contents.md §4): each waiting message with its
// state and the relay's reason; retry or drop one. The same services as `caliop outbox`.
import { Box, Text } from 'ink';
import { useState } from 'react';
import { safeForTerminal } from '../../terminal-text.js';
import { dropOutboxMessage, listOutbox, retryOutboxMessage } from '../../service/mail-outbox.js';
import type { StickSession } from '../../service/stick-session.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Progress } from '../components/Progress.js';
import { Screen } from '../components/Screen.js';
import { isNo, isYes } from '../keys.js';
import { useKeys } from '../key-queue.js';
import { useText } from '../use-text.js';
import { wrap } from './ReadScreen.js';

/** Messages shown at once: each takes up to five lines (the reason up to three), the screen is 24. */
const VISIBLE = 3;

type Mode = { kind: 'list' } | { kind: 'working' } | { kind: 'drop'; id: string };

export function OutboxScreen({ session, onBack }: { session: StickSession; onBack: () => void }) {
  const { t } = useText();
  const [entries, setEntries] = useState(() => listOutbox(session));
  const [selected, setSelected] = useState(0);
  const [mode, setMode] = useState<Mode>({ kind: 'list' });
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const current = entries[Math.min(selected, entries.length - 1)];

  const reload = () => {
    const next = listOutbox(session);
    setEntries(next);
    setSelected((index) => Math.max(0, Math.min(index, next.length - 1)));
  };
  const act = (work: Promise<unknown>, done: string) => {
    setError(null);
    setNotice(null);
    setMode({ kind: 'working' });
    work.then(
      () => setNotice(done),
      (failure: unknown) => setError(failure),
    ).finally(() => {
      reload();
      setMode({ kind: 'list' });
    });
  };

  useKeys((input, key) => {
    if (mode.kind === 'working') return;
    if (mode.kind === 'drop') {
      if (isYes(input)) act(dropOutboxMessage(session, mode.id), t('outboxDropped', { id: mode.id }));
      else if (isNo(input) || key.escape) setMode({ kind: 'list' });
      return;
    }
    if (key.escape || /^q$/i.test(input)) onBack();
    else if (key.upArrow) setSelected((index) => Math.max(0, index - 1));
    else if (key.downArrow) setSelected((index) => Math.min(entries.length - 1, index + 1));
    else if (/^r$/i.test(input) && current) act(retryOutboxMessage(session, current.id, new Date()), t('outboxRetried', { id: current.id }));
    else if (/^d$/i.test(input) && current) setMode({ kind: 'drop', id: current.id });
  });

  // An error or a notice takes room: one message fewer then.
  const visible = error || notice ? VISIBLE - 1 : VISIBLE;
  const first = Math.max(0, Math.min(selected - visible + 1, entries.length - visible));
  return (
    <Screen title={t('outboxTitle')} keys={mode.kind === 'drop' ? t('outboxDropConfirmKeys', { id: mode.id }) : t('outboxKeys')} status={entries.length > visible ? `${selected + 1}/${entries.length}` : ''}>
      {entries.length === 0 ? <Text>{t('outboxEmpty')}</Text> : null}
      {entries.slice(first, first + visible).map((entry) => {
        const chosen = entry === current;
        const state = entry.state === 'failed' ? t('outboxFailed') : t('outboxQueued');
        const head = `${chosen ? '›' : ' '} ${entry.id.padStart(3)}  ${state}  ${entry.createdAt.slice(0, 16).replace('T', ' ')}  ${safeForTerminal(entry.to.join(', '))}`;
        return (
          <Box key={entry.id} flexDirection="column">
            <Text bold={chosen} {...(entry.state === 'failed' ? { color: 'red' } : {})}>
              {head.length > 78 ? `${head.slice(0, 77)}…` : head}
            </Text>
            <Text>{`      ${safeForTerminal(entry.subject)}`.slice(0, 78)}</Text>
            {entry.reason
              ? wrap(t(entry.state === 'failed' ? 'outboxRefused' : 'outboxLastTry', { reason: safeForTerminal(entry.reason) }), 72, '  ')
                  .slice(0, 3)
                  .map((line, index) => (
                    <Text key={index} dimColor>
                      {`      ${line}`}
                    </Text>
                  ))
              : null}
          </Box>
        );
      })}
      {mode.kind === 'working' ? <Progress label={t('outboxWorking')} /> : null}
      {notice ? <Text color="green">✓ {notice}</Text> : null}
      {error ? <ErrorNotice error={error} /> : null}
    </Screen>
  );
}
