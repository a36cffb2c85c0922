// One message: headers, its exposure level and every reason in plain words, the body.
// Everything scrolls as one page so that it fits 80x24 however many reasons there are.
import { Box, Text } from 'ink';
import { useEffect, useState } from 'react';
import type { ExposureLevel } from '../../core/exposure.js';
import { exposureLabel, reasonLine } from '../../core/exposure-text.js';
import { readOne, type MessageView } from '../../service/mailbox-view.js';
import type { StickSession } from '../../service/stick-session.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { LEVEL_COLOURS } from '../components/ExposureLabel.js';
import { Screen } from '../components/Screen.js';
import type { Translate } from '../i18n/index.js';
import { useText } from '../use-text.js';
import { useKeys } from '../key-queue.js';
import { safeForTerminal } from '../../core/terminal-text.js';

export const PAGE_ROWS = 18;
const WIDTH = 78;

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

function rowsOf(view: MessageView, t: Translate, language: 'en' | 'fr'): Row[] {
  const level: ExposureLevel = view.exposure.level;
  return [
    ...wrap(`${t('readFrom')}: ${safeForTerminal(view.from)}`, WIDTH).map((text) => ({ text })),
    ...wrap(`${t('readTo')}: ${safeForTerminal(view.to.join(', '))}`, WIDTH).map((text) => ({ text })),
    { text: `${t('readDate')}: ${safeForTerminal(view.date.slice(0, 16).replace('T', ' '))}` },
    { text: `${t('readExposure')}: ${exposureLabel(view.exposure, language)} (${view.exposure.score}/100)`, colour: LEVEL_COLOURS[level], bold: true },
    { text: t('readWhy') },
    ...view.exposure.reasons.flatMap((reason) => wrap(`  - ${safeForTerminal(reasonLine(reason, language))}`, WIDTH, '    ').map((text) => ({ text }))),
    // docs/ui.md: the attachments, numbered as `caliop read --json` numbers them.
    ...(view.attachments.length === 0
      ? []
      : [
          { text: `${t('readAttached')}:`, bold: true },
          ...view.attachments.flatMap((attachment) =>
            wrap(`  ${t('readAttachmentLine', { index: String(attachment.index), name: safeForTerminal(attachment.name || '-'), type: attachment.type, size: String(attachment.size) })}`, WIDTH, '    ').map((text) => ({ text })),
          ),
          ...wrap(`  ${t('readAttachmentSave', { id: view.id })}`, WIDTH, '    ').map((text) => ({ text })),
        ]),
    { text: '' },
    ...wrap(view.sealed ? t('readSealed', { reason: view.sealed.text }) : view.body === null ? t('readUndecryptable') : safeForTerminal(view.body, { multiline: true }).replace(/\t/gu, '    '), WIDTH).map((text) => ({ text })),
  ];
}

export function ReadScreen({ session, id, onBack }: { session: StickSession; id: string; onBack: () => void }) {
  const { t, language } = useText();
  const [view, setView] = useState<MessageView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [scroll, setScroll] = useState(0);
  useEffect(() => {
    readOne(session, id).then(setView, setError);
  }, [session, id]);
  const rows = view ? rowsOf(view, t, language) : [];
  const last = Math.max(0, rows.length - PAGE_ROWS);
  useKeys((input, key) => {
    if (key.escape || /^q$/i.test(input)) onBack();
    else if (key.upArrow) setScroll((current) => Math.max(0, current - 1));
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
  const more = scroll < last ? ` ↓ ${rows.length - scroll - PAGE_ROWS}` : '';
  return (
    <Screen title={view.subject.slice(0, 60)} keys={t('readKeys')} status={more}>
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
