// The inbox: one line per message (unread mark, date, sender, exposure as symbol and
// word, subject), the sync state and the outbox count; fits 80x24 (docs/ui.md §4).
// Only the visible page is opened (listInbox with offset and limit): 200 or 10,000
// messages cost the same to draw; moving past the page's edge opens the next one.
import { Box, Text } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import { isCaliopError } from '../../errors.js';
import { deleteMessage } from '../../service/mail-read.js';
import { syncMailbox } from '../../service/mail-sync.js';
import { listInbox, type InboxEntry } from '../../service/mailbox-view.js';
import type { StickSession } from '../../service/stick-session.js';
import { ErrorNotice, describeError } from '../components/ErrorNotice.js';
import { LEVEL_COLOURS } from '../components/ExposureLabel.js';
import { exposureListLabel, LIST_NAME_WIDTH } from '../../core/exposure-text.js';
import { fitAddressList, fitSender } from '../../core/mailbox-fit.js';
import { Screen } from '../components/Screen.js';
import { isNo, isYes } from '../keys.js';
import { sealedReasonText } from '../i18n/index.js';
import { useText } from '../use-text.js';
import { useKeys } from '../key-queue.js';
import { safeForTerminal } from '../../terminal-text.js';

export type InboxAction = 'compose' | 'contacts' | 'outbox' | 'stick' | 'settings' | 'quit' | 'ask-quit';
/** Where the inbox is: the selected row and the first row on screen (indexes, newest first); kept by the App across reading. */
export interface InboxPlace {
  readonly selected: number;
  readonly first: number;
}
export const INBOX_TOP: InboxPlace = { selected: 0, first: 0 };

export type SyncState = { kind: 'never' } | { kind: 'syncing' } | { kind: 'done'; at: Date; received: number } | { kind: 'failed'; error: unknown };

const VISIBLE_ROWS = 14;
// One row, 80 columns: '›*' + ' ' + date (5) + ' ' + who (21) + ' ' + exposure (4 + 1 + 24) + ' ' + subject (19).
const WHO_COLUMNS = 21;
const EXPOSURE_COLUMNS = 5 + LIST_NAME_WIDTH;
const SUBJECT_COLUMNS = 80 - 3 - 6 - (WHO_COLUMNS + 1) - (EXPOSURE_COLUMNS + 1);

function fit(text: string, width: number): string {
  const points = [...text];
  return points.length > width ? `${points.slice(0, width - 1).join('')}…` : text + ' '.repeat(width - points.length);
}

/** Today's messages show their time, older ones their day (MM-DD), as the stored UTC date says. */
function shortDate(iso: string, now: Date): string {
  return iso.slice(0, 10) === now.toISOString().slice(0, 10) ? iso.slice(11, 16) : iso.slice(5, 10);
}

