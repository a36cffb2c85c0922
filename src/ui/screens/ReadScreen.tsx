// One message: headers, its exposure level and every reason in plain words, the body.
// Everything scrolls as one page so that it fits 80x24 however many reasons there are.
import { homedir } from 'node:os';
import { Box, Text } from 'ink';
import { useEffect, useState } from 'react';
import type { ExposureLevel } from '../../core/exposure.js';
import { exposureLabel, reasonLine } from '../../core/exposure-text.js';
import { senderLine } from '../../core/mailbox-fit.js';
import { AttachmentsExistError, saveAttachments, type SavedAttachment } from '../../service/attachments.js';
import { readOne, type MessageView } from '../../service/mailbox-view.js';
import type { StickSession } from '../../service/stick-session.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Progress } from '../components/Progress.js';
import { TextField } from '../components/TextField.js';
import { isNo, isYes } from '../keys.js';
import { isCaliopError } from '../../errors.js';
import { LEVEL_COLOURS } from '../components/ExposureLabel.js';
import { Screen } from '../components/Screen.js';
import { sealedReasonText, type Translate } from '../i18n/index.js';
import { useText } from '../use-text.js';
import { useKeys } from '../key-queue.js';
import { safeForTerminal } from '../../terminal-text.js';

export const PAGE_ROWS = 18;
const WIDTH = 78;
/** The attachments listed by name on the save screen (80x24); past them a line says how many more (their numbers can still be typed). */
const LISTED_ATTACHMENTS = 8;

/** Word wrap at `width` columns; a continuation line is indented by `indent`. */
export function wrap(text: string, width: number, indent = ''): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      if (line !== '' && `${line} ${word}`.length > width) {
        lines.push(line);
        line = `${indent}${word}`;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    lines.push(line);
  }
  return lines;
}

interface Row {
  readonly text: string;
  readonly colour?: string;
  readonly bold?: boolean;
}

export function rowsOf(view: MessageView, t: Translate, language: 'en' | 'fr'): Row[] {
  const level: ExposureLevel = view.exposure.level;
  return [
    // docs/exposure.md §4.1.1: an unproven From is said so, in the reader's language, the sender the relay vouches for first.
    ...wrap(t('labelled', { label: t('readFrom'), value: safeForTerminal(view.fromUnproven === null ? view.from : senderLine(view.from, view.fromUnproven, (claimed, outer) => (outer === null ? t('fromUnprovenAlone', { claimed }) : t('fromUnprovenBeside', { claimed, outer })))) }), WIDTH).map((text) => ({ text, ...(view.fromUnproven === null ? {} : { colour: 'yellow', bold: true }) })),
    ...wrap(t('labelled', { label: t('readTo'), value: safeForTerminal(view.to.join(', ')) }), WIDTH).map((text) => ({ text })),
    { text: t('labelled', { label: t('readDate'), value: safeForTerminal(view.date.slice(0, 16).replace('T', ' ')) }) },
    { text: t('labelled', { label: t('readExposure'), value: `${exposureLabel(view.exposure, language)} (${view.exposure.score}/100)` }), colour: LEVEL_COLOURS[level], bold: true },
    { text: t('readWhy') },
    ...view.exposure.reasons.flatMap((reason) => wrap(`  - ${safeForTerminal(reasonLine(reason, language))}`, WIDTH, '    ').map((text) => ({ text }))),
    // docs/message-payload.md §4.5: the text's charset was a guess.
    ...(view.charsetGuess === null ? [] : wrap(t('readCharsetGuess', { charset: view.charsetGuess }), WIDTH, '  ').map((text) => ({ text }))),
    // docs/ui.md: the attachments, numbered as `caliop read --json` numbers them.
    ...(view.attachments.length === 0
      ? []
      : [
          { text: t('labelOnly', { label: t('readAttached') }), bold: true },
          ...view.attachments.flatMap((attachment) =>
            wrap(`  ${t('readAttachmentLine', { index: String(attachment.index), name: safeForTerminal(attachment.name || '-'), type: attachment.type, size: String(attachment.size) })}`, WIDTH, '    ').map((text) => ({ text })),
          ),
          ...wrap(`  ${t('readAttachmentSave')}`, WIDTH, '    ').map((text) => ({ text })),
        ]),
    { text: '' },
    ...wrap(view.sealed ? t('readSealed', { reason: sealedReasonText(t, view.sealed.reason) }) : view.body === null ? t('readUndecryptable') : safeForTerminal(view.body, { multiline: true }).replace(/\t/gu, '    '), WIDTH).map((text) => ({ text })),
  ];
}

