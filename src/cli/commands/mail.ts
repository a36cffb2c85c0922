// `caliop send`, `sync`, `inbox`, `read` and `relay enrol` (docs/cli.md §3.11-§3.15).
import type { Command } from 'commander';
import { fingerprintWords } from '../../core/fingerprint-words.js';
import type { CliContext } from '../context.js';
import { CaliopError } from '../../errors.js';
import { safeForTerminal } from '../../terminal-text.js';
import { note, reportFailure, writeData, writeJson } from '../output.js';
import { WHOLE_INPUT_LIMITS } from '../../core/input-limits.js';
import { readStdinWhole } from '../../service/user-files.js';

/** docs/gateway.md §4.5.1: one line per contact an Autocrypt header added, replaced or set aside. */
function autocryptLine(learnt: { address: string; step: 'add' | 'replace' | 'change'; source: 'autocrypt' | 'autocrypt-gossip'; fingerprint: string }): string {
  const address = safeForTerminal(learnt.address);
  const where = learnt.source === 'autocrypt' ? 'their Autocrypt header' : 'an Autocrypt-Gossip header someone else sent';
  if (learnt.step === 'add') return `${address}: key ${learnt.fingerprint} learnt from ${where} (not verified: compare fingerprints in person, then "caliop contacts verify")`;
  if (learnt.step === 'replace') return `${address}: key ${learnt.fingerprint} from ${where} replaces the earlier Autocrypt key (not verified)`;
  return `${address}: WARNING, ${where} brings another key (${learnt.fingerprint}) than the one you hold; kept aside, sending is stopped until you verify it`;
}

