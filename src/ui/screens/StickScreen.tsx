// The stick and the keys: key details, export of the cert and revocation
// certificate to files on the stick, passphrase change, shares, backup check and
// the stick's integrity check (verifyStick against its signed MANIFEST).
import { relative } from 'node:path';
import { Box, Text } from 'ink';
import { useEffect, useState } from 'react';
import { exportKeyFilesToStick } from '../../service/key-files.js';
import { assessNewPassphrase, changePassphrase, describeKey, type KeyDescription } from '../../service/keys.js';
import { formatFingerprint } from '../../service/pgp.js';
import { backupCheckPositions, recordBackupCheck } from '../../service/recovery.js';
import type { StickSession } from '../../service/stick-session.js';
import { checkStick } from '../../service/stick-verify.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Progress } from '../components/Progress.js';
import { Screen } from '../components/Screen.js';
import { isNo, isYes } from '../keys.js';
import { useText } from '../use-text.js';
import { BackupWordsForm } from './BackupWordsForm.js';
import { PassphraseForm } from './PassphraseForm.js';
import { SharesFlow } from './SharesFlow.js';
import { DevicesScreen } from './DevicesScreen.js';
import { renewKey } from '../../service/key-lifecycle.js';
import { useKeys } from '../key-queue.js';

type Mode =
  | { kind: 'details' }
  | { kind: 'busy'; label: string }
  | { kind: 'passphrase' }
  | { kind: 'weak'; passphrase: string }
  | { kind: 'shares' }
  | { kind: 'check'; positions: number[] }
  | { kind: 'devices' };

/** The words of a subkey's uses (src/service/keys.ts usageOf), in the catalogue. */
const USAGE_WORDS: Record<string, 'usageCertify' | 'usageSign' | 'usageEncrypt' | 'usageAuthenticate'> = {
  certify: 'usageCertify',
  sign: 'usageSign',
  encrypt: 'usageEncrypt',
  authenticate: 'usageAuthenticate',
};

/** docs/ui.md §7: an algorithm as people name it (openpgp.js's "eddsaLegacy/ed25519Legacy" is Ed25519); unknown ones as they are. */
function algorithmName(algorithm: string): string {
  if (/mlkem/i.test(algorithm)) return 'ML-KEM-768 + X25519';
  if (/ed25519/i.test(algorithm)) return 'Ed25519';
  if (/curve25519|x25519/i.test(algorithm)) return 'X25519';
  if (/ed448/i.test(algorithm)) return 'Ed448';
  if (/x448/i.test(algorithm)) return 'X448';
  return algorithm;
}

