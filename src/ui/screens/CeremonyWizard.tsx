// The first run: the offline key ceremony as a wizard (docs/ceremony.md §8), in two
// flows, a new key or a restore from the recovery sheet (the phases: ceremony-phase.ts).
// The steps themselves are runCeremony's and recoverStick's; this screen is their
// CeremonyDialog (use-ceremony-dialog.ts). It holds what was typed and the keys; the
// screens that only show are in CeremonyScreens.tsx.
import { Text } from 'ink';
import { useRef, useState } from 'react';
import type { NetworkVerdict } from '../../core/network-state.js';
import { ceremonyNetwork, newPassphrase, recoverStick, runCeremony, } from '../../service/ceremony.js';
import { holdStick } from '../../service/stick-hold.js';
import { identityForRecovery, readRecoverySheetFile } from '../../service/recovery.js';
import { stickInFolder, type Stick } from '../../service/stick-lookup.js';
import type { StickSession } from '../../service/stick-session.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Screen } from '../components/Screen.js';
import { TextField } from '../components/TextField.js';
import { isNo, isYes } from '../keys.js';
import { useText } from '../use-text.js';
import { BackupWordsForm } from './BackupWordsForm.js';
import { EnrolForm } from './EnrolForm.js';
import { PassphraseForm } from './PassphraseForm.js';
import { SharesFlow } from './SharesFlow.js';
import { useKeys } from '../key-queue.js';
import type { ParsedRecoverySheet } from '../../core/recovery-sheet.js';
import type { Phase } from './ceremony-phase.js';
import { CeremonyDoneScreen, GeneratedPassphraseScreen, PassphraseChoiceScreen, RecoverySheetScreen, StepRunningScreen, WeakPassphraseScreen, WelcomeScreen } from './CeremonyScreens.js';
import { useCeremonyDialog } from './use-ceremony-dialog.js';

export interface CeremonyWizardProps {
  readonly stick: Stick | null;
  readonly onDone: (session: StickSession) => void;
  readonly onQuit: () => void;
  /** Switches the interface language (L on the first screens); the ceremony records it in the vault. */
  readonly onLanguage?: (language: 'en' | 'fr') => void;
  /** The network verdict; default: probed on this machine. */
  readonly network?: () => NetworkVerdict;
}

