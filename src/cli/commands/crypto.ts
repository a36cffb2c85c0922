// gpg-like pipes: encrypt, decrypt, sign, verify (docs/cli.md §encrypt … §verify).
import type { Command } from 'commander';
import { CaliopError } from '../../errors.js';
import type { SignatureCheck } from '../../service/pgp.js';
import type { Destination } from '../../service/pgp-stream.js';
import type { StickSession } from '../../service/stick-session.js';
import { WHOLE_INPUT_LIMITS } from '../../core/input-limits.js';
import { readStdinWhole, readUserFile } from '../../service/user-files.js';
import type { CliContext } from '../context.js';
import { looksBinary, note, refuseBinaryToTerminal, reportFailure, writeData, writeJson } from '../output.js';

async function describeSignatures(session: StickSession, checks: readonly SignatureCheck[]) {
  const { contactByFingerprint } = await import('../../service/contacts.js');
  const own = session.contents.identity;
  return checks.map((check) => {
    const contact = contactByFingerprint(session, check.signerFingerprint);
    const self = check.signerFingerprint === own.fingerprint;
    return {
      ...check,
      signer: self ? own.email : (contact?.address ?? null),
      verification: self ? 'self' : contact ? (contact.changedCert ? 'changed' : contact.verification) : null,
    };
  });
}

type DescribedSignature = Awaited<ReturnType<typeof describeSignatures>>[number];

function reportSignatures(signatures: readonly DescribedSignature[]): void {
  if (signatures.length === 0) note('signature: unsigned');
  for (const signature of signatures) {
    const who = signature.signer ? `${signature.signer} (${signature.signerFingerprint})` : `unknown key ${signature.keyId}`;
    const trust = signature.verification === 'verified' ? ', verified in person' : signature.verification === 'self' ? ', your own key' : signature.verification ? `, ${signature.verification}` : '';
    const when = signature.created ? `, made ${signature.created}` : '';
    // docs/cli.md §6.2: one line per state; `bad` only when the signature does not verify.
    if (signature.status === 'good') note(`signature: good, by ${who}${trust}${when}`);
    else if (signature.status === 'good-weak') note(`signature: good-weak (valid, but ${signature.detail ?? 'made with a weak algorithm'}), by ${who}${trust}${when}`);
    else if (signature.status === 'bad') note(`signature: BAD, claims to be by ${who}: ${signature.detail ?? 'verification failed'}`);
    else if (signature.status === 'expired-key') note(`signature: expired-key, by ${who}: ${signature.detail ?? 'the key had expired'}`);
    else if (signature.status === 'revoked-key') note(`signature: revoked-key, by ${who}: ${signature.detail ?? 'the key is revoked'}`);
    else if (signature.status === 'unsupported-algorithm') note(`signature: unsupported-algorithm, by ${who}: ${signature.detail ?? 'cannot be checked'}`);
    else note(`signature: by ${who}, which is not among your contacts: cannot be checked`);
  }
}

/** docs/cli.md §Exit codes: a bad signature fails; no good signature from a known key is 16 for verify. */
function signatureFailure(signatures: readonly DescribedSignature[], requireGood: boolean): 'bad_signature' | 'no_signature' | undefined {
  if (signatures.some((signature) => signature.status === 'bad')) return 'bad_signature';
  if (requireGood && !signatures.some((signature) => signature.status === 'good' || signature.status === 'good-weak')) return 'no_signature';
  return undefined;
}

interface OutputOptions {
  readonly output?: string;
  readonly force?: boolean;
}

/**
 * docs/cli.md §2.1: `--output FILE` (written beside, renamed when complete), else stdout.
 * On stdout, plaintext that is not text is refused when stdout is a terminal (§2).
 */
function destinationOf(options: OutputOptions, plaintext: boolean): Destination {
  if (options.output !== undefined) return { file: options.output, replace: options.force === true };
  if (options.force) throw new CaliopError('usage', '--force only goes with --output FILE');
  let first = true;
  return {
    sink: async (chunk) => {
      if (first && plaintext) refuseBinaryToTerminal(looksBinary(chunk.subarray(0, 4096), true));
      first = false;
      await writeData(chunk);
    },
    terminal: plaintext && process.stdout.isTTY === true,
  };
}

