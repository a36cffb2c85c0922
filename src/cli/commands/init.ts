// `caliop init` (the ceremony) and `caliop recover` (docs/cli.md §init, §recover).
import type { Command } from 'commander';
import type { PassphraseAssessment } from '../../core/passphrase-strength.js';
import type { CeremonyDialog, CeremonyStep } from '../../service/ceremony.js';
import { CaliopError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { note, writeJson, writeData } from '../output.js';

const STEP_TEXT: Record<CeremonyStep, string> = {
  'network-check': 'checking that this machine is offline',
  'passphrase-check': 'estimating the passphrase strength',
  seed: 'drawing 256 random bits from the operating system',
  derivation: 'deriving your OpenPGP key from them',
  'backup-check': 'checking your copy of the recovery phrase',
  calibration: 'calibrating Argon2id on this machine (about one second per unlock)',
  sealing: 'sealing the vault on the stick',
  done: 'done',
};

/** Clears the screen and its scrollback (xterm "E3"), so the phrase does not linger. */
const CLEAR_SCREEN_AND_SCROLLBACK = '\x1b[H\x1b[2J\x1b[3J';

function cliDialog(context: CliContext, acceptWeak: boolean): CeremonyDialog {
  const quiet = context.json;
  return {
    progress(step) {
      if (!quiet && step !== 'done') note(`${STEP_TEXT[step]}…`);
    },
    async showRecovery({ sheet }) {
      if (context.batch) return; // the JSON/text result carries it
      const { ask, tell } = await import('../terminal.js');
      tell(`\n${sheet}\n`);
      await ask('Write these 24 words on paper, with the date and the address. Press Enter when done. ');
      process.stderr.write(CLEAR_SCREEN_AND_SCROLLBACK);
    },
    async askBackupWords(positions) {
      if (context.batch) return null;
      const { ask, tell } = await import('../terminal.js');
      tell(`Prove your copy: type the words at positions ${positions.join(', ')}.`);
      const answers: string[] = [];
      for (const position of positions) answers.push(await ask(`Word #${position}: `));
      return answers;
    },
    async confirmWeakPassphrase(assessment: PassphraseAssessment) {
      const why = assessment.warning?.en ?? 'it could be guessed by an attacker who steals the stick';
      if (context.batch || acceptWeak) {
        if (!acceptWeak) {
          throw new CaliopError('passphrase_rejected', `the passphrase is weak: ${why}`, {
            hint: 'choose a longer one, use --generate-passphrase, or pass --accept-weak-passphrase',
          });
        }
        return true;
      }
      const { ask, tell } = await import('../terminal.js');
      tell(`This passphrase is weak: ${why}.`);
      for (const suggestion of assessment.suggestions?.en ?? []) tell(`  - ${suggestion}`);
      const answer = await ask('Keep it anyway? Type "yes" to keep it: ');
      return answer.trim().toLowerCase() === 'yes';
    },
  };
}

/** What the ceremony and recovery take from the face: the consent to go online, the clock, the questions. */
function ceremonyFace(cli: CliContext, options: { allowOnline?: boolean; acceptWeakPassphrase?: boolean }) {
  return {
    allowOnline: options.allowOnline === true,
    now: new Date(),
    dialog: cliDialog(cli, options.acceptWeakPassphrase === true),
  };
}

interface InitOptions {
  name: string;
  email: string;
  allowOnline?: boolean;
  generatePassphrase?: boolean;
  acceptWeakPassphrase?: boolean;
  language?: 'en' | 'fr';
  server?: string;
  serverPin?: string;
  inviteToken?: string;
}

export function registerInitCommands(program: Command, context: () => CliContext): void {
  program
    .command('init')
    .description('run the offline key ceremony: make your keys and seal them in the stick\'s vault')
    .requiredOption('--name <name>', 'your name, as your contacts will see it')
    .requiredOption('--email <addr>', 'your address')
    .option('--allow-online', 'generate keys even though this machine is online (recorded in the vault)')
    .option('--generate-passphrase', 'make a passphrase of 7 random words (printed once) instead of asking for one')
    .option('--accept-weak-passphrase', 'keep a passphrase the estimator finds weak')
    .option('--language <lang>', 'language of the stick: en or fr', 'en')
    .option('--server <url>', 'enrol the new identity with this relay')
    .option('--server-pin <pin>', "the relay certificate's pin, sha256/<base64>")
    .option('--invite-token <token>', 'an invite token from your Caliop volunteer, if the relay asks for one')
    .action(async (options: InitOptions) => {
      const cli = context();
      const { runCeremony, newPassphrase } = await import('../../service/ceremony.js');
      if (options.language !== 'en' && options.language !== 'fr') throw new CaliopError('usage', `unknown language ${String(options.language)}`, { hint: 'use --language en or --language fr' });
      const stick = cli.stick();
      await cli.hold(stick, { makeFolder: true }); // docs/store.md §10: before the ceremony looks at the stick
      const passphrase = options.generatePassphrase
        ? newPassphrase(options.language)
        : await cli.newPassphrase(cli.options.passphraseFile, 'passphrase');
      const result = await runCeremony({
        stick,
        name: options.name,
        email: options.email,
        passphrase,
        ...ceremonyFace(cli, options),
        language: options.language,
      });
      // Enrolment needs the network the ceremony avoided: when the relay cannot be
      // reached, the keys stand and "caliop relay enrol" finishes the job later.
      let relay: { url: string; address?: string; enrolled: boolean } | undefined;
      const { relayTargetOf, enrolWithRelay } = await import('../../service/relay-account.js');
      const target = options.server !== undefined ? { url: options.server, pin: options.serverPin } : relayTargetOf(result.session);
      if (target) {
        try {
          relay = { ...(await enrolWithRelay(result.session, { ...target, inviteToken: options.inviteToken })), enrolled: true };
        } catch (error) {
          if (!(error instanceof CaliopError) || error.code !== 'relay_unreachable') {
            throw new CaliopError(error instanceof CaliopError ? error.code : 'internal', `your keys are made and sealed, but enrolment failed: ${(error as Error).message}`, {
              hint: 'fix what the error says, then run "caliop relay enrol"',
            });
          }
          relay = { url: target.url, enrolled: false };
        }
      }
      const summary = {
        fingerprint: result.fingerprint,
        recoveryPhrase: result.recoveryPhrase.join(' '),
        recoverySheet: result.recoverySheet,
        creationDate: result.session.contents.identity.creationDate,
        revocationCertificate: result.revocationCertificate,
        cert: result.armoredCert,
        ceremony: result.ceremony,
        kdf: { algorithm: result.kdf.algorithm, memoryKiB: result.kdf.memoryKiB, passes: result.kdf.passes, parallelism: result.kdf.parallelism },
        ...(options.generatePassphrase ? { passphrase } : {}),
        ...(relay ? { relay } : {}),
      };
      if (cli.json) {
        await writeJson(summary);
        return;
      }
      if (cli.batch) {
        // No terminal conversation happened: the sheet must reach the user somehow.
        await writeData(`${result.recoverySheet}\n`);
      }
      if (options.generatePassphrase) note(`your passphrase (write it down, it is shown once): ${passphrase}`);
      note(`your key is ready: ${result.fingerprint}`);
      if (!result.ceremony.offline) note('warning: the key was made on an online machine (--allow-online); "caliop key show" will say so');
      if (!result.ceremony.backupChecked) note('the backup check was skipped (--batch); run it later with "caliop backup check"');
      if (relay?.enrolled) note(`enrolled as ${relay.address} with ${relay.url}`);
      else if (relay) note(`the relay ${relay.url} could not be reached: run "caliop relay enrol" once online`);
    });

  program
    .command('recover')
    .description('rebuild your vault on an empty stick from the recovery sheet (or k shares)')
    .requiredOption('--phrase-file <file>', 'the recovery sheet\'s text: 24 words and the creation date, or k share sheets')
    .option('--name <name>', 'your name as on the sheet (when the sheet lacks it)')
    .option('--email <addr>', 'your address as on the sheet (when the sheet lacks it)')
    .option('--allow-online', 'rebuild keys even though this machine is online')
    .option('--accept-weak-passphrase', 'keep a passphrase the estimator finds weak')
    .option('--new-passphrase-file <file>', 'the new vault passphrase (FILE, @ENV:NAME, @FD:N); default: --passphrase-file or a prompt')
    .action(async (options: { phraseFile: string; name?: string; email?: string; allowOnline?: boolean; acceptWeakPassphrase?: boolean; newPassphraseFile?: string }) => {
      const cli = context();
      const [{ recoverStick }, { readRecoverySheetFile, identityForRecovery }] = await Promise.all([import('../../service/ceremony.js'), import('../../service/recovery.js')]);
      const stick = cli.stick();
      // The sheet is the user's input, not the stick's: a bad one is refused at once, without waiting for the stick.
      const sheet = await readRecoverySheetFile(options.phraseFile);
      const { name, email } = identityForRecovery(sheet, options);
      await cli.hold(stick, { makeFolder: true }); // docs/store.md §10: before the stick is looked at
      const passphrase = await cli.newPassphrase(options.newPassphraseFile ?? cli.options.passphraseFile, 'passphrase');
      const result = await recoverStick({
        stick,
        seed: sheet.seed,
        creationDate: sheet.creationDate,
        name,
        email,
        expectedFingerprint: sheet.fingerprint,
        passphrase,
        ...ceremonyFace(cli, options),
      });
      if (cli.json) {
        await writeJson({ fingerprint: result.fingerprint, creationDate: sheet.creationDate.toISOString(), ceremony: result.ceremony });
      } else {
        note(`your key is back: ${result.fingerprint}`);
      }
    });
}
