// `caliop contacts import|list|verify|remove` (docs/cli.md §contacts).
import type { Command } from 'commander';
import { safeForTerminal } from '../../terminal-text.js';
import { CaliopError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { note, reportFailure, writeData, writeJson } from '../output.js';
import { WHOLE_INPUT_LIMITS } from '../../core/input-limits.js';
import { readStdinWhole } from '../../service/user-files.js';

export function registerContactCommands(program: Command, context: () => CliContext): void {
  const contacts = program.command('contacts').description('the certificates of the people you write to');

  contacts
    .command('import')
    .description('import one or more certificates from stdin (armored or binary)')
    .action(async () => {
      const cli = context();
      const { importContacts } = await import('../../service/contacts.js');
      const data = await readStdinWhole(WHOLE_INPUT_LIMITS.stdinMessageBytes, 'the certificates');
      if (data.length === 0) throw new CaliopError('bad_input', 'nothing was given on stdin', { hint: 'caliop contacts import < cert.asc' });
      const session = await cli.unlock();
      const report = await importContacts(session, data, new Date());
      if (cli.json) {
        await writeJson(report);
      } else {
        for (const address of report.added) note(`added ${address} (not verified: compare fingerprints in person, then "caliop contacts verify")`);
        for (const address of report.unchanged) note(`${address}: already known, unchanged`);
        for (const update of report.updated) note(`${update.address}: same key, updated: ${update.changes.join('; ')}`);
        for (const cert of report.certs) {
          if (cert.state !== 'usable') note(`${cert.addresses.join(', ') || cert.fingerprint}: WARNING, this certificate is ${cert.detail}; encrypting to it will be refused`);
        }
        for (const address of report.changed) note(`${address}: WARNING, this certificate differs from the known one; kept aside, sending is stopped until you verify it`);
      }
      if (report.changed.length > 0) reportFailure('contact_key_changed');
    });

  contacts
    .command('list')
    .description('list your contacts and how far each is verified')
    .action(async () => {
      const cli = context();
      const session = await cli.unlock();
      const { certStatus, readCert } = await import('../../service/pgp.js');
      const now = new Date();
      const statuses = await Promise.all(session.contents.contacts.map(async (contact) => certStatus(await readCert(contact.armoredCert), now)));
      const rows = session.contents.contacts.map((contact, index) => ({
        address: contact.address,
        name: contact.name ?? null,
        fingerprint: contact.fingerprint,
        verification: contact.changedCert ? 'changed' : contact.verification,
        source: contact.source,
        addedAt: contact.addedAt,
        verifiedAt: contact.verifiedAt ?? null,
        changedFingerprint: contact.changedCert?.fingerprint ?? null,
        /** docs/api.md §7.1: the date the relay's directory announced the change (a new ceremony), or null. */
        changeAnnouncedAt: contact.changedCert?.announcedAt ?? null,
        /** docs/vault-contents.md §3.4: the Autocrypt Level 1 peer state (prefer-encrypt kept, not obeyed), or null. */
        autocrypt: contact.autocrypt ?? null,
        /** docs/cli.md §6.3: usable, expired, revoked or no-encryption-subkey. */
        certState: statuses[index]!.state,
        certVersion: statuses[index]!.version,
      }));
      if (cli.json) {
        await writeJson(rows);
        return;
      }
      const { formatFingerprint } = await import('../../service/pgp.js');
      const symbol = { verified: '[verified]  ', unverified: '[unverified]', changed: '[CHANGED!]  ' } as const;
      await writeData(
        rows.map((row) => `${symbol[row.verification as keyof typeof symbol]} ${safeForTerminal(row.address)}  ${formatFingerprint(row.fingerprint)}${row.changedFingerprint ? `  now ${formatFingerprint(row.changedFingerprint)}` : ''}${row.certState === 'usable' ? '' : `  (${statuses[rows.indexOf(row)]!.detail})`}\n`).join(''),
      );
    });

  contacts
    .command('verify')
    .description('after comparing the fingerprint (or its 8 words) in person, mark the contact as verified')
    .argument('<addr>', 'the contact\'s address')
    .option('--fingerprint <fpr>', 'the fingerprint your contact read to you (spaces allowed)')
    .option('--words <words>', 'the 8 words (or 8 numbers) of their key, as your contact read them to you')
    .action(async (address: string, options: { fingerprint?: string; words?: string }) => {
      const cli = context();
      if ((options.fingerprint === undefined) === (options.words === undefined)) throw new CaliopError('usage', 'give --fingerprint FPR or --words \'W1 … W8\' (one of them)');
      const session = await cli.unlock();
      const { verifyContact } = await import('../../service/contacts.js');
      const contact = options.words !== undefined
        ? await verifyContact(session, address, options.words, new Date(), 'words')
        : await verifyContact(session, address, options.fingerprint!, new Date());
      if (cli.json) await writeJson({ address: contact.address, fingerprint: contact.fingerprint, verification: contact.verification });
      else note(`${contact.address} is verified in person`);
    });

  contacts
    .command('accept')
    .description('take a contact\'s changed key without meeting them (it stays "unverified"); sending resumes')
    .argument('<addr>', 'the contact\'s address')
    .action(async (address: string) => {
      const cli = context();
      const session = await cli.unlock();
      const { acceptContactChange } = await import('../../service/contacts.js');
      const contact = await acceptContactChange(session, address, new Date());
      if (cli.json) await writeJson({ address: contact.address, fingerprint: contact.fingerprint, verification: contact.verification });
      else note(`${contact.address}: the new key ${contact.fingerprint} is accepted, not verified; compare its words in person when you can`);
    });

  contacts
    .command('remove')
    .description('forget a contact')
    .argument('<addr>', 'the contact\'s address')
    .action(async (address: string) => {
      const cli = context();
      const session = await cli.unlock();
      const { removeContact } = await import('../../service/contacts.js');
      await removeContact(session, address);
      if (!cli.json) note(`${address} removed`);
      else await writeJson({ removed: address });
    });
}
