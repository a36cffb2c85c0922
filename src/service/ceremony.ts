// The offline key ceremony (docs/ceremony.md) and its twin, recovery: the steps in
// order, shared by `caliop init`, `caliop recover` and the UI's wizard. The face
// supplies a CeremonyDialog for the questions; randomness and the network verdict
// come from the edges unless a test hands its own.
import { parseAddress, roleOf } from '../api/address.js';
import { chooseBackupCheckPositions, checkBackupWords } from '../core/backup-check.js';
import { ceremonyCreationDate, deriveIdentity, SEED_BYTES } from '../core/key-derivation.js';
import { join } from 'node:path';
import type { NetworkVerdict } from '../core/network-state.js';
import { generatePassphrase } from '../core/passphrase-generator.js';
import { assessPassphrase, type PassphraseAssessment } from '../core/passphrase-strength.js';
import { formatRecoverySheet, phraseFromSeed } from '../core/recovery-sheet.js';
import { newVaultContents, type CeremonyRecord } from '../core/vault-contents.js';
import type { KdfParams } from '../core/vault-format.js';
import { CaliopError } from '../errors.js';
import { calibrateKdf } from '../edges/argon2id.js';
import { probeNetwork } from '../edges/network-probe.js';
import { randomBytes } from '../edges/random.js';
import { ensureFolder, pathExists } from '../edges/plain-files.js';
import type { Stick } from '../edges/stick-locator.js';
import { createVault } from '../edges/vault-file.js';
import { rememberOwnerLanguage } from './interface-language.js';
import { encodeVaultContents } from '../core/vault-contents.js';
import { MessageStore } from './message-store.js';
import { StickSession, hexToBytes, newStoreRecord } from './stick-session.js';

export type CeremonyStep = 'network-check' | 'passphrase-check' | 'seed' | 'derivation' | 'backup-check' | 'calibration' | 'sealing' | 'done';

export interface CeremonyDialog {
  /** Shows the recovery phrase and sheet once; resolves when the user has written it down. */
  showRecovery(recovery: { words: readonly string[]; sheet: string }): Promise<void>;
  /** Asks for the words at these 1-based positions; null when it cannot ask (--batch). */
  askBackupWords(positions: readonly number[]): Promise<string[] | null>;
  /** A weak passphrase was given: explain it, and say whether the user keeps it anyway. */
  confirmWeakPassphrase(assessment: PassphraseAssessment): Promise<boolean>;
  progress(step: CeremonyStep): void;
}

/** docs/ceremony.md §8.1: this machine's network state, as the ceremony judges it (the interface shows it first). */
export function ceremonyNetwork(): NetworkVerdict {
  return probeNetwork();
}

/** docs/ceremony.md §8.2: a passphrase of 7 random words in the stick's language (`init --generate-passphrase`, the wizard's G). */
export function newPassphrase(language: 'en' | 'fr', random: (length: number) => Uint8Array = randomBytes): string {
  return generatePassphrase(random(64), 7, language);
}

export interface CeremonyInput {
  readonly stick: Stick;
  readonly name: string;
  readonly email: string;
  readonly passphrase: string;
  readonly allowOnline: boolean;
  /** Default: this machine, probed now (ceremonyNetwork). */
  readonly network?: NetworkVerdict;
  readonly now: Date;
  /** Default: the OS random source (src/edges/random.ts). */
  readonly random?: (length: number) => Uint8Array;
  readonly dialog: CeremonyDialog;
  readonly language?: 'en' | 'fr';
  /** Fixed KDF parameters; otherwise calibrated on this machine (docs/vault-format.md). */
  readonly kdf?: KdfParams;
}

export interface CeremonyResult {
  readonly fingerprint: string;
  readonly recoveryPhrase: readonly string[];
  readonly recoverySheet: string;
  readonly revocationCertificate: string;
  /** The cert to give others: as outsiders get it, without the post-quantum subkey (docs/decisions/post-quantum.md). */
  readonly armoredCert: string;
  readonly ceremony: CeremonyRecord;
  readonly kdf: KdfParams;
  readonly session: StickSession;
}

function refuseExistingVault(stick: Stick): void {
  if (pathExists(stick.vaultPath)) {
    throw new CaliopError('stick_already_initialised', `a vault already exists at ${stick.vaultPath}`);
  }
}

