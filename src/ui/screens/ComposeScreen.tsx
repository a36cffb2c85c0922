// Compose: recipients with the live per-recipient exposure (docs/exposure.md §2.3),
// an explicit confirmation before anything leaves Caliop readable, the outbox when
// the relay cannot be reached.
import { homedir } from 'node:os';
import { Box, Text } from 'ink';
import { useRef, useState } from 'react';
import { reasonLine } from '../../core/exposure-text.js';
import { readAttachmentsToSend } from '../../service/attachments.js';
import { sendMessage, type SendDecision } from '../../service/mail-send.js';
import { assessRecipients, exposedRecipients, type SendAssessment } from '../../service/send-preview.js';
import type { StickSession } from '../../service/stick-session.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { ExposureLabel } from '../components/ExposureLabel.js';
import { Progress } from '../components/Progress.js';
import { Screen } from '../components/Screen.js';
import { TextField } from '../components/TextField.js';
import { isNo, isYes } from '../keys.js';
import { useText } from '../use-text.js';
import { useKeys } from '../key-queue.js';

// docs/ui.md §3.2: the files come after the message, reached by Tab (Enter in the body is a new line).
const FIELDS = ['to', 'subject', 'body', 'attach'] as const;

function addressesOf(text: string): string[] {
  return text
    .split(/[,;\s]+/)
    .map((address) => address.trim())
    .filter((address) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(address));
}

/** What is typed in Compose; kept by the App when Esc leaves the screen (docs/ui.md §6). */
export interface Draft {
  readonly to: string;
  readonly subject: string;
  /** docs/ui.md §3.3: paths of files to attach, separated by `;`, read when the message is sent. */
  readonly attach: string;
  readonly body: string;
}
export const EMPTY_DRAFT: Draft = { to: '', subject: '', attach: '', body: '' };

/** Something typed in Compose and not sent: quitting would lose it (docs/ui.md §6). */
export function hasDraft(draft: Draft): boolean {
  return draft.to.trim() !== '' || draft.subject.trim() !== '' || draft.attach.trim() !== '' || draft.body.trim() !== '';
}

/** The paths typed in the attach field; `~/` is the user's home, as a shell would read it. */
export function attachPaths(text: string): string[] {
  return text
    .split(';')
    .map((path) => path.trim())
    .filter((path) => path !== '')
    .map((path) => (path === '~' ? homedir() : path.startsWith('~/') ? `${homedir()}${path.slice(1)}` : path));
}

