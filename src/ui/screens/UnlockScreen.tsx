// Unlock: the passphrase, a clear message when it is wrong, and no limit on attempts.
import { Box, Text } from 'ink';
import { Sentence } from '../components/Sentence.js';
import { useEffect, useState } from 'react';
import type { Stick } from '../../service/stick-lookup.js';
import { isCaliopError } from '../../errors.js';
import { estimateUnlockMs, StickSession } from '../../service/stick-session.js';
import { holdStick, stickHolder } from '../../service/stick-hold.js';
import { holderSince, type StickLockRecord } from '../../core/stick-lock.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Progress } from '../components/Progress.js';
import { Screen } from '../components/Screen.js';
import { TextField } from '../components/TextField.js';
import { useText } from '../use-text.js';
import { useKeys } from '../key-queue.js';

/** docs/store.md §10: the interface's wait at Enter: long enough for an unreadable lock file to be judged stale. */
const INTERFACE_WAIT_MS = 1500;

export function UnlockScreen({ stick, onUnlocked, onQuit, onLanguage }: { stick: Stick; onUnlocked: (session: StickSession) => void; onQuit: () => void; onLanguage?: (language: 'en' | 'fr') => void }) {
  const { t, language } = useText();
  const [passphrase, setPassphrase] = useState('');
  const [busy, setBusy] = useState(false);
  /** When the unlock started and how long it should take here (estimateUnlockMs). */
  const [plan, setPlan] = useState<{ startedAt: number; expectedMs: number | undefined } | null>(null);
  const [error, setError] = useState<unknown>(null);
  /** docs/store.md §10: another Caliop holding the stick, said in words before the passphrase is typed. */
  const [holder, setHolder] = useState<StickLockRecord | undefined>(() => stickHolder(stick));
  useKeys((_input, key) => {
    if (key.escape) onQuit();
    else if (key.tab) onLanguage?.(language === 'en' ? 'fr' : 'en'); // docs/ui.md §7
  }, { isActive: !busy });
  const submit = (value: string) => {
    if (value === '') return;
    setBusy(true);
    setError(null);
    const startedAt = Date.now();
    setPlan({ startedAt, expectedMs: undefined });
    // docs/store.md §10: held for the whole session, taken before anything of the vault is read.
    // A short wait only (an unreadable lock is judged in 1 s); else the screen says who holds
    // it, keeps the passphrase typed, and Enter looks again.
    holdStick(stick, { holder: 'interface', waitMs: INTERFACE_WAIT_MS })
      .then(() => {
        setHolder(undefined);
        // Measured while Argon2id runs in its worker (docs/vault-format.md §4.1): a few ms here.
        estimateUnlockMs(stick).then(
          (expectedMs) => setPlan((current) => (current?.startedAt === startedAt ? { startedAt, expectedMs } : current)),
          () => undefined,
        );
        return StickSession.unlock(stick, value);
      })
      .then(onUnlocked, (failure: unknown) => {
        const inUse = isCaliopError(failure, 'stick_in_use');
        setHolder(inUse ? stickHolder(stick) : undefined);
        setBusy(false);
        setPlan(null);
        if (!inUse) setPassphrase('');
        setError(failure);
      });
  };
  return (
    <Screen title={t('unlockTitle')} keys={t('unlockKeys')} status={stick.root}>
      <Text>{t('unlockExplain')}</Text>
      <TextField label={t('unlockLabel')} value={passphrase} mask focus={!busy} onChange={setPassphrase} onSubmit={submit} />
      {busy ? <UnlockProgress plan={plan} /> : null}
      {holder !== undefined ? (
        <StickInUse holder={holder} />
      ) : isCaliopError(error, 'wrong_passphrase') ? (
        <Text color="red">✗ {t('unlockWrong')}</Text>
      ) : error ? (
        <ErrorNotice error={error} />
      ) : null}
    </Screen>
  );
}

/** The unlock's progress line: the time left, counted down from the measured estimate. */
function UnlockProgress({ plan }: { plan: { startedAt: number; expectedMs: number | undefined } | null }) {
  const { t } = useText();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, []);
  if (plan?.expectedMs === undefined) return <Progress label={t('unlockWorking')} />;
  const left = Math.ceil((plan.startedAt + plan.expectedMs - now) / 1000);
  return <Progress label={left >= 1 ? t('unlockTimeLeft', { seconds: String(left) }) : t('unlockAlmost')} />;
}

/** docs/store.md §10: the stick is open in another Caliop; who, since when, and what to do. */
function StickInUse({ holder }: { holder: StickLockRecord }) {
  const { t } = useText();
  const who = holder.holder === 'interface' ? t('stickInUseByInterface') : t('stickInUseByCommand', { command: `caliop${holder.command === undefined ? '' : ` ${holder.command}`}` });
  return (
    <Box flexDirection="column">
      <Sentence color="yellow" text={t('stickInUse', { who, pid: holder.pid, since: holderSince(holder, new Date()) })} />
      <Sentence color="yellow" text={t('stickInUseWhatToDo')} />
    </Box>
  );
}
