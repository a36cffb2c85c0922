// The README's main job: the whole story on throwaway sticks, printed step by step.
// It drives the real `caliop` command, exactly as a user or a script would, and
// removes its throwaway folders at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { startRelayProcess } from '../src/relay/relay-process.js';

const here = dirname(fileURLToPath(import.meta.url));
const caliopEntry = resolve(here, '../src/cli/main.js');
const workspace = mkdtempSync(join(tmpdir(), 'caliop-demo-'));
const env: NodeJS.ProcessEnv = { ...process.env, DEMO_ALICE_PASSPHRASE: 'correct horse battery staple of alice', DEMO_BOB_PASSPHRASE: 'bob keeps a long passphrase on paper' };

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);

function step(title: string): void {
  process.stdout.write(`\n${bold(`== ${title}`)}\n`);
}

interface Run {
  stdout: string;
  stderr: string;
  status: number;
}

function caliop(args: string[], options: { input?: string; show?: 'all' | 'stderr' | 'none'; expectStatus?: number } = {}): Run {
  const shown = args.map((arg) => (arg.includes(' ') ? `'${arg}'` : arg)).join(' ').replaceAll(workspace, '$DEMO');
  process.stdout.write(`$ caliop ${shown}${options.input !== undefined ? ' < input' : ''}\n`);
  const result = spawnSync(process.execPath, [caliopEntry, ...args], { input: options.input ?? '', env, encoding: 'utf8' });
  const run = { stdout: result.stdout, stderr: result.stderr, status: result.status ?? -1 };
  const show = options.show ?? 'all';
  const indent = (text: string) => text.trimEnd().split('\n').map((line) => `    ${line}`).join('\n');
  if (show === 'all' && run.stdout.trim()) process.stdout.write(`${indent(run.stdout)}\n`);
  if (show !== 'none' && run.stderr.trim()) process.stdout.write(`${indent(run.stderr)}\n`);
  if (run.status !== (options.expectStatus ?? 0)) {
    process.stdout.write(`demo: caliop exited with ${run.status}\n${run.stderr}`);
    throw new Error('the demo failed');
  }
  return run;
}

function makeStick(name: string): string {
  const stick = join(workspace, name);
  mkdirSync(stick);
  return stick;
}

