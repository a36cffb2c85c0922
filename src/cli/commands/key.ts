// `caliop key show`, `caliop key export`, `caliop passwd` (docs/cli.md §key, §passwd).
import { Option, type Command } from 'commander';
import { CaliopError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { note, writeData, writeJson } from '../output.js';

export function registerKeyCommands(program: Command, context: () => CliContext): void {
  const key = program.command('key').description('your own key: show it, export it');

  key
    .command('show')
    .description('show your key, how the ceremony went, and the vault\'s KDF parameters')
    .action(async () => {
      const cli = context();
      const session = await cli.unlock(() => Promise.all([import('../../service/keys.js'), import('../../service/pgp.js')]));
      const { describeKey } = await import('../../service/keys.js');
      const description = await describeKey(session);
      if (cli.json) {
        await writeJson(description);
        return;
      }
      const { formatFingerprint } = await import('../../service/pgp.js');
      const lines = [
        `Name:         ${description.name}`,
        `Address:      ${description.email}`,
        `Fingerprint:  ${formatFingerprint(description.fingerprint)}`,
        `Words:        ${description.fingerprintWords.join(' ')} (${description.fingerprintWordsLanguage})`,
        `Numbers:      ${description.fingerprintNumbers.join(' ')} (the same in every language)`,
        `Created:      ${description.createdAt}`,
        ...description.subkeys.map(
          (subkey, index) =>
            `${index === 0 ? 'Subkeys:      ' : '              '}${subkey.usage.join('+').padEnd(12)} ${subkey.algorithm.padEnd(16)} expires ${subkey.expiresAt ?? 'never'}`,
        ),
        `Ceremony:     ${
          description.ceremony.offline
            ? `${description.ceremony.kind} on an offline machine`
            : `${description.ceremony.kind} on an ONLINE machine, allowed with --allow-online (${description.ceremony.networkEvidence.join('; ')})`
        }, ${description.ceremony.performedAt}`,
        `Expires:      ${description.lifetime.expiresAt.slice(0, 10)} (${
          description.lifetime.state === 'expired' ? 'EXPIRED: run "caliop key renew"' : description.lifetime.state === 'renew-soon' ? `in ${description.lifetime.daysLeft} days: run "caliop key renew"` : `in ${description.lifetime.daysLeft} days`
        }${description.lifetime.renewedAt ? `; renewed ${description.lifetime.renewedAt.slice(0, 10)}` : ''})`,
        ...(description.revoked ? [`Revoked:      ${description.revoked.at.slice(0, 10)} (${description.revoked.reason})`] : []),
        `Backup check: ${description.ceremony.backupChecked ? 'done' : 'not done (run "caliop backup check")'}`,
        `Vault KDF:    ${description.kdf.algorithm}, ${description.kdf.memoryKiB / 1024} MiB, ${description.kdf.passes} passes, parallelism ${description.kdf.parallelism}`,
        `Relay:        ${description.relay ? `${description.relay.url} (${description.relay.pin ?? 'no pin'})` : 'none'}`,
      ];
      await writeData(`${lines.join('\n')}\n`);
    });

  key
    .command('export')
    .description('print your certificate (armored); --secret for the secret key, --revocation for the revocation certificate')
    .option('--secret', 'export the secret key, protected by your vault passphrase')
    .option('--revocation', 'export the revocation certificate made at the ceremony')
    .action(async (options: { secret?: boolean; revocation?: boolean }) => {
      const cli = context();
      if (options.secret && options.revocation) throw new CaliopError('usage', '--secret and --revocation exclude each other');
      const session = await cli.unlock();
      const identity = await session.identity();
      if (options.revocation) {
        await writeData(identity.revocationCertificate);
        return;
      }
      if (options.secret) {
        const { exportProtectedSecretKey } = await import('../../service/keys.js');
        const passphrase = await cli.passphrase('Passphrase to protect the exported key (your vault passphrase): ');
        await writeData(await exportProtectedSecretKey(session, passphrase));
        return;
      }
      // docs/decisions/post-quantum.md: what is printed is for others: the cert outsiders get.
      await writeData(identity.armoredCertForOutsiders);
    });

  key
    .command('renew')
    .description('extend your subkeys for 1096 days from today (the same key and fingerprint), and publish it to your relay')
    .action(async () => {
      const cli = context();
      const session = await cli.unlock();
      const { renewKey } = await import('../../service/key-lifecycle.js');
      const report = await renewKey(session, new Date());
      if (cli.json) await writeJson(report);
      else {
        note(`your key is renewed: it now expires on ${report.expiresAt.slice(0, 10)} (same fingerprint)`);
        note(report.published ? 'the relay directory has the renewed certificate: your contacts get it at their next sync' : 'this stick has no relay account: give "caliop key export" to your contacts, or run "caliop key renew" again once enrolled');
      }
    });

  key
    .command('revoke')
    .description('publish the revocation of your key (docs/lost-stick.md §3): contacts stop encrypting to it')
    .addOption(new Option('--reason <reason>', 'why: the stick was lost, the key may be known to someone, or a newer key replaces it').choices(['lost', 'compromised', 'superseded']))
    .action(async (options: { reason?: 'lost' | 'compromised' | 'superseded' }) => {
      const cli = context();
      const session = await cli.unlock();
      const { revokeKey } = await import('../../service/key-lifecycle.js');
      const report = await revokeKey(session, options.reason, new Date());
      if (cli.json) await writeJson({ revokedAt: report.revokedAt, reason: report.reason, published: report.published });
      else {
        note(`your key is revoked (${report.reason}, ${report.revokedAt.slice(0, 10)})`);
        note(report.published ? 'the relay directory has the revocation: your contacts learn it at their next sync' : 'this stick has no relay account: give "caliop key export" to your contacts');
      }
    });

  program
    .command('passwd')
    .description('re-seal the vault under a new passphrase; the key does not change')
    .option('--new-passphrase-file <file>', 'the new passphrase: FILE, @ENV:NAME or @FD:N (else asked twice)')
    .option('--accept-weak-passphrase', 'keep a passphrase the estimator finds weak')
    .action(async (options: { newPassphraseFile?: string; acceptWeakPassphrase?: boolean }) => {
      const cli = context();
      const session = await cli.unlock();
      const { changePassphrase } = await import('../../service/keys.js');
      const next = await cli.newPassphrase(options.newPassphraseFile, 'new passphrase');
      await changePassphrase(session, next, { acceptWeak: options.acceptWeakPassphrase === true });
      if (cli.json) await writeJson({ resealed: true, kdf: session.kdf });
      else note('the vault is sealed under the new passphrase');
    });
}