/** docs/ceremony.md §8.1: keys are made offline unless the user accepts the risk. */
function checkNetwork(network: NetworkVerdict, allowOnline: boolean): void {
  if (network.online && !allowOnline) {
    throw new CaliopError('online_refused', `refusing to generate keys while this machine is online (${network.evidence.join('; ')})`);
  }
}

async function checkPassphrase(passphrase: string, userInputs: string[], dialog: Pick<CeremonyDialog, 'confirmWeakPassphrase'>): Promise<void> {
  if (passphrase.length === 0) throw new CaliopError('passphrase_rejected', 'the passphrase is empty');
  const assessment = await assessPassphrase(passphrase, userInputs);
  if (assessment.weak && !(await dialog.confirmWeakPassphrase(assessment))) {
    throw new CaliopError('passphrase_rejected', 'the passphrase is weak and was not confirmed');
  }
}

/** docs/vault-contents.md §2: what `caliop key show` reports about the ceremony. */
function ceremonyRecord(
  input: { readonly now: Date; readonly network: NetworkVerdict; readonly allowOnline: boolean },
  kind: CeremonyRecord['kind'],
  backupChecked: boolean,
): CeremonyRecord {
  return {
    performedAt: input.now.toISOString(),
    offline: !input.network.online,
    allowedOnline: input.network.online && input.allowOnline,
    networkEvidence: [...input.network.evidence],
    kind,
    backupChecked,
  };
}

interface SealInput {
  readonly stick: Stick;
  readonly seed: Uint8Array;
  readonly creationDate: Date;
  readonly name: string;
  readonly email: string;
  readonly passphrase: string;
  readonly ceremony: CeremonyRecord;
  readonly random: (length: number) => Uint8Array;
  readonly kdf: KdfParams | undefined;
  readonly language: 'en' | 'fr';
  readonly progress: (step: CeremonyStep) => void;
  /** docs/vault-contents.md §8: a stick made by recover gets its own random device key. */
  readonly newDevice?: boolean;
}

async function sealNewVault(input: SealInput, fingerprint: string): Promise<{ session: StickSession; kdf: KdfParams }> {
  input.progress('calibration');
  const kdf = input.kdf ?? (await calibrateKdf());
  input.progress('sealing');
  ensureFolder(input.stick.vaultDir);
  const contents = newVaultContents(
    {
      seedHex: Buffer.from(input.seed).toString('hex'),
      creationDate: input.creationDate.toISOString(),
      name: input.name,
      email: input.email,
      fingerprint,
      ceremony: input.ceremony,
    },
    input.language,
    newStoreRecord(input.random),
    input.newDevice ? { secretKeyHex: Buffer.from(input.random(32)).toString('hex') } : undefined,
  );
  // docs/store.md §7: the store first, then the vault that names it (the vault is the commit).
  const store = await MessageStore.create(join(input.stick.vaultDir, contents.store.folder), hexToBytes(contents.store.keyHex), input.random);
  const handle = await createVault(input.stick.vaultPath, new TextEncoder().encode(input.passphrase), await encodeVaultContents(contents), kdf, input.random);
  // docs/stick-layout.md §3.1: the language chosen, for the unlock screen of the next start.
  await rememberOwnerLanguage(input.stick, input.language);
  return { session: StickSession.fromCreated(input.stick, handle, contents, store), kdf };
}

/** docs/ceremony.md §8.1: what init and recover check before any key exists. */
async function preflight(
  input: { readonly stick: Stick; readonly network: NetworkVerdict; readonly allowOnline: boolean; readonly passphrase: string; readonly name: string; readonly email: string },
  dialog: Pick<CeremonyDialog, 'confirmWeakPassphrase' | 'progress'>,
): Promise<void> {
  refuseExistingVault(input.stick);
  dialog.progress('network-check');
  checkNetwork(input.network, input.allowOnline);
  dialog.progress('passphrase-check');
  await checkPassphrase(input.passphrase, [input.name, input.email], dialog);
}

/** The network verdict and random source a caller did not hand in, taken from the edges. */
function withEdges<T extends { readonly network?: NetworkVerdict; readonly random?: (length: number) => Uint8Array }>(
  input: T,
): T & { readonly network: NetworkVerdict; readonly random: (length: number) => Uint8Array } {
  return { ...input, network: input.network ?? probeNetwork(), random: input.random ?? randomBytes };
}