export function registerMailCommands(program: Command, context: () => CliContext): void {
  program
    .command('send')
    .description('encrypt and sign stdin for the recipients, and submit it to the relay (queued in the outbox when it is unreachable)')
    .requiredOption('--to <addr...>', 'recipient addresses')
    .option('--subject <s>', 'the subject (travels inside the encryption)', '')
    .option('--allow-exposed', 'send even when the message would leave Caliop readable (after the assessment is shown)')
    .option('--attach <file...>', 'files to send with the message (inside the encryption)')
    .action(async (options: { to: string[]; subject: string; allowExposed?: boolean; attach?: string[] }) => {
      const cli = context();
      // docs/cli.md §3.11: addresses are checked where they are typed, before the stick is opened.
      const { parseAddress } = await import('../../api/address.js');
      const invalid = options.to.filter((address) => parseAddress(address) === null);
      if (invalid.length > 0) throw new CaliopError('usage', `not an address: ${invalid.map((address) => JSON.stringify(address)).join(', ')}`, { hint: 'give each recipient as local@domain, e.g. --to alice@example.org' });
      const [{ sendMessage }, { exposureLabel, reasonLine }] = await Promise.all([import('../../service/mail-send.js'), import('../../core/exposure-text.js')]);
      const { readAttachmentsToSend } = await import('../../service/attachments.js');
      const attachments = await readAttachmentsToSend(options.attach ?? []);
      const body = utf8Body(await readStdinWhole(WHOLE_INPUT_LIMITS.stdinMessageBytes, 'the message'));
      const session = await cli.unlock();
      const language = session.contents.settings.language;
      const report = await sendMessage(session, {
        to: options.to,
        subject: options.subject,
        body,
        attachments,
        now: new Date(),
        allowExposed: options.allowExposed === true,
        beforeSend(assessment) {
          // docs/cli.md §3.11: the assessment per recipient is printed before anything leaves.
          for (const { address, assessment: each } of assessment.perRecipient) {
            note(`to ${address}: ${exposureLabel(each, language, { ascii: !process.stderr.isTTY })} (${each.score}/100)`);
            for (const reason of each.reasons.filter((candidate) => candidate.decisive)) note(`    ${reasonLine(reason, language)}`);
          }
          note(`this message: ${exposureLabel(assessment.message, language, { ascii: !process.stderr.isTTY })} (${assessment.message.score}/100)`);
          return true; // the service refuses exposed recipients without --allow-exposed
        },
      });
      if (cli.json) {
        const { waitReason, ...rest } = report;
        await writeJson({ ...rest, ...(waitReason === undefined ? {} : { waitReason: { code: waitReason.code, message: waitReason.message } }) });
        return;
      }
      const why = report.waitReason === undefined || report.waitReason.code === 'relay_unreachable' ? 'the relay could not be reached' : `the relay answered but could not take it now (${report.waitReason.code}: ${report.waitReason.message})`;
      note(report.queued ? `message ${report.id} waits in the outbox: ${why}; "caliop sync" sends it` : `message ${report.id} sent`);
    });

  program
    .command('sync')
    .description('send what waits in the outbox, fetch new mail into the vault, then delete it from the relay')
    .action(async () => {
      const cli = context();
      const session = await cli.unlock(() => import('../../service/mail-sync.js'));
      const { syncMailbox } = await import('../../service/mail-sync.js');
      const report = await syncMailbox(session, new Date());
      if (cli.json) await writeJson(report);
      else note(`sent ${report.sent}, received ${report.received}, ${report.queued} waiting in the outbox`);
      for (const error of report.errors) note(`could not send ${error}`);
      // docs/cli.md §3.12: what the Autocrypt headers of the new mail did to the contacts.
      if (!cli.json) for (const learnt of report.autocrypt) note(autocryptLine(learnt));
      // docs/cli.md §3.12: a failed message is exit 42, named, after everything else was done.
      for (const failed of report.failed) note(`message ${failed.id} to ${failed.to.join(', ')} failed: ${failed.reason}`);
      // docs/cli.md §3.12, docs/lost-stick.md §4: the changed-key alarm, with the new key's words to compare in person.
      for (const change of report.changedContacts) {
        const words = fingerprintWords(change.newFingerprint, session.contents.settings.language).join(' ');
        const announced = change.announcedAt ? `, as the relay announced on ${change.announcedAt.slice(0, 10)}` : '';
        note(`WARNING: the key of ${change.address} changed${announced}: known ${change.fingerprint}, new ${change.newFingerprint} (words: ${words}). Mail to them is stopped until you compare these words in person ("caliop contacts verify ${change.address} --words '…'") or accept the new key ("caliop contacts accept ${change.address}")`);
      }
      // docs/vault-contents.md §6: the stick's changed cert (the post-quantum subkey, a renewal made offline) went to the directory.
      if (report.certPublished && !cli.json) note('your certificate was published to the relay directory (same key, updated)');
      for (const revoked of report.revokedContacts) note(`${revoked.address} revoked their key on ${revoked.at.slice(0, 10)}: ${revoked.reason}; mail to them stops`);
      if (!cli.json && report.renewalAdopted) note(`your key was renewed on ${report.renewalAdopted.slice(0, 10)} from another stick: this stick has the renewal too`);
      // docs/ceremony.md §6.6: once a week at most, from 90 days before expiry.
      if (report.keyReminder?.state === 'renew-soon') note(`your key expires on ${report.keyReminder.expiresAt.slice(0, 10)} (in ${report.keyReminder.daysLeft} days): run "caliop key renew"`);
      if (report.keyReminder?.state === 'expired') note(`your key expired on ${report.keyReminder.expiresAt.slice(0, 10)}: nothing can be sent until you run "caliop key renew"`);
      if (report.failed.length > 0) {
        throw new CaliopError('outbox_message_failed', `${report.failed.length === 1 ? 'message' : 'messages'} ${report.failed.map((failed) => failed.id).join(', ')} could not be sent and ${report.failed.length === 1 ? 'waits' : 'wait'} in the outbox as failed`);
      }
    });

  const outbox = program.command('outbox').description('the messages waiting to be sent: list them, retry or drop a failed one');
  outbox.action(async () => {
    const cli = context();
    const session = await cli.unlock();
    const { listOutbox } = await import('../../service/mail-outbox.js');
    const entries = listOutbox(session);
    if (cli.json) {
      await writeJson(entries);
      return;
    }
    if (entries.length === 0) {
      note('the outbox is empty');
      return;
    }
    const lines = entries.map((entry) =>
      [entry.id.padStart(4), entry.state.padEnd(6), entry.createdAt.slice(0, 16).replace('T', ' '), `to ${entry.to.join(', ')}`.slice(0, 36).padEnd(36), entry.subject, entry.reason ? `\n        ${entry.state === 'failed' ? 'refused' : 'last try'}: ${entry.reason}` : ''].join('  ').trimEnd(),
    );
    await writeData(`${lines.join('\n')}\n`);
  });
  outbox
    .command('retry')
    .description('clear a failed message and submit it now')
    .argument('<id>', 'the id from "caliop outbox"')
    .action(async (id: string) => {
      const cli = context();
      const session = await cli.unlock();
      const { retryOutboxMessage } = await import('../../service/mail-outbox.js');
      const result = await retryOutboxMessage(session, id, new Date());
      if (cli.json) await writeJson(result);
      else note(`message ${id} sent`);
    });
  outbox
    .command('drop')
    .description('remove a message from the outbox without sending it')
    .argument('<id>', 'the id from "caliop outbox"')
    .action(async (id: string) => {
      const cli = context();
      const session = await cli.unlock();
      const { dropOutboxMessage } = await import('../../service/mail-outbox.js');
      const dropped = await dropOutboxMessage(session, id);
      if (cli.json) await writeJson(dropped);
      else note(`message ${id} to ${dropped.to.join(', ')} was dropped from the outbox, unsent`);
    });

  program
    .command('inbox')
    .description('list the messages in the vault: id, from, subject, date, signature and sender key')
    .option('--limit <n>', 'list only the n newest messages (after --offset)')
    .option('--offset <n>', 'skip the n newest messages', '0')
    .action(async (options: { limit?: string; offset: string }) => {
      const cli = context();
      const count = (value: string | undefined, flag: string) => {
        if (value === undefined) return undefined;
        if (!/^\d+$/.test(value)) throw new CaliopError('usage', `${flag} must be a whole number, not ${JSON.stringify(value)}`);
        return Number(value);
      };
      const limit = count(options.limit, '--limit');
      const offset = count(options.offset, '--offset') ?? 0;
      const [{ listInbox }, { exposureLabel }, { fitAddressList, fitSender }] = await Promise.all([
        import('../../service/mailbox-view.js'),
        import('../../core/exposure-text.js'),
        import('../../core/mailbox-fit.js'),
      ]);
      const session = await cli.unlock();
      const entries = await listInbox(session, { offset, ...(limit !== undefined ? { limit } : {}) });
      const language = session.contents.settings.language;
      if (cli.json) {
        await writeJson(entries);
        return;
      }
      if (entries.length === 0) {
        note('no messages (run "caliop sync" to fetch new ones)');
        return;
      }
      const lines = entries.map((entry) =>
        [
          entry.unread ? '*' : ' ',
          entry.id.padStart(4),
          entry.date.slice(0, 16).replace('T', ' '),
          // docs/ui.md §4: whole addresses where they fit, display names cut first.
          // docs/exposure.md §4.1.1: an unproven From marked, the sender the relay vouches for shown (`read` says both).
          entry.direction === 'out'
            ? fitAddressList('to ', entry.to.map((address) => safeForTerminal(address)), 28)
            : fitSender(safeForTerminal(entry.from), entry.fromUnproven && { claimed: safeForTerminal(entry.fromUnproven.claimed), outer: entry.fromUnproven.outer === null ? null : safeForTerminal(entry.fromUnproven.outer) }, 28),
          exposureLabel(entry.exposure, language, { ascii: !process.stdout.isTTY }).padEnd(34),
          entry.sealed ? `[sealed: ${entry.sealed.text}] ${safeForTerminal(entry.subject)}` : safeForTerminal(entry.subject),
        ].join('  '),
      );
      await writeData(`${lines.join('\n')}\n`);
    });

  program
    .command('read')
    .description('show a message: headers, signature status, body and attachments; or save its attachments')
    .argument('<id>', 'the message id from "caliop inbox"')
    .option('--save-attachments <dir>', 'write the attachments into this existing folder (names made safe)')
    .option('--attachment <n>', 'with --save-attachments: only attachment number N (from --json)')
    .option('--force', 'with --save-attachments: replace files of the same name')
    .action(async (id: string, options: { saveAttachments?: string; attachment?: string; force?: boolean }) => {
      const cli = context();
      if (options.saveAttachments === undefined && (options.attachment !== undefined || options.force)) {
        throw new CaliopError('usage', '--attachment and --force go with --save-attachments DIR');
      }
      const index = options.attachment === undefined ? undefined : Number(options.attachment);
      if (index !== undefined && (!Number.isSafeInteger(index) || index < 1)) throw new CaliopError('usage', `--attachment takes a number from 1, not "${options.attachment}"`);
      if (options.saveAttachments !== undefined) {
        const session = await cli.unlock();
        const { saveAttachments } = await import('../../service/attachments.js');
        const saved = await saveAttachments(session, id, { folder: options.saveAttachments, force: options.force === true, ...(index !== undefined ? { index } : {}) });
        if (cli.json) await writeJson(saved);
        else if (saved.length === 0) note(`message ${id} has no attachments`);
        else for (const file of saved) note(`saved attachment ${file.index} (${file.size} bytes) as ${file.path}`);
        return;
      }
      const [{ readOne }, { exposureLabel, reasonLine }] = await Promise.all([import('../../service/mailbox-view.js'), import('../../core/exposure-text.js')]);
      const session = await cli.unlock();
      const view = await readOne(session, id);
      const language = session.contents.settings.language;
      // docs/limits.md §3: a sealed message is shown with its reason, and exits 39.
      const sealedFailure = () => {
        if (view.sealed) reportFailure('message_over_limit', `message ${view.id} stays sealed: ${view.sealed.text}`, `remove it with "caliop delete ${view.id}"`);
      };
      if (cli.json) {
        await writeJson(view);
        sealedFailure();
        return;
      }
      // Every field a sender or the relay wrote is made inert before the terminal sees it.
      const lines = [
        `From:      ${safeForTerminal(view.from)}`,
        `To:        ${safeForTerminal(view.to.join(', '))}`,
        `Subject:   ${safeForTerminal(view.subject)}`,
        `Date:      ${safeForTerminal(view.date)}`,
        `Signature: ${view.signature}${view.signerFingerprint ? ` (${view.signerFingerprint})` : ''}; sender key: ${view.senderKey}`,
        `Exposure:  ${exposureLabel(view.exposure, language, { ascii: !process.stdout.isTTY })} (${view.exposure.score}/100)`,
        ...view.exposure.reasons.map((reason) => `           - ${safeForTerminal(reasonLine(reason, language))}`),
        // docs/message-payload.md §4.5: the text's charset was a guess.
        ...(view.charsetGuess === null ? [] : [`Charset:   ${view.charsetGuess}, guessed (the sender declared none, or a wrong one)`]),
        ...view.attachments.map((attachment, position) => `${position === 0 ? 'Attached:  ' : '           '}${attachment.index}. ${safeForTerminal(attachment.name || '(no name)')} (${safeForTerminal(attachment.type)}, ${attachment.size} bytes)`),
        '',
        view.sealed
          ? `(this message stays sealed: ${view.sealed.text})`
          : view.body === null
            ? '(this message could not be decrypted with your key)'
            : safeForTerminal(view.body, { multiline: true }),
      ];
      await writeData(`${lines.join('\n').trimEnd()}\n`);
      sealedFailure();
    });

  program
    .command('delete')
    .description('remove a message from the vault (also one that stays sealed because it is over a limit)')
    .argument('<id>', 'the message id from "caliop inbox"')
    .action(async (id: string) => {
      const cli = context();
      const session = await cli.unlock();
      const { deleteMessage } = await import('../../service/mail-read.js');
      const removed = await deleteMessage(session, id);
      if (cli.json) await writeJson({ deleted: removed.id });
      else note(`message ${removed.id} deleted`);
    });

  const relay = program.command('relay').description('the relay this stick talks to');
  relay
    .command('enrol')
    .description('enrol this stick\'s identity with a relay (also done by "caliop init --server")')
    .option('--server <url>', 'the relay URL (default: the one in the stick\'s config.json)')
    .option('--server-pin <pin>', "the relay certificate's pin, sha256/<base64>")
    .option('--invite-token <token>', 'an invite token, if the relay asks for one')
    .option('--device-name <name>', "this stick's name within your account (default: stick-N)")
    .action(async (options: { server?: string; serverPin?: string; inviteToken?: string; deviceName?: string }) => {
      const cli = context();
      const session = await cli.unlock();
      const { enrolWithRelay, relayTargetOf } = await import('../../service/relay-account.js');
      const target = options.server !== undefined ? { url: options.server, pin: options.serverPin } : relayTargetOf(session);
      if (!target) throw new CaliopError('relay_not_configured', 'no relay is named', { hint: 'pass --server URL --server-pin PIN' });
      const account = await enrolWithRelay(session, { ...target, inviteToken: options.inviteToken, deviceName: options.deviceName });
      if (cli.json) await writeJson(account);
      else note(`enrolled as ${account.address} with ${account.url}${account.deviceName ? ` (this stick: ${account.deviceName})` : ''}`);
      if (!cli.json && account.renewedAt) note(`your key was renewed on ${account.renewedAt.slice(0, 10)} from another stick: this stick has the renewal too`);
    });
}

/**
 * docs/cli.md §3.11: the message's text is UTF-8; anything else is refused before the stick is
 * opened, never replaced by U+FFFD (issue 9: "Caf\xe9" went out as "Caf\ufffd" without a word).
 */
function utf8Body(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CaliopError('bad_input', 'the message on stdin is not UTF-8 text', {
      hint: 'convert it first (e.g. iconv -f latin1 -t utf-8), or send a file as it is with --attach FILE',
    });
  }
}