export function InboxScreen({
  session,
  onRead,
  onAction,
  sync,
  setSync,
  place: view,
  setPlace: setView,
}: {
  session: StickSession;
  onRead: (id: string) => void;
  onAction: (action: InboxAction) => void;
  sync: SyncState;
  setSync: (state: SyncState) => void;
  place: InboxPlace;
  setPlace: (update: (current: InboxPlace) => InboxPlace) => void;
}) {
  const { t, language } = useText();
  const [error, setError] = useState<unknown>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [deleted, setDeleted] = useState<string | null>(null);
  // Opened messages by index, for the current version of the list (a sync or a delete starts a new one).
  const cache = useRef<{ version: number; entries: Map<number, InboxEntry> }>({ version: 0, entries: new Map() });
  const [version, setVersion] = useState(0);
  const [, setOpened] = useState(0);

  const count = session.store.count;
  const first = Math.max(0, Math.min(view.first, count - VISIBLE_ROWS));
  const selected = Math.min(view.selected, Math.max(0, count - 1));
  const load = useCallback(() => setVersion((current) => current + 1), []);
  if (cache.current.version !== version) cache.current = { version, entries: new Map() };
  const wanted = Array.from({ length: Math.max(0, Math.min(VISIBLE_ROWS, count - first)) }, (_, index) => first + index);
  const missing = wanted.filter((index) => !cache.current.entries.has(index));
  useEffect(() => {
    if (missing.length === 0) return;
    const { version: asked, entries: into } = cache.current;
    const offset = missing[0]!;
    listInbox(session, { offset, limit: missing[missing.length - 1]! - offset + 1 }).then((page) => {
      if (cache.current.version !== asked) return;
      page.forEach((entry, index) => into.set(offset + index, entry));
      setOpened((opened) => opened + 1);
    }, setError);
  }, [session, version, first, missing.length]);
  // The rows drawn are the ones asked for; until they are open, keys wait (the KeyQueue keeps them).
  const entries = missing.length === 0 ? wanted.map((index) => cache.current.entries.get(index)!) : null;
  const selectedEntry = entries?.[selected - first];
  const moveTo = (target: number) =>
    setView((current) => {
      const next = Math.max(0, Math.min(target, count - 1));
      const top = next < current.first ? next : next >= current.first + VISIBLE_ROWS ? next - VISIBLE_ROWS + 1 : current.first;
      return { selected: next, first: Math.max(0, top) };
    });

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
    if (deleting !== null) {
      // docs/limits.md §3.4: D deletes the selected message, after a yes.
      if (isYes(input)) {
        const id = deleting;
        deleteMessage(session, id).then(() => {
          setDeleted(id);
          setView((current) => ({ ...current, selected: Math.max(0, Math.min(current.selected, count - 2)) }));
          load();
        }, setError);
      }
      if (isYes(input) || isNo(input) || key.escape) setDeleting(null);
      return;
    }
    if (key.upArrow) moveTo(selected - 1);
    else if (key.downArrow) moveTo(selected + 1);
    else if (key.pageUp) moveTo(selected - VISIBLE_ROWS);
    else if (key.pageDown) moveTo(selected + VISIBLE_ROWS);
    else if (key.home) moveTo(0);
    else if (key.end) moveTo(count - 1);
    else if (key.return && selectedEntry) onRead(selectedEntry.id);
    else if (/^r$/i.test(input) && sync.kind !== 'syncing') runSync();
    else if (/^n$/i.test(input)) onAction('compose');
    else if (/^c$/i.test(input)) onAction('contacts');
    else if (/^o$/i.test(input)) onAction('outbox');
    else if (/^k$/i.test(input)) onAction('stick');
    else if (/^s$/i.test(input)) onAction('settings');
    else if (/^d$/i.test(input) && selectedEntry) setDeleting(selectedEntry.id);
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
  const shown = entries ?? [];
  const now = new Date();
  return (
    <Screen title={`${t('inboxTitle')} — ${session.contents.identity.email}`} keys={t('inboxKeys')} status={status}>
      {entries && count === 0 ? <Text>{t('inboxEmpty')}</Text> : null}
      {shown.map((entry, index) => {
        const isSelected = first + index === selected;
        // docs/ui.md §4: whole addresses where they fit; names are cut before addresses.
        const who =
          entry.direction === 'out'
            ? fitAddressList(t('inboxTo', { to: '' }), entry.to.map((address) => safeForTerminal(address)), WHO_COLUMNS)
            : fitSender(safeForTerminal(entry.from), entry.fromUnproven && { claimed: safeForTerminal(entry.fromUnproven.claimed), outer: entry.fromUnproven.outer === null ? null : safeForTerminal(entry.fromUnproven.outer) }, WHO_COLUMNS);
        return (
          <Box key={entry.id}>
            <Text inverse={isSelected} wrap="truncate">
              {isSelected ? '›' : ' '}
              {entry.unread ? '*' : ' '} {shortDate(entry.date, now)} {who}{' '}
            </Text>
            <Text color={LEVEL_COLOURS[entry.exposure.level]} bold={entry.exposure.level === 'alarm'} wrap="truncate">
              {fit(exposureListLabel(entry.exposure, language), EXPOSURE_COLUMNS)}
            </Text>
            <Text inverse={isSelected} bold={entry.unread} wrap="truncate">
              {' '}
              {fit(safeForTerminal(entry.subject), SUBJECT_COLUMNS)}
            </Text>
          </Box>
        );
      })}
      {count > VISIBLE_ROWS ? <Text dimColor>{t('inboxPosition', { first: first + 1, last: first + shown.length, count })}</Text> : null}
      {selectedEntry?.sealed ? <Text color="yellow">{t('inboxSealed', { reason: sealedReasonText(t, selectedEntry.sealed.reason) })}</Text> : null}
      {deleting !== null ? <Text color="yellow">{t('inboxDeleteConfirm', { id: deleting })}</Text> : null}
      {deleted !== null && deleting === null ? <Text>{t('inboxDeleted', { id: deleted })}</Text> : null}
      {sync.kind === 'failed' && !isCaliopError(sync.error, 'relay_unreachable') ? <ErrorNotice error={sync.error} /> : null}
      {sync.kind === 'failed' && isCaliopError(sync.error, 'relay_unreachable') ? <Text color="yellow">{describeError(sync.error, language).hint}</Text> : null}
      {error ? <ErrorNotice error={error} /> : null}
    </Screen>
  );
}
