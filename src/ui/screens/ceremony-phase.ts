// The wizard's phases (docs/ui.md §6, docs/ceremony.md §8): where it stands in one of
// its two flows, a new key (name → email → passphrase → the ceremony's steps → shares →
// enrolment) or a restore from the recovery sheet (file → passphrase → the steps → enrolment).
import type { PassphraseAssessment } from '../../core/passphrase-strength.js';
import type { ParsedRecoverySheet } from '../../core/recovery-sheet.js';
import type { CeremonyStep } from '../../service/ceremony.js';
import type { MessageKey } from '../i18n/index.js';

export const STEP_KEYS: Readonly<Record<CeremonyStep, MessageKey>> = {
  'network-check': 'stepNetworkCheck',
  'passphrase-check': 'stepPassphraseCheck',
  seed: 'stepSeed',
  derivation: 'stepDerivation',
  'backup-check': 'stepBackupCheck',
  calibration: 'stepCalibration',
  sealing: 'stepSealing',
  done: 'stepDone',
};

export type Phase =
  // Both flows start here.
  | { kind: 'where' }
  | { kind: 'welcome' }
  // Restore from the recovery sheet (docs/ceremony.md §7).
  | { kind: 'recover-file' }
  | { kind: 'recover-pass'; sheet: ParsedRecoverySheet }
  // A new key (docs/ceremony.md §8).
  | { kind: 'name' }
  | { kind: 'email' }
  | { kind: 'pass-choice' }
  | { kind: 'pass-type' }
  | { kind: 'pass-generated'; passphrase: string }
  // The ceremony's own steps and questions (runCeremony, recoverStick).
  | { kind: 'running'; step: CeremonyStep }
  | { kind: 'weak'; assessment: PassphraseAssessment }
  | { kind: 'recovery'; sheet: string }
  | { kind: 'check'; positions: readonly number[] }
  | { kind: 'failed'; error: unknown }
  // After the key exists.
  | { kind: 'shares' }
  | { kind: 'enrol' }
  | { kind: 'done'; enrolled: string | null };