export function ComposeScreen({ session, draft, setDraft, onDone }: { session: StickSession; draft: Draft; setDraft: (update: (current: Draft) => Draft) => void; onDone: () => void }) {
  const { t, language } = useText();
  const values = draft;
  const setValues = setDraft;
  const [focus, setFocus] = useState<(typeof FIELDS)[number]>('to');
  const [phase, setPhase] = useState<{ kind: 'editing' } | { kind: 'confirm'; exposed: string[] } | { kind: 'sending' } | { kind: 'sent'; queued: boolean }>({ kind: 'editing' });
  const [error, setError] = useState<unknown>(null);
  const confirmation = useRef<((send: boolean) => void) | null>(null);

  const addresses = addressesOf(values.to);
  let preview: SendAssessment | null = null;
  try {
    preview = addresses.length > 0 ? assessRecipients(session, addresses) : null;
  } catch {
    preview = null;
  }

  const send = () => {
    setError(null);
    setPhase({ kind: 'sending' });
    // The same reading of the named files as `caliop send --attach` (docs/cli.md §3.11).
    readAttachmentsToSend(attachPaths(values.attach)).then((attachments) => sendMessage(session, {
      to: addresses,
      subject: values.subject,
      body: values.body,
      attachments,
      now: new Date(),
      beforeSend: (assessment) => {
        const exposed = exposedRecipients(assessment);
        if (exposed.length === 0) return true;
        return new Promise<SendDecision>((resolve) => {
          confirmation.current = (yes) => resolve(yes ? 'allow-exposed' : false);
          setPhase({ kind: 'confirm', exposed });
        });
      },
    })).then(
      (report) => {
        setDraft(() => EMPTY_DRAFT);
        setPhase({ kind: 'sent', queued: report.queued });
      },
      (failure: unknown) => {
        setError(failure);
        setPhase({ kind: 'editing' });
      },
    );
  };

  useKeys((input, key) => {
    if (phase.kind === 'confirm') {
      const resolve = confirmation.current;
      if (isYes(input)) {
        confirmation.current = null;
        setPhase({ kind: 'sending' });
        resolve?.(true);
      } else if (isNo(input) || key.escape) {
        confirmation.current = null;
        resolve?.(false);
      }
      return;
    }
    if (phase.kind === 'sent') {
      if (key.return || key.escape) onDone();
      return;
    }
    if (phase.kind !== 'editing') return;
    if (key.escape) onDone();
    else if (key.tab) setFocus((current) => FIELDS[(FIELDS.indexOf(current) + (key.shift ? FIELDS.length - 1 : 1)) % FIELDS.length]!);
    else if (key.ctrl && input === 's' && addresses.length > 0) send();
  });

  if (phase.kind === 'confirm') {
    return (
      <Screen title={t('composeConfirmTitle')} keys={t('composeConfirmKeys')}>
        <Text color="red">⚠ {t('composeConfirmExplain', { addresses: phase.exposed.join(', ') })}</Text>
      </Screen>
    );
  }
  if (phase.kind === 'sent') {
    return (
      <Screen title={t('composeTitle')} keys={t('keysContinue')}>
        <Text color={phase.queued ? 'yellow' : 'green'}>{phase.queued ? t('composeQueued') : `✓ ${t('composeSent')}`}</Text>
      </Screen>
    );
  }
  // 80×24 (issue 16): the rows the body may take, what the other lines leave of 24: the title
  // and the blank under it, the fields' lines, the keys line, the exposure preview, an error.
  // A reason line wraps in the 74 columns its indent leaves.
  const reasonRows = (text: string) => Math.max(1, Math.ceil([...text].length / 74));
  const previewRows =
    preview === undefined || preview === null
      ? 0
      : 1 + preview.perRecipient.reduce((rows, { assessment }) => rows + 1 + assessment.reasons.filter((reason) => reason.decisive).reduce((sum, reason) => sum + reasonRows(reasonLine(reason, language)), 0), 0);
  // 7: title, blank, To, Subject, the body's label, Attach, keys; 1: the line counting the rows above.
  const bodyRows = Math.max(3, 24 - 7 - 1 - previewRows - (error ? 5 : 0) - (phase.kind === 'sending' ? 1 : 0));
  const field = (name: (typeof FIELDS)[number], label: string) => (
    <TextField
      label={label}
      value={values[name]}
      focus={phase.kind === 'editing' && focus === name}
      multiline={name === 'body'}
      {...(name === 'body' ? { maxRows: bodyRows } : {})}
      onChange={(value) => setValues((current) => ({ ...current, [name]: value }))}
      onSubmit={() => setFocus(FIELDS[FIELDS.indexOf(name) + 1] ?? 'body')}
    />
  );
  return (
    <Screen title={t('composeTitle')} keys={t('composeKeys')}>
      {field('to', t('composeTo'))}
      {preview ? (
        <Box flexDirection="column" marginLeft={2}>
          {preview.perRecipient.map(({ address, assessment }) => (
            <Box key={address} flexDirection="column">
              <Text>
                {address}: <ExposureLabel assessment={assessment} />
              </Text>
              {assessment.reasons
                .filter((reason) => reason.decisive)
                .map((reason) => (
                  <Box key={reason.code} marginLeft={4}>
                    <Text dimColor>{reasonLine(reason, language)}</Text>
                  </Box>
                ))}
            </Box>
          ))}
          <Text>
            {t('composeOverall', { label: '' })}
            <ExposureLabel assessment={preview.message} />
            {/* docs/exposure.md §5.2.1: the score the recipient's stick will show for the same message. */}
            {` (${preview.message.score}/100)`}
          </Text>
        </Box>
      ) : null}
      {field('subject', t('composeSubject'))}
      {field('body', t('composeBody'))}
      {field('attach', t('composeAttach'))}
      {phase.kind === 'sending' ? <Progress label={t('composeSending')} /> : null}
      {error ? <ErrorNotice error={error} /> : null}
    </Screen>
  );
}