/** `caliop init`: docs/ceremony.md §8, in this order. */
export async function runCeremony(given: CeremonyInput): Promise<CeremonyResult> {
  const input = withEdges(given);
  const { dialog } = input;
  // docs/api.md §3.1: no relay enrols a role address (a stick rebuilt from its sheet keeps the address it has).
  const role = roleOf(parseAddress(input.email.trim())?.localPart ?? '');
  if (role !== null) {
    throw new CaliopError('usage', `${input.email.trim()} is a role address (${role}@) that Caliop relays keep for their operator`, { hint: 'choose an address of your own; an operator names their account with caliop-relay --postmaster' });
  }
  await preflight(input, dialog);

  dialog.progress('seed');
  const seed = input.random(SEED_BYTES);
  const creationDate = ceremonyCreationDate(input.now);
  dialog.progress('derivation');
  const identity = await deriveIdentity({ seed, name: input.name, email: input.email, creationDate });

  const words = phraseFromSeed(seed);
  const sheet = formatRecoverySheet({ words, creationDate, name: input.name, email: input.email, fingerprint: identity.fingerprint });
  await dialog.showRecovery({ words, sheet });

  dialog.progress('backup-check');
  const positions = chooseBackupCheckPositions(input.random(64));
  const answers = await dialog.askBackupWords(positions);
  if (answers !== null && !checkBackupWords(words, positions, answers)) {
    throw new CaliopError('backup_check_failed');
  }

  const ceremony = ceremonyRecord(input, 'init', answers !== null);
  const { session, kdf } = await sealNewVault(
    { ...input, seed, creationDate, ceremony, kdf: input.kdf, language: input.language ?? 'en', progress: dialog.progress },
    identity.fingerprint,
  );
  seed.fill(0);
  dialog.progress('done');
  return {
    fingerprint: identity.fingerprint,
    recoveryPhrase: words,
    recoverySheet: sheet,
    revocationCertificate: identity.revocationCertificate,
    armoredCert: identity.armoredCertForOutsiders,
    ceremony,
    kdf,
    session,
  };
}

export interface RecoveryInput {
  readonly stick: Stick;
  readonly seed: Uint8Array;
  readonly creationDate: Date;
  readonly name: string;
  readonly email: string;
  /** When the sheet carries it: the rebuilt key must match (docs/ceremony.md §7). */
  readonly expectedFingerprint: string | undefined;
  readonly passphrase: string;
  readonly allowOnline: boolean;
  /** Default: this machine, probed now (ceremonyNetwork). */
  readonly network?: NetworkVerdict;
  readonly now: Date;
  /** Default: the OS random source (src/edges/random.ts). */
  readonly random?: (length: number) => Uint8Array;
  readonly dialog: Pick<CeremonyDialog, 'confirmWeakPassphrase' | 'progress'>;
  /** The interface language chosen before the vault existed (docs/ui.md §7); default English. */
  readonly language?: 'en' | 'fr';
  readonly kdf?: KdfParams;
}

/** `caliop recover`: rebuilds the identical key on an empty stick (docs/ceremony.md §7). */
export async function recoverStick(given: RecoveryInput): Promise<Omit<CeremonyResult, 'recoveryPhrase' | 'recoverySheet'>> {
  const input = withEdges(given);
  const { dialog } = input;
  await preflight(input, dialog);
  dialog.progress('derivation');
  const identity = await deriveIdentity({ seed: input.seed, name: input.name, email: input.email, creationDate: input.creationDate });
  if (input.expectedFingerprint !== undefined && input.expectedFingerprint !== identity.fingerprint) {
    throw new CaliopError(
      'recovery_invalid',
      `the rebuilt key has the fingerprint ${identity.fingerprint}, but the sheet says ${input.expectedFingerprint}`,
      { hint: 'check the creation date, the name and the address on the sheet: they must be exactly as written at the ceremony' },
    );
  }
  const ceremony = ceremonyRecord(input, 'recover', true);
  const { session, kdf } = await sealNewVault(
    { ...input, ceremony, kdf: input.kdf, language: input.language ?? 'en', progress: dialog.progress, newDevice: true },
    identity.fingerprint,
  );
  dialog.progress('done');
  return {
    fingerprint: identity.fingerprint,
    revocationCertificate: identity.revocationCertificate,
    armoredCert: identity.armoredCertForOutsiders,
    ceremony,
    kdf,
    session,
  };
}