export function CeremonyWizard({ stick: givenStick, onDone, onQuit, onLanguage, network = ceremonyNetwork }: CeremonyWizardProps) {
  const { t, language } = useText();
  const [stick, setStick] = useState<Stick | null>(givenStick);
  const [phase, setPhase] = useState<Phase>(givenStick ? { kind: 'welcome' } : { kind: 'where' });
  const [verdict, setVerdict] = useState<NetworkVerdict>(() => network());
  const [allowOnline, setAllowOnline] = useState(false);
  const [networkDetails, setNetworkDetails] = useState(false);
  const [folder, setFolder] = useState('');
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [emptyField, setEmptyField] = useState(false);
  const [where, setWhere] = useState<unknown>(null);
  const session = useRef<StickSession | null>(null);
  const fingerprint = useRef('');
  /** Where "choose another passphrase" and "try again" go back to (docs/ui.md §6). */
  const passphraseStep = useRef<Phase>({ kind: 'pass-type' });
  const refusedWeak = useRef(false);
  const [chooseAnother, setChooseAnother] = useState(false);
  const failedAt = (error: unknown) => {
    if (refusedWeak.current) {
      // Not a failure: the person chose to pick another passphrase.
      refusedWeak.current = false;
      setChooseAnother(true);
      setPhase(passphraseStep.current);
      return;
    }
    setPhase({ kind: 'failed', error });
  };

  const { dialog, answer } = useCeremonyDialog(setPhase);

  const start = (passphrase: string, from: Phase) => {
    passphraseStep.current = from;
    setChooseAnother(false);
    setPhase({ kind: 'running', step: 'network-check' });
    // docs/store.md §10: the interface holds the stick for its session, from its first write.
    holdStick(stick!, { holder: 'interface', waitMs: 0, makeFolder: true }).then(() => runCeremony({
      stick: stick!,
      name: name.trim(),
      email: email.trim(),
      passphrase,
      allowOnline,
      network: verdict,
      now: new Date(),
      dialog,
      language,
    })).then(
      (result) => {
        session.current = result.session;
        fingerprint.current = result.fingerprint;
        setPhase({ kind: 'shares' });
      },
      failedAt,
    );
  };

  // A key may arrive before Ink re-subscribes this handler after a render: it reads
  // the phase drawn last, not the one it was made with.
  const shownPhase = useRef(phase);
  shownPhase.current = phase;
  /** `caliop recover`: the identical key rebuilt from the sheet (docs/ceremony.md §7). */
  const restore = (sheet: ParsedRecoverySheet, passphrase: string) => {
    passphraseStep.current = { kind: 'recover-pass', sheet };
    setChooseAnother(false);
    setPhase({ kind: 'running', step: 'network-check' });
    holdStick(stick!, { holder: 'interface', waitMs: 0, makeFolder: true }).then(() => recoverStick({
      stick: stick!,
      seed: sheet.seed,
      creationDate: sheet.creationDate,
      ...identityForRecovery(sheet),
      expectedFingerprint: sheet.fingerprint,
      passphrase,
      allowOnline,
      network: verdict,
      now: new Date(),
      dialog: { progress: dialog.progress, confirmWeakPassphrase: dialog.confirmWeakPassphrase },
      language,
    })).then(
      (result) => {
        session.current = result.session;
        fingerprint.current = result.fingerprint;
        setPhase({ kind: 'enrol' });
      },
      failedAt,
    );
  };

  useKeys((input, key) => {
    const phase = shownPhase.current;
    switch (phase.kind) {
      case 'welcome':
        if (key.escape) onQuit();
        else if (/^l$/i.test(input)) onLanguage?.(language === 'en' ? 'fr' : 'en');
        else if (verdict.online && /^d$/i.test(input)) setNetworkDetails((shown) => !shown);
        else if (verdict.online && /^r$/i.test(input)) setVerdict(network());
        else if (verdict.online && /^o$/i.test(input)) {
          setAllowOnline(true);
          setPhase({ kind: 'name' });
        } else if (!verdict.online && key.return) setPhase({ kind: 'name' });
        else if (/^f$/i.test(input)) {
          setAllowOnline(verdict.online); // recorded in the vault, as with O
          setPhase({ kind: 'recover-file' });
        }
        return;
      case 'recover-file':
        if (key.escape) setPhase({ kind: 'welcome' });
        return;
      case 'recover-pass':
        if (key.escape) setPhase({ kind: 'recover-file' });
        return;
      case 'pass-choice':
        if (/^t$/i.test(input)) setPhase({ kind: 'pass-type' });
        else if (/^g$/i.test(input)) setPhase({ kind: 'pass-generated', passphrase: newPassphrase(language) });
        else if (key.escape) setPhase({ kind: 'email' });
        return;
      case 'pass-generated':
        if (key.return) start(phase.passphrase, { kind: 'pass-choice' });
        else if (isNo(input)) setPhase({ kind: 'pass-generated', passphrase: newPassphrase(language) });
        else if (key.escape) setPhase({ kind: 'pass-choice' });
        return;
      case 'pass-type':
        if (key.escape) {
          setChooseAnother(false);
          setPhase({ kind: 'pass-choice' });
        }
        return;
      case 'weak':
        if (isYes(input)) answer(true, { kind: 'running', step: 'passphrase-check' });
        else if (isNo(input) || key.escape) {
          refusedWeak.current = true;
          answer(false, { kind: 'running', step: 'passphrase-check' });
        }
        return;
      case 'recovery':
        // The sheet leaves the screen (and the memory of this component) at once.
        if (key.return) answer(undefined, { kind: 'running', step: 'backup-check' });
        return;
      case 'failed':
        // Back to where the passphrase was chosen; what was typed before is kept.
        if (key.return) setPhase(passphraseStep.current.kind === 'recover-pass' ? passphraseStep.current : { kind: 'pass-choice' });
        else if (key.escape) setPhase(passphraseStep.current.kind === 'recover-pass' ? { kind: 'recover-file' } : { kind: 'email' });
        return;
      case 'done':
        if (key.return && session.current) onDone(session.current);
        return;
      default:
        if (phase.kind === 'where' && key.tab) onLanguage?.(language === 'en' ? 'fr' : 'en');
        if (key.escape && (phase.kind === 'name' || phase.kind === 'email' || phase.kind === 'where')) {
          setPhase(phase.kind === 'email' ? { kind: 'name' } : phase.kind === 'name' ? { kind: 'welcome' } : phase);
          if (phase.kind === 'where') onQuit();
        }
    }
  });

  const submitText = (value: string, next: Phase) => {
    if (value.trim() === '') {
      setEmptyField(true);
      return;
    }
    setEmptyField(false);
    setPhase(next);
  };

  switch (phase.kind) {
    case 'where':
      return (
        <Screen title={t('stickWhereTitle')} keys={`${t('keysContinue')} · ${t('keysQuit')} · ${t('keysLanguageTab')}`}>
          <Text>{t('stickWhereExplain')}</Text>
          <TextField
            label={t('stickWhereLabel')}
            value={folder}
            onChange={setFolder}
            onSubmit={(value) => {
              let chosen: Stick;
              try {
                chosen = stickInFolder(value.trim());
              } catch (error) {
                setWhere(error);
                return;
              }
              setWhere(null);
              setStick(chosen);
              setPhase({ kind: 'welcome' });
            }}
          />
          {where ? <ErrorNotice error={where} /> : null}
        </Screen>
      );
    case 'welcome':
      return <WelcomeScreen verdict={verdict} networkDetails={networkDetails} />;
    case 'recover-file':
      return (
        <Screen title={t('recoverTitle')} keys={`${t('keysContinue')} · ${t('keysBack')}`}>
          <Text>{t('recoverExplain')}</Text>
          <TextField
            label={t('recoverFileLabel')}
            value={folder}
            onChange={setFolder}
            onSubmit={(path) => {
              readRecoverySheetFile(path.trim()).then(
                (sheet) => {
                  try {
                    identityForRecovery(sheet);
                  } catch (error) {
                    setWhere(error);
                    return;
                  }
                  setWhere(null);
                  setPhase({ kind: 'recover-pass', sheet });
                },
                setWhere,
              );
            }}
          />
          {where ? <ErrorNotice error={where} /> : null}
        </Screen>
      );
    case 'recover-pass':
      return (
        <Screen title={t('recoverTitle')} keys={`${t('keysContinue')} · ${t('keysBack')}`}>
          <Text>{t('recoverFound', { name: phase.sheet.name!, email: phase.sheet.email!, date: phase.sheet.creationDate.toISOString().slice(0, 10) })}</Text>
          {chooseAnother ? <Text color="yellow">{t('weakChooseAnother')}</Text> : null}
          <PassphraseForm userInputs={[phase.sheet.name!, phase.sheet.email!]} onDone={(passphrase) => restore(phase.sheet, passphrase)} />
        </Screen>
      );
    case 'name':
      return (
        <Screen title={t('nameTitle')} keys={`${t('keysContinue')} · ${t('keysBack')}`}>
          <Text>{t('nameExplain')}</Text>
          <TextField label={t('nameLabel')} value={name} onChange={setName} onSubmit={(value) => submitText(value, { kind: 'email' })} />
          {emptyField ? <Text color="red">{t('fieldEmpty')}</Text> : null}
        </Screen>
      );
    case 'email':
      return (
        <Screen title={t('emailTitle')} keys={`${t('keysContinue')} · ${t('keysBack')}`}>
          <Text>{t('emailExplain')}</Text>
          <TextField label={t('emailLabel')} value={email} onChange={setEmail} onSubmit={(value) => submitText(value, { kind: 'pass-choice' })} />
          {emptyField ? <Text color="red">{t('fieldEmpty')}</Text> : null}
        </Screen>
      );
    case 'pass-choice':
      return <PassphraseChoiceScreen />;
    case 'pass-type':
      return (
        <Screen title={t('passChoiceTitle')} keys={`${t('keysContinue')} · ${t('keysBack')}`}>
          {chooseAnother ? <Text color="yellow">{t('weakChooseAnother')}</Text> : null}
          <PassphraseForm userInputs={[name, email]} onDone={(passphrase) => start(passphrase, { kind: 'pass-type' })} />
        </Screen>
      );
    case 'pass-generated':
      return <GeneratedPassphraseScreen passphrase={phase.passphrase} />;
    case 'running':
      return <StepRunningScreen step={phase.step} />;
    case 'weak':
      return <WeakPassphraseScreen assessment={phase.assessment} />;
    case 'recovery':
      return <RecoverySheetScreen sheet={phase.sheet} />;
    case 'check':
      return <BackupWordsForm positions={phase.positions} onDone={(answers) => answer(answers, { kind: 'running', step: 'backup-check' })} />;
    case 'failed':
      return (
        <Screen title={t('errorTitle')} keys={t('errorKeys')}>
          <ErrorNotice error={phase.error} />
        </Screen>
      );
    case 'shares':
      return <SharesFlow session={session.current!} askFirst onDone={() => setPhase({ kind: 'enrol' })} />;
    case 'enrol':
      return <EnrolForm session={session.current!} onDone={(enrolled) => setPhase({ kind: 'done', enrolled: enrolled?.address ?? null })} />;
    case 'done':
      return <CeremonyDoneScreen fingerprint={fingerprint.current} enrolled={phase.enrolled} />;
  }
}