async function main(): Promise<void> {
  process.stdout.write(`Caliop Key demo: an embedded relay and throwaway sticks in ${workspace}\n`);
  const DOMAIN = 'caliop.example';

  step('0. A Caliop relay starts on loopback (temporary data folder, self-signed TLS)');
  const relayData = join(workspace, 'relay-data');
  mkdirSync(relayData);
  const relayArgs = ['--smtp-listen', '127.0.0.1:0'];
  let relay = await startRelayProcess({ dataDir: relayData, domain: DOMAIN, extraArgs: relayArgs });
  process.stdout.write(`    ${relay.url}, certificate pin ${relay.pin}; SMTP gateway on ${relay.smtp!.host}:${relay.smtp!.port}\n`);
  const port = Number(new URL(relay.url).port);

  try {
    const alice = makeStick('alice-stick');
    const bob = makeStick('bob-stick');
    const A = ['--stick', alice, '--passphrase-file', '@ENV:DEMO_ALICE_PASSPHRASE'];
    const B = ['--stick', bob, '--passphrase-file', '@ENV:DEMO_BOB_PASSPHRASE'];

    step('1. Alice runs the key ceremony on her empty stick and enrols with the relay');
    process.stdout.write('(this machine is online, so the demo passes --allow-online; the vault records it)\n');
    const init = caliop([...A, '--batch', '--json', 'init', '--name', 'Alice Martin', '--email', `alice@${DOMAIN}`, '--allow-online', '--server', relay.url, '--server-pin', relay.pin!], { show: 'stderr' });
    const aliceInit = JSON.parse(init.stdout) as { fingerprint: string; recoveryPhrase: string; recoverySheet: string; kdf: object };
    process.stdout.write(`    fingerprint:     ${aliceInit.fingerprint}\n`);
    process.stdout.write(`    recovery phrase: ${aliceInit.recoveryPhrase.split(' ').slice(0, 4).join(' ')} … (24 words, on the printed sheet)\n`);

    step('2. What the stick says about Alice\'s key');
    caliop([...A, 'key', 'show']);

    step('3. Bob makes his own stick the same way');
    caliop([...B, '--batch', '--json', 'init', '--name', 'Bob Durand', '--email', `bob@${DOMAIN}`, '--allow-online', '--server', relay.url, '--server-pin', relay.pin!], { show: 'none' });
    process.stdout.write('    (done: Bob is enrolled too)\n');

    step('4. Alice writes to Bob: encrypted and signed on her stick, the relay only carries ciphertext');
    caliop([...A, 'send', '--to', `bob@${DOMAIN}`, '--subject', 'Rendez-vous samedi'], { input: 'Salut Bob,\nrendez-vous samedi à 10 h devant la médiathèque.\nAlice\n' });

    step('5. Bob syncs, lists his inbox and reads the message');
    caliop([...B, 'sync']);
    caliop([...B, 'inbox']);
    caliop([...B, 'read', '1']);

    step('6. The relay\'s database never held the subject or the body');
    const leaked = readdirSync(relayData)
      .filter((name) => name.includes('.sqlite') || name.endsWith('.db') || name.endsWith('-wal'))
      .some((name) => readFileSync(join(relayData, name)).includes(Buffer.from('médiathèque')));
    process.stdout.write(`    searched the relay's files for "médiathèque": ${leaked ? 'FOUND (this is a bug)' : 'not found'}\n`);

    step('7. Bob meets Alice and verifies her fingerprint in person');
    caliop([...B, 'contacts', 'verify', `alice@${DOMAIN}`, '--fingerprint', aliceInit.fingerprint]);
    caliop([...B, 'inbox']);

    step('8. Someone outside Caliop writes to Bob by ordinary mail (SMTP with STARTTLS, no encryption)');
    const ca = readFileSync(join(relayData, 'dev-tls-cert.pem'), 'utf8');
    const outside = nodemailer.createTransport({ host: relay.smtp!.host, port: relay.smtp!.port, secure: false, requireTLS: true, tls: { ca }, name: 'mail.elsewhere.example' });
    await outside.sendMail({
      from: 'Gina <gina@elsewhere.example>',
      to: `bob@${DOMAIN}`,
      subject: 'Photos de la fête',
      text: 'Salut Bob, les photos sont sur mon serveur.\nGina\n',
    });
    outside.close();
    process.stdout.write('    (delivered to the relay\'s SMTP gateway, which sealed it to Bob\'s key on arrival)\n');

    step('9. Side by side: the internal message and the outside one, each with its level');
    caliop([...B, 'sync']);
    caliop([...B, 'inbox']);
    caliop([...B, 'read', '2']);

    step('10. Alice wants to write to an outside address whose key nobody knows: caliop refuses to send it readable');
    caliop([...A, 'send', '--to', 'someone@elsewhere.example', '--subject', 'Hello'], { input: 'Hi!\n', expectStatus: 40 });

    step('11. The relay goes down: Bob\'s answer waits in his outbox, then leaves on the next sync');
    await relay.stop();
    caliop([...B, 'send', '--to', `alice@${DOMAIN}`, '--subject', 'Re: Rendez-vous samedi'], { input: 'Parfait, à samedi !\n' });
    relay = await startRelayProcess({ dataDir: relayData, domain: DOMAIN, port, extraArgs: relayArgs });
    caliop([...B, 'sync']);
    caliop([...A, 'sync']);
    caliop([...A, 'inbox']);

    step('12. Plain OpenPGP pipes work too: Bob encrypts a file for Alice, she decrypts it');
    const encrypted = caliop([...B, 'encrypt', '--to', `alice@${DOMAIN}`, '--sign'], { input: 'liste des courses : pain, fromage\n', show: 'none' }).stdout;
    process.stdout.write(`${encrypted.split('\n').slice(0, 2).map((line) => `    ${line}`).join('\n')}\n    …\n`);
    caliop([...A, 'decrypt'], { input: encrypted });

    step('13. Alice loses her stick: a new stick from the recovery sheet, enrolled as a new device, the lost one revoked');
    const sheetPath = join(workspace, 'alice-recovery-sheet.txt');
    writeFileSync(sheetPath, aliceInit.recoverySheet);
    const spare = makeStick('alice-new-stick');
    const recovered = caliop(['--stick', spare, '--batch', '--json', '--passphrase-file', '@ENV:DEMO_ALICE_PASSPHRASE', 'recover', '--phrase-file', sheetPath, '--allow-online'], { show: 'stderr' });
    const recoveredFingerprint = (JSON.parse(recovered.stdout) as { fingerprint: string }).fingerprint;
    process.stdout.write(`    recovered fingerprint: ${recoveredFingerprint} (${recoveredFingerprint === aliceInit.fingerprint ? 'the same key' : 'DIFFERENT!'})\n`);
    // docs/lost-stick.md §2: the new stick is another device of the same account; the lost one is revoked.
    const N = ['--stick', spare, '--passphrase-file', '@ENV:DEMO_ALICE_PASSPHRASE'];
    process.stdout.write('(docs/lost-stick.md: the new stick enrols as another device, proving it holds the key, then revokes the lost one)\n');
    caliop([...N, 'relay', 'enrol', '--server', relay.url, '--server-pin', relay.pin!, '--device-name', 'new-stick']);
    caliop([...N, 'devices']);
    caliop([...N, 'devices', 'revoke', 'stick-1']);
    caliop([...B, 'send', '--to', `alice@${DOMAIN}`, '--subject', 'Bien reçu ?'], { input: 'Ta nouvelle clé USB reçoit-elle mes messages ?\n' });
    caliop([...N, 'sync']);
    caliop([...N, 'inbox']);
    process.stdout.write('(the lost stick, if someone tries it, is refused by the relay at once)\n');
    caliop([...A, 'sync'], { expectStatus: 60 });

    step('14. A wrong passphrase changes nothing');
    env.DEMO_WRONG = 'not the passphrase';
    caliop(['--stick', alice, '--passphrase-file', '@ENV:DEMO_WRONG', 'key', 'show'], { expectStatus: 6 });

    process.stdout.write('\nDemo finished: ceremony, sealed vault, relay, end-to-end mail, mail from outside with its exposure, outbox, verification in person, a lost stick replaced from the recovery sheet and revoked.\n');
  } finally {
    await relay.stop();
  }
}

try {
  await main();
} finally {
  rmSync(workspace, { recursive: true, force: true });
}
