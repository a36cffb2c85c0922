// The wizard's screens that only show (docs/ui.md §6): the welcome with the network
// verdict, the passphrase choice, a generated passphrase, a step running, a weak
// passphrase explained, the recovery sheet, and the end. Keys are the wizard's.
import { Box, Text } from 'ink';
import { Sentence } from '../components/Sentence.js';
import type { NetworkVerdict } from '../../core/network-state.js';
import type { PassphraseAssessment } from '../../core/passphrase-strength.js';
import type { CeremonyStep } from '../../service/ceremony.js';
import { Progress } from '../components/Progress.js';
import { Screen } from '../components/Screen.js';
import { useText } from '../use-text.js';
import { STEP_KEYS } from './ceremony-phase.js';

export function WelcomeScreen({ verdict, networkDetails }: { verdict: NetworkVerdict; networkDetails: boolean }) {
  const { t } = useText();
  return (
    <Screen title={t('welcomeTitle')} keys={verdict.online ? t('welcomeOnlineKeys') : t('welcomeKeys')}>
      <Text>{t('welcomeExplain1')}</Text>
      <Text>{t('welcomeExplain2')}</Text>
      <Text>{t('welcomeExplain3')}</Text>
      <Box marginTop={1} flexDirection="column">
        {verdict.online ? (
          <>
            <Text color="yellow">⚠ {t('welcomeOnline')}</Text>
            <Text>{t('welcomeOnlineAdvice')}</Text>
            {networkDetails ? (
              verdict.findings.map((finding) => (
                <Box key={finding.iface} marginLeft={2}>
                  <Sentence dimColor text={t(finding.by === 'route' ? 'networkByRoute' : 'networkByAddress', { iface: finding.iface, values: finding.values.join(', ') })} />
                </Box>
              ))
            ) : (
              <Text dimColor>{t('detailsKey')}</Text>
            )}
          </>
        ) : (
          <Text color="green">✓ {t('welcomeOffline')}</Text>
        )}
      </Box>
    </Screen>
  );
}

export function PassphraseChoiceScreen() {
  const { t } = useText();
  return (
    <Screen title={t('passChoiceTitle')} keys={t('keysBack')}>
      <Text>{t('passChoiceExplain')}</Text>
      <Box marginTop={1} flexDirection="column">
        <Text>{t('passChoiceGenerate')}</Text>
        <Text>{t('passChoiceOwn')}</Text>
      </Box>
    </Screen>
  );
}

export function GeneratedPassphraseScreen({ passphrase }: { passphrase: string }) {
  const { t } = useText();
  return (
    <Screen title={t('passGeneratedTitle')} keys={t('passGeneratedKeys')}>
      <Text>{t('passGeneratedExplain')}</Text>
      <Box marginTop={1} borderStyle="single" paddingX={1}>
        <Text bold>{passphrase}</Text>
      </Box>
    </Screen>
  );
}

export function StepRunningScreen({ step }: { step: CeremonyStep }) {
  const { t } = useText();
  return (
    <Screen title={t('welcomeTitle')} keys={t('working')}>
      <Progress label={t(STEP_KEYS[step])} />
    </Screen>
  );
}

export function WeakPassphraseScreen({ assessment }: { assessment: PassphraseAssessment }) {
  const { t, language } = useText();
  return (
    <Screen title={t('weakTitle')} keys={t('weakKeys')}>
      <Text>{t('weakExplain')}</Text>
      {assessment.warning ? <Text color="red">{assessment.warning[language]}</Text> : null}
      {assessment.suggestions[language].map((suggestion) => (
        <Text key={suggestion}>- {suggestion}</Text>
      ))}
    </Screen>
  );
}

export function RecoverySheetScreen({ sheet }: { sheet: string }) {
  const { t, language } = useText();
  return (
    <Screen title={t('recoveryTitle')} keys={t('recoveryKeys')}>
      <Text>{t('recoveryExplain')}</Text>
      <Text color="yellow">{t('recoveryWarning')}</Text>
      {/* docs/ceremony.md §2.1: the sheet is English everywhere; a French screen says why. */}
      {language === 'en' ? null : <Sentence dimColor text={t('recoverySheetEnglish')} />}
      <Box marginTop={1}>
        <Text>{sheet.split('\n').filter((line) => !line.startsWith('#') && line.trim() !== '').join('\n')}</Text>
      </Box>
    </Screen>
  );
}

export function CeremonyDoneScreen({ fingerprint, enrolled }: { fingerprint: string; enrolled: string | null }) {
  const { t } = useText();
  return (
    <Screen title={t('doneTitle')} keys={t('doneKeys')}>
      <Text>{t('doneFingerprint', { fingerprint })}</Text>
      <Text>{enrolled ? t('enrolDone', { address: enrolled }) : t('enrolSkipped')}</Text>
    </Screen>
  );
}
