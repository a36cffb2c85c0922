// The inbox: one line per message (unread mark, date, sender, exposure as symbol and
// word, subject), the sync state and the outbox count; fits 80x24.
import { Box, Text } from 'ink';
import { useCallback, useEffect, useState } from 'react';
import { isCaliopError } from '../../errors.js';
import { deleteMessage } from '../../service/mail-read.js';
import { syncMailbox } from '../../service/mail-sync.js';
import { listInbox, type InboxEntry } from '../../service/mailbox-view.js';
import type { StickSession } from '../../service/stick-session.js';
import { ErrorNotice, describeError } from '../components/ErrorNotice.js';
import { ExposureLabel } from '../components/ExposureLabel.js';
import { Screen } from '../components/Screen.js';
import { isNo, isYes } from '../keys.js';
import { useText } from '../use-text.js';
import { useKeys } from '../key-queue.js';
import { safeForTerminal } from '../../core/terminal-text.js';

export type InboxAction = 'compose' | 'contacts' | 'stick' | 'settings' | 'quit' | 'ask-quit';
export type SyncState = { kind: 'never' } | { kind: 'syncing' } | { kind: 'done'; at: Date; received: number } | { kind: 'failed'; error: unknown };

const VISIBLE_ROWS = 14;

function fit(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

export function InboxScreen({
  session,
  onRead,
  onAction,
  sync,
  setSync,
}: {
  session: StickSession;
  onRead: (id: string) => void;
  onAction: (action: InboxAction) => void;
  sync: SyncState;
  setSync: (state: SyncState) => void;
}) {
  const { t, language } = useText();
  const [entries, setEntries] = useState<InboxEntry[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState(0);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [deleted, setDeleted] = useState<string | null>(null);

  const load = useCallback(() => {
    listInbox(session).then(setEntries, setError);
  }, [session]);
  useEffect(load, [load]);

  const runSync = () => {
    setSync({ kind: 'syncing' });
    syncMailbox(session, new Date()).then(
      (report) => {
        setSync({ kind: 'done', at: new Date(), received: report.received });
        load();
      },
      (failure: unknown) => setSync({ kind: 'failed', error: failure }),
    );
  };

  useKeys((input, key) => {
    const count = entries?.length ?? 0;
    if (deleting !== null) {
      // docs/limits.md §3.4: D deletes the selected message, after a yes.
      if (isYes(input)) {
        const id = deleting;
        deleteMessage(session, id).then(() => {
          setDeleted(id);
          setSelected((current) => Math.max(0, Math.min(current, count - 2)));
          load();
        }, setError);
      }
      if (isYes(input) || isNo(input) || key.escape) setDeleting(null);
      return;
    }
    if (key.upArrow) setSelected((current) => Math.max(0, current - 1));
    else if (key.downArrow) setSelected((current) => Math.min(Math.max(0, count - 1), current + 1));
    else if (key.return && entries && entries[selected]) onRead(entries[selected]!.id);
    else if (/^r$/i.test(input) && sync.kind !== 'syncing') runSync();
    else if (/^n$/i.test(input)) onAction('compose');
    else if (/^c$/i.test(input)) onAction('contacts');
    else if (/^k$/i.test(input)) onAction('stick');
    else if (/^s$/i.test(input)) onAction('settings');
    else if (/^d$/i.test(input) && entries && entries[selected]) setDeleting(entries[selected]!.id);
    else if (/^q$/i.test(input)) onAction('quit');
    else if (key.escape) onAction('ask-quit');
    // Keys typed before the list is drawn wait for it (Enter opens the first message).
  }, { isActive: entries !== null || error !== null });

  const syncText =
    sync.kind === 'never'
      ? t('inboxSyncNever')
      : sync.kind === 'syncing'
        ? t('inboxSyncing')
        : sync.kind === 'done'
          ? t('inboxSyncDone', { time: sync.at.toTimeString().slice(0, 5), received: sync.received })
          : isCaliopError(sync.error, 'relay_unreachable')
            ? t('inboxSyncOffline')
            : t('inboxSyncFailed');
  const status = `${syncText} · ${t('inboxOutbox', { count: session.contents.outbox.length })}`;
  const first = Math.max(0, Math.min(selected - VISIBLE_ROWS + 1, (entries?.length ?? 0) - VISIBLE_ROWS));
  const shown = (entries ?? []).slice(first, first + VISIBLE_ROWS);
  return (
    <Screen title={`${t('inboxTitle')} — ${session.contents.identity.email}`} keys={t('inboxKeys')} status={status}>
      {entries && entries.length === 0 ? <Text>{t('inboxEmpty')}</Text> : null}
      {shown.map((entry, index) => {
        const isSelected = first + index === selected;
        const who = safeForTerminal(entry.direction === 'out' ? t('inboxTo', { to: entry.to.join(', ') }) : entry.from);
        return (
          <Box key={entry.id}>
            <Text inverse={isSelected}>
              {isSelected ? '›' : ' '}
              {entry.unread ? '*' : ' '} {entry.date.slice(5, 16).replace('T', ' ')} {fit(who, 16)}{' '}
            </Text>
            <ExposureLabel assessment={entry.exposure} width={31} />
            <Text inverse={isSelected} bold={entry.unread}>
              {' '}
              {fit(safeForTerminal(entry.subject), 16)}
            </Text>
          </Box>
        );
      })}
      {entries?.[selected]?.sealed ? <Text color="yellow">{t('inboxSealed', { reason: entries[selected]!.sealed!.text })}</Text> : null}
      {deleting !== null ? <Text color="yellow">{t('inboxDeleteConfirm', { id: deleting })}</Text> : null}
      {deleted !== null && deleting === null ? <Text>{t('inboxDeleted', { id: deleted })}</Text> : null}
      {sync.kind === 'failed' && !isCaliopError(sync.error, 'relay_unreachable') ? <ErrorNotice error={sync.error} /> : null}
      {sync.kind === 'failed' && isCaliopError(sync.error, 'relay_unreachable') ? <Text color="yellow">{describeError(sync.error, language).hint}</Text> : null}
      {error ? <ErrorNotice error={error} /> : null}
    </Screen>
  );
}