export function registerCryptoCommands(program: Command, context: () => CliContext): void {
  program
    .command('encrypt')
    .description('encrypt stdin to one or more recipients (address or fingerprint); armored unless --binary')
    .requiredOption('--to <recipient...>', 'a contact\'s address or fingerprint (repeat for several)')
    .option('--sign', 'also sign with your key')
    .option('--binary', 'write binary OpenPGP instead of ASCII armor')
    .option('--output <file>', 'write to FILE (complete, or not at all) instead of stdout')
    .option('--force', 'with --output, replace an existing file')
    .action(async (options: { to: string[]; sign?: boolean; binary?: boolean } & OutputOptions) => {
      const cli = context();
      refuseBinaryToTerminal(options.binary === true && options.output === undefined);
      const [{ recipientCert }, { encryptStream }] = await Promise.all([import('../../service/contacts.js'), import('../../service/pgp-stream.js')]);
      // Issue 13: unlock first, then stream the input; memory does not grow with its size.
      const session = await cli.unlock();
      const recipients = [];
      for (const recipient of options.to) recipients.push((await recipientCert(session, recipient)).cert);
      const identity = await session.identity();
      await encryptStream({
        input: process.stdin,
        recipients,
        armor: options.binary !== true,
        ...(options.sign ? { signingKeys: [identity.privateKey] } : {}),
        destination: destinationOf(options, false),
      });
    });

  program
    .command('decrypt')
    .description('decrypt stdin to stdout, verifying signatures; status on stderr (or JSON with --json)')
    .option('--output <file>', 'write the plaintext to FILE, only once the whole message is intact')
    .option('--force', 'with --output, replace an existing file')
    .action(async (options: OutputOptions) => {
      const cli = context();
      if (cli.json) {
        // --json carries the plaintext inside the document: held whole, within docs/limits.md §2.1 and §5.
        const data = await readStdinWhole(WHOLE_INPUT_LIMITS.stdinMessageBytes, 'the message');
        if (data.length === 0) throw new CaliopError('bad_input', 'nothing was given on stdin', { hint: 'caliop decrypt < message.asc > message.txt' });
        // Issue 13: the services load while Argon2id runs, not before it starts.
        const session = await cli.unlock(() => Promise.all([import('../../service/pgp.js'), import('../../service/contacts.js')]));
        const [{ decryptData }, { verificationCerts }] = await Promise.all([import('../../service/pgp.js'), import('../../service/contacts.js')]);
        const identity = await session.identity();
        const result = await decryptData(data, identity.privateKey, await verificationCerts(session));
        const signatures = await describeSignatures(session, result.signatures);
        const binary = looksBinary(result.data);
        await writeJson({
          encoding: binary ? 'base64' : 'utf8',
          plaintext: binary ? Buffer.from(result.data).toString('base64') : new TextDecoder().decode(result.data),
          signatures,
        });
        const failure = signatureFailure(signatures, false);
        if (failure) reportFailure(failure);
        return;
      }
      const session = await cli.unlock(() => Promise.all([import('../../service/pgp-stream.js'), import('../../service/contacts.js')]));
      const [{ decryptStream, standardInput }, { verificationCerts }] = await Promise.all([import('../../service/pgp-stream.js'), import('../../service/contacts.js')]);
      const identity = await session.identity();
      const result = await decryptStream({
        input: standardInput(),
        decryptionKey: identity.privateKey,
        verificationKeys: await verificationCerts(session),
        destination: destinationOf(options, true),
      });
      const signatures = await describeSignatures(session, result.signatures);
      reportSignatures(signatures);
      if (result.withheld) {
        // docs/cli.md §3.7: nothing of a message with a bad signature was given out.
        reportFailure('bad_signature', options.output === undefined ? 'the signature is not valid: the plaintext was not written' : `the signature is not valid: ${options.output} was not written`);
        return;
      }
      const failure = signatureFailure(signatures, false);
      if (failure) reportFailure(failure);
    });

  program
    .command('sign')
    .description('sign stdin: an armored signed message, or with --detached an armored detached signature')
    .option('--detached', 'write only the signature')
    .option('--binary', 'write binary OpenPGP instead of ASCII armor')
    .option('--output <file>', 'write to FILE (complete, or not at all) instead of stdout')
    .option('--force', 'with --output, replace an existing file')
    .action(async (options: { detached?: boolean; binary?: boolean } & OutputOptions) => {
      const cli = context();
      refuseBinaryToTerminal(options.binary === true && options.output === undefined);
      const session = await cli.unlock(() => import('../../service/pgp-stream.js'));
      const { signStream } = await import('../../service/pgp-stream.js');
      const identity = await session.identity();
      await signStream({
        input: process.stdin,
        signingKey: identity.privateKey,
        detached: options.detached === true,
        armor: options.binary !== true,
        destination: destinationOf(options, false),
      });
    });

  program
    .command('verify')
    .description('verify a signed message on stdin, or stdin against --signature FILE; exit 0 only for a good signature from a known key')
    .option('--signature <file>', 'a detached signature of stdin')
    .action(async (options: { signature?: string }) => {
      const cli = context();
      const [{ verifyData }, { verificationCerts }] = await Promise.all([import('../../service/pgp.js'), import('../../service/contacts.js')]);
      const detached = options.signature === undefined ? undefined : await readUserFile(options.signature, 'the signature file');
      const data = await readStdinWhole(WHOLE_INPUT_LIMITS.stdinDataBytes, 'the data');
      const session = await cli.unlock();
      const result = await verifyData(data, await verificationCerts(session), detached);
      const signatures = await describeSignatures(session, result.signatures);
      if (cli.json) await writeJson({ signatures });
      else reportSignatures(signatures);
      const failure = signatureFailure(signatures, true);
      if (failure) reportFailure(failure);
    });
}