export function StickScreen({ session, onBack, clock = () => new Date() }: { session: StickSession; onBack: () => void; clock?: () => Date }) {
  const { t } = useText();
  const [description, setDescription] = useState<KeyDescription | null>(null);
  const [mode, setMode] = useState<Mode>({ kind: 'details' });
  const [notice, setNotice] = useState<{ text: string; bad?: boolean } | null>(null);
  const [error, setError] = useState<unknown>(null);

  const reload = () => {
    describeKey(session, clock()).then(setDescription, setError);
  };
  useEffect(reload, [session]);

  const run = <T,>(label: string, work: () => Promise<T>, done: (value: T) => { text: string; bad?: boolean }) => {
    setError(null);
    setNotice(null);
    setMode({ kind: 'busy', label });
    work().then(
      (value) => {
        setNotice(done(value));
        setMode({ kind: 'details' });
        reload();
      },
      (failure: unknown) => {
        setError(failure);
        setMode({ kind: 'details' });
      },
    );
  };

  const changeTo = (passphrase: string, acceptWeak: boolean) =>
    run(t('passChangeWorking'), () => changePassphrase(session, passphrase, { acceptWeak }), () => ({ text: t('passChangeDone') }));

  const [details, setDetails] = useState(false);
  useKeys(
    (input, key) => {
      if (mode.kind === 'weak') {
        if (isYes(input)) changeTo(mode.passphrase, true);
        else if (isNo(input) || key.escape) setMode({ kind: 'passphrase' });
        return;
      }
      if (mode.kind === 'passphrase') {
        if (key.escape) setMode({ kind: 'details' });
        return;
      }
      if (mode.kind !== 'details') return;
      if (key.escape) onBack();
      else if (/^d$/i.test(input)) setDetails((shown) => !shown);
      else if (/^e$/i.test(input)) run(t('working'), () => exportKeyFilesToStick(session), (files) => ({ text: t('stickExported', { cert: relative(session.stick.root, files.certPath), revocation: relative(session.stick.root, files.revocationPath) }) }));
      else if (/^p$/i.test(input)) setMode({ kind: 'passphrase' });
      else if (/^l$/i.test(input)) setMode({ kind: 'devices' });
      // docs/ceremony.md §6.6: the same renewal as "caliop key renew".
      else if (/^r$/i.test(input)) run(t('working'), () => renewKey(session, clock()), (report) => ({ text: t('stickRenewed', { date: report.expiresAt.slice(0, 10) }) }));
      else if (/^b$/i.test(input)) setMode({ kind: 'shares' });
      else if (/^w$/i.test(input)) setMode({ kind: 'check', positions: backupCheckPositions() });
      else if (/^v$/i.test(input)) {
        run(
          t('working'),
          // The same anchored check as "caliop stick verify" (docs/manifest.md §8).
          () => checkStick(session.stick),
          (verdict) =>
            !verdict.anchorMatches
              ? { text: `✗ ${t('stickVerifyWrongRelease')}`, bad: true }
              : verdict.ok && verdict.anchor === 'stick-only'
              ? { text: `! ${t('stickVerifySelfOnly')}`, bad: true }
              : verdict.ok
              ? { text: `✓ ${t('stickVerifyOk')}` }
              : !verdict.signatureValid
                ? { text: `✗ ${t('stickVerifySignatureBad')}`, bad: true }
                : { text: `✗ ${t('stickVerifyBad', { count: verdict.differs.length + verdict.missing.length + verdict.extra.length })}\n${[...verdict.differs, ...verdict.missing, ...verdict.extra].slice(0, 5).join('\n')}`, bad: true },
        );
      }
    },
  );

  if (mode.kind === 'devices') return <DevicesScreen session={session} onBack={() => setMode({ kind: 'details' })} />;
  if (mode.kind === 'shares') return <SharesFlow session={session} askFirst={false} onDone={() => setMode({ kind: 'details' })} />;
  if (mode.kind === 'check') {
    return (
      <BackupWordsForm
        positions={mode.positions}
        onDone={(answers) => run(t('stepBackupCheck'), () => recordBackupCheck(session, mode.positions, answers), () => ({ text: t('backupCheckDone') }))}
        onBack={() => setMode({ kind: 'details' })}
      />
    );
  }
  if (mode.kind === 'passphrase' || mode.kind === 'weak') {
    return (
      <Screen title={t('passChangeTitle')} keys={mode.kind === 'weak' ? t('weakKeys') : `${t('keysContinue')} · ${t('keysBack')}`}>
        {mode.kind === 'weak' ? (
          <Text color="red">{t('weakTitle')}</Text>
        ) : (
          <PassphraseForm
            userInputs={[session.contents.identity.name, session.contents.identity.email]}
            onDone={(passphrase) => {
              assessNewPassphrase(session, passphrase).then((assessment) => (assessment.weak ? setMode({ kind: 'weak', passphrase }) : changeTo(passphrase, false)), setError);
            }}
          />
        )}
      </Screen>
    );
  }
  const d = description;
  return (
    <Screen title={t('stickTitle')} keys={t('stickKeys')} status={session.stick.root}>
      {d ? (
        <Box flexDirection="column">
          <Text>
            {t('labelled', { label: t('stickName'), value: d.name })}
          </Text>
          <Text>
            {t('labelled', { label: t('stickAddress'), value: d.email })}
          </Text>
          <Text>
            {t('labelled', { label: t('stickFingerprint'), value: formatFingerprint(d.fingerprint) })}
          </Text>
          <Text>
            {t('verifyWords')} <Text bold>{d.fingerprintWords.join(' ')}</Text>
          </Text>
          <Text>
            {t('verifyNumbers')} <Text bold>{d.fingerprintNumbers.join(' ')}</Text>
          </Text>
          <Text>
            {t('labelled', { label: t('stickCreated'), value: d.createdAt.slice(0, 10) })}
          </Text>
          {/* docs/ceremony.md §6.6: the reminder from 90 days before expiry. */}
          <Text color={d.lifetime.state === 'valid' ? undefined : d.lifetime.state === 'expired' ? 'red' : 'yellow'}>
            {d.lifetime.state === 'valid'
              ? t('stickExpires', { date: d.lifetime.expiresAt.slice(0, 10) })
              : d.lifetime.state === 'expired'
                ? `✗ ${t('stickExpired', { date: d.lifetime.expiresAt.slice(0, 10) })}`
                : `⚠ ${t('stickExpiresSoon', { date: d.lifetime.expiresAt.slice(0, 10), days: d.lifetime.daysLeft })}`}
          </Text>
          <Text color={d.ceremony.offline ? 'green' : 'yellow'}>{d.ceremony.offline ? `✓ ${t('stickCeremonyOffline')}` : `⚠ ${t('stickCeremonyOnline')}`}</Text>
          <Text color={d.ceremony.backupChecked ? 'green' : 'yellow'}>{d.ceremony.backupChecked ? `✓ ${t('stickBackupChecked')}` : `⚠ ${t('stickBackupNotChecked')}`}</Text>
          <Text>
            {t('labelled', { label: t('stickRelay'), value: d.relay ? `${d.relay.url}${d.relay.address ? ` (${d.relay.address})` : ''}` : t('stickNoRelay') })}
          </Text>
          {/* Plain words first, the parameters on D (docs/ui.md §7). */}
          <Text>{t('stickKdfPlain', { memory: `${Math.round(d.kdf.memoryKiB / 1024)} MiB` })}</Text>
          {details ? (
            <Text dimColor>
              {'  '}
              {t('stickKdfDetails', { algorithm: 'Argon2id', memory: `${d.kdf.memoryKiB / 1024} MiB`, passes: d.kdf.passes, parallelism: d.kdf.parallelism })}
            </Text>
          ) : null}
          {details ? null : <Text dimColor>{t('detailsKey')}</Text>}
          {details
            ? d.subkeys.map((subkey) => (
                <Text key={subkey.fingerprint} dimColor>
                  {'  '}
                  {t('labelled', { label: subkey.usage.map((usage) => (USAGE_WORDS[usage] === undefined ? usage : t(USAGE_WORDS[usage]))).join(', '), value: algorithmName(subkey.algorithm) })}
                </Text>
              ))
            : null}
        </Box>
      ) : null}
      {mode.kind === 'busy' ? <Progress label={mode.label} /> : null}
      {notice ? <Text color={notice.bad ? 'red' : 'green'}>{notice.text}</Text> : null}
      {error ? <ErrorNotice error={error} /> : null}
    </Screen>
  );
}