/** docs/ui.md §3.2: saving attachments, as `caliop read ID --save-attachments DIR [--attachment N] [--force]`. */
type Saving =
  | { kind: 'none' }
  | { kind: 'form'; which: string; folder: string; focus: 'which' | 'folder' }
  | { kind: 'working'; which: string; folder: string }
  | { kind: 'overwrite'; which: string; folder: string; names: readonly string[] }
  | { kind: 'saved'; folder: string; files: readonly SavedAttachment[] };

/** The folder as typed; `~/` is the user's home, as a shell would read it. */
function typedFolder(folder: string): string {
  const trimmed = folder.trim();
  return trimmed === '~' ? homedir() : trimmed.startsWith('~/') ? `${homedir()}${trimmed.slice(1)}` : trimmed;
}

export function ReadScreen({ session, id, onBack }: { session: StickSession; id: string; onBack: () => void }) {
  const { t, language } = useText();
  const [view, setView] = useState<MessageView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [scroll, setScroll] = useState(0);
  const [saving, setSaving] = useState<Saving>({ kind: 'none' });
  const [saveError, setSaveError] = useState<unknown>(null);
  useEffect(() => {
    readOne(session, id).then(setView, setError);
  }, [session, id]);
  const rows = view ? rowsOf(view, t, language) : [];
  const last = Math.max(0, rows.length - PAGE_ROWS);
  const save = (which: string, folder: string, force: boolean) => {
    setSaveError(null);
    setSaving({ kind: 'working', which, folder });
    const index = which.trim() === '' ? undefined : Number(which.trim());
    saveAttachments(session, id, { folder: typedFolder(folder), ...(index === undefined ? {} : { index }), force }).then(
      (files) => setSaving({ kind: 'saved', folder: typedFolder(folder), files }),
      (failure: unknown) => {
        // Never over an existing file without asking (docs/message-payload.md §5.2: --force).
        if (isCaliopError(failure, 'file_exists') && !force) setSaving({ kind: 'overwrite', which, folder, names: failure instanceof AttachmentsExistError ? failure.names : [] });
        else setSaving({ kind: 'form', which, folder, focus: 'folder' });
        setSaveError(failure);
      },
    );
  };
  useKeys((input, key) => {
    if (saving.kind === 'working') return;
    if (saving.kind === 'saved') {
      if (key.return || key.escape) setSaving({ kind: 'none' });
      return;
    }
    if (saving.kind === 'overwrite') {
      if (isYes(input)) save(saving.which, saving.folder, true);
      else if (isNo(input) || key.escape) setSaving({ kind: 'form', which: saving.which, folder: saving.folder, focus: 'folder' });
      return;
    }
    if (saving.kind === 'form') {
      if (key.escape) {
        setSaving({ kind: 'none' });
        setSaveError(null);
      } else if (key.tab) setSaving({ ...saving, focus: saving.focus === 'which' ? 'folder' : 'which' });
      return;
    }
    if (key.escape || /^q$/i.test(input)) onBack();
    else if (/^s$/i.test(input) && view && view.attachments.length > 0) {
      setSaveError(null);
      setSaving({ kind: 'form', which: '', folder: '', focus: 'which' });
    } else if (key.upArrow) setScroll((current) => Math.max(0, current - 1));
    else if (key.downArrow) setScroll((current) => Math.min(last, current + 1));
    else if (key.pageDown || input === ' ') setScroll((current) => Math.min(last, current + PAGE_ROWS - 1));
    else if (key.pageUp) setScroll((current) => Math.max(0, current - PAGE_ROWS + 1));
  });
  if (error) {
    return (
      <Screen title={t('errorTitle')} keys={t('keysBack')}>
        <ErrorNotice error={error} />
      </Screen>
    );
  }
  if (!view) {
    return (
      <Screen title={t('working')} keys={t('keysBack')}>
        <Text> </Text>
      </Screen>
    );
  }
  if (saving.kind !== 'none') {
    const count = view.attachments.length;
    const keys = saving.kind === 'overwrite' ? t('readSaveOverwriteKeys') : saving.kind === 'saved' ? t('readSaveDoneKeys') : t('readSaveKeys');
    return (
      <Screen title={t('readSaveTitle', { count: String(count) })} keys={keys}>
        {view.attachments.slice(0, LISTED_ATTACHMENTS).map((attachment) => (
          <Text key={attachment.index}>{`  ${t('readAttachmentLine', { index: String(attachment.index), name: safeForTerminal(attachment.name || '-'), type: attachment.type, size: String(attachment.size) })}`.slice(0, 78)}</Text>
        ))}
        {count > LISTED_ATTACHMENTS ? <Text dimColor>{`  ${t('readAttachmentsMore', { count: String(count - LISTED_ATTACHMENTS), last: String(count) })}`}</Text> : null}
        <Text> </Text>
        {saving.kind === 'saved' ? (
          <Box flexDirection="column">
            <Text color="green">✓ {t('readSaved', { count: String(saving.files.length), folder: safeForTerminal(saving.folder) })}</Text>
            {saving.files.slice(0, LISTED_ATTACHMENTS).map((file) => (
              <Text key={file.index}>{`  ${safeForTerminal(file.name)} (${file.size})`.slice(0, 78)}</Text>
            ))}
            {saving.files.length > LISTED_ATTACHMENTS ? <Text dimColor>{`  ${t('readSavedMore', { count: String(saving.files.length - LISTED_ATTACHMENTS) })}`}</Text> : null}
          </Box>
        ) : (
          <Box flexDirection="column">
            <TextField
              label={t('readSaveWhich')}
              value={saving.which}
              focus={saving.kind === 'form' && saving.focus === 'which'}
              onChange={(which) => setSaving((current) => (current.kind === 'form' ? { ...current, which } : current))}
              onSubmit={() => setSaving((current) => (current.kind === 'form' ? { ...current, focus: 'folder' } : current))}
            />
            <TextField
              label={t('readSaveFolder')}
              value={saving.folder}
              focus={saving.kind === 'form' && saving.focus === 'folder'}
              onChange={(folder) => setSaving((current) => (current.kind === 'form' ? { ...current, folder } : current))}
              onSubmit={(folder) => {
                if (saving.kind === 'form' && folder.trim() !== '') save(saving.which, folder, false);
              }}
            />
            {saving.kind === 'working' ? <Progress label={t('readSaving')} /> : null}
            {saving.kind === 'overwrite' ? (
              <Text color="yellow">{saving.names.length > 0 ? t('readSaveOverwriteNamed', { names: safeForTerminal(saving.names.join(', ')).slice(0, 120) }) : t('readSaveOverwrite')}</Text>
            ) : null}
          </Box>
        )}
        {saveError && saving.kind !== 'overwrite' ? <ErrorNotice error={saveError} /> : null}
      </Screen>
    );
  }
  const more = scroll < last ? ` ↓ ${rows.length - scroll - PAGE_ROWS}` : '';
  return (
    <Screen title={view.subject.slice(0, 60)} keys={view.attachments.length > 0 ? t('readKeysAttachments') : t('readKeys')} status={more}>
      <Box flexDirection="column">
        {rows.slice(scroll, scroll + PAGE_ROWS).map((row, index) => (
          <Text key={scroll + index} {...(row.colour ? { color: row.colour } : {})} bold={row.bold === true}>
            {row.text === '' ? ' ' : row.text}
          </Text>
        ))}
      </Box>
    </Screen>
  );
}
