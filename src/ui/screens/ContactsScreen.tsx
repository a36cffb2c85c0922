// Contacts: verification state; in-person check by the fingerprint and its words
// (src/core/fingerprint-words.ts); a changed key is an alarm with both keys shown.
import { Box, Text } from 'ink';
import { useState } from 'react';
import { fingerprintNumbers, fingerprintWords } from '../../core/fingerprint-words.js';
import type { Contact } from '../../core/vault-contents.js';
import { CaliopError } from '../../errors.js';
import { acceptContactChange, importContacts, removeContact, verifyContact } from '../../service/contacts.js';
import { formatFingerprint } from '../../service/pgp.js';
import type { StickSession } from '../../service/stick-session.js';
import { readUserFile } from '../../service/user-files.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Screen } from '../components/Screen.js';
import { TextField } from '../components/TextField.js';
import { isNo, isYes } from '../keys.js';
import { useText } from '../use-text.js';
import { useKeys } from '../key-queue.js';
import { safeForTerminal } from '../../terminal-text.js';

type Mode = { kind: 'list' } | { kind: 'import'; path: string } | { kind: 'remove'; address: string } | { kind: 'verify'; address: string };

/** docs/ui.md §3: the words in this stick's language, and the numbers that are the same in every language. */
export function KeyWords({ fingerprint }: { fingerprint: string }) {
  const { t, language } = useText();
  return (
    <Box flexDirection="column" marginLeft={2}>
      <Text>
        {t('verifyWords')} <Text bold>{fingerprintWords(fingerprint, language).join(' ')}</Text>
      </Text>
      <Text>
        {t('verifyNumbers')} <Text bold>{fingerprintNumbers(fingerprint).join(' ')}</Text>
      </Text>
      <Text>
        {t('verifyFingerprint')} {formatFingerprint(fingerprint)}
      </Text>
    </Box>
  );
}

export function ContactsScreen({ session, onBack }: { session: StickSession; onBack: () => void }) {
  const { t } = useText();
  const [mode, setMode] = useState<Mode>({ kind: 'list' });
  const [selected, setSelected] = useState(0);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const contacts = session.contents.contacts;
  const current: Contact | undefined = contacts[selected];

  const act = <T,>(work: Promise<T>, success: (value: T) => string) => {
    setError(null);
    setNotice(null);
    work.then(
      (value) => {
        setNotice(success(value));
        setMode({ kind: 'list' });
        setSelected((index) => Math.min(index, Math.max(0, session.contents.contacts.length - 1)));
      },
      (failure: unknown) => {
        setError(failure);
        setMode({ kind: 'list' });
      },
    );
  };

  useKeys(
    (input, key) => {
      if (mode.kind === 'remove') {
        if (isYes(input)) act(removeContact(session, mode.address), () => '');
        else if (isNo(input) || key.escape) setMode({ kind: 'list' });
        return;
      }
      if (mode.kind === 'verify') {
        const contact = contacts.find((candidate) => candidate.address === mode.address);
        if (!contact) return;
        const shown = contact.changedCert?.fingerprint ?? contact.fingerprint;
        if (isYes(input)) act(verifyContact(session, contact.address, shown, new Date()), () => t('verifyDone', { address: safeForTerminal(contact.address) }));
        // docs/ui.md §3: A takes a changed key without meeting (it stays unverified; docs/cli.md §3.5).
        else if (contact.changedCert && /^a$/i.test(input)) act(acceptContactChange(session, contact.address, new Date()), () => t('alarmAccepted', { address: safeForTerminal(contact.address) }));
        else if (isNo(input)) {
          setError(new CaliopError('contact_key_changed', t('verifyDiffer')));
          setMode({ kind: 'list' });
        } else if (key.escape) setMode({ kind: 'list' });
        return;
      }
      if (mode.kind === 'import') {
        if (key.escape) setMode({ kind: 'list' });
        return;
      }
      if (key.escape) onBack();
      else if (key.upArrow) setSelected((index) => Math.max(0, index - 1));
      else if (key.downArrow) setSelected((index) => Math.min(Math.max(0, contacts.length - 1), index + 1));
      else if (key.return && current) setMode({ kind: 'verify', address: current.address });
      else if (/^i$/i.test(input)) setMode({ kind: 'import', path: '' });
      else if (/^d$/i.test(input) && current) setMode({ kind: 'remove', address: current.address });
    },
  );

  if (mode.kind === 'verify') {
    const contact = contacts.find((candidate) => candidate.address === mode.address)!;
    if (contact.changedCert) {
      return (
        <Screen title={t('alarmTitle', { address: safeForTerminal(contact.address) })} keys={t('alarmKeys')}>
          <Text color="red" bold>
            ⚠ {t('alarmExplain')}
          </Text>
          {contact.changedCert.announcedAt ? <Text>{t('alarmAnnounced', { date: contact.changedCert.announcedAt.slice(0, 10) })}</Text> : null}
          <Text>{t('alarmOld')}</Text>
          <KeyWords fingerprint={contact.fingerprint} />
          <Text color="red">{t('alarmNew')}</Text>
          <KeyWords fingerprint={contact.changedCert.fingerprint} />
          <Text bold>{t('alarmAdvice')}</Text>
          {/* docs/ui.md §3: yours too, to read to them when you meet. */}
          <Text bold>{t('verifyYours')}</Text>
          <KeyWords fingerprint={session.contents.identity.fingerprint} />
        </Screen>
      );
    }
    return (
      <Screen title={t('verifyTitle', { address: safeForTerminal(contact.address) })} keys={t('verifyKeys')}>
        <Text>{t('verifyExplain')}</Text>
        <Text bold>{t('verifyTheirs')}</Text>
        <KeyWords fingerprint={contact.fingerprint} />
        <Text bold>{t('verifyYours')}</Text>
        <KeyWords fingerprint={session.contents.identity.fingerprint} />
      </Screen>
    );
  }

  return (
    <Screen title={t('contactsTitle')} keys={t('contactsKeys')}>
      {contacts.length === 0 ? <Text>{t('contactsEmpty')}</Text> : null}
      {contacts.map((contact, index) => (
        <Box key={contact.address}>
          <Text inverse={index === selected}>
            {index === selected ? '›' : ' '} {safeForTerminal(contact.address).padEnd(34).slice(0, 34)} {safeForTerminal(contact.name ?? '').padEnd(16).slice(0, 16)}{' '}
          </Text>
          {contact.changedCert ? (
            <Text color="red" bold>
              ⚠ {t('contactsChanged')}
            </Text>
          ) : contact.verification === 'verified' ? (
            <Text color="green">✓ {t('contactsVerified')}</Text>
          ) : (
            <Text>? {t('contactsUnverified')}</Text>
          )}
        </Box>
      ))}
      {mode.kind === 'import' ? (
        <TextField
          label={t('contactsImportLabel')}
          value={mode.path}
          onChange={(path) => setMode({ kind: 'import', path })}
          onSubmit={(path) => {
            const work = readUserFile(path.trim(), 'the certificate file').then((bytes) => importContacts(session, bytes, new Date()));
            act(work, (report) => t('contactsImported', { added: report.added.join(', ') || '-', unchanged: report.unchanged.join(', ') || '-', changed: report.changed.join(', ') || '-' }));
          }}
        />
      ) : null}
      {mode.kind === 'remove' ? <Text color="yellow">{t('contactsRemoveConfirm', { address: safeForTerminal(mode.address) })}</Text> : null}
      {notice ? <Text color="green">{notice}</Text> : null}
      {error ? <ErrorNotice error={error} /> : null}
    </Screen>
  );
}
