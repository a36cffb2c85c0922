// The README's main job: the whole story on throwaway sticks, printed step by step.
// It drives the real `caliop` command, exactly as a user or a script would, and
// removes its throwaway folders at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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

try {
  process.stdout.write(`Caliop Key demo: throwaway sticks in ${workspace}\n`);
  const alice = makeStick('alice-stick');
  const bob = makeStick('bob-stick');

  step('1. Alice runs the key ceremony on her empty stick');
  process.stdout.write('(this machine is online, so the demo passes --allow-online; the vault records it)\n');
  const init = caliop(
    ['--stick', alice, '--batch', '--json', '--passphrase-file', '@ENV:DEMO_ALICE_PASSPHRASE', 'init', '--name', 'Alice Martin', '--email', 'alice@caliop.example', '--allow-online'],
    { show: 'stderr' },
  );
  const aliceInit = JSON.parse(init.stdout) as { fingerprint: string; recoveryPhrase: string; recoverySheet: string; kdf: object };
  process.stdout.write(`    fingerprint:     ${aliceInit.fingerprint}\n`);
  process.stdout.write(`    recovery phrase: ${aliceInit.recoveryPhrase.split(' ').slice(0, 4).join(' ')} … (24 words)\n`);
  process.stdout.write(`    vault KDF:       ${JSON.stringify(aliceInit.kdf)}\n`);

  step('2. What the stick says about Alice\'s key');
  caliop(['--stick', alice, '--passphrase-file', '@ENV:DEMO_ALICE_PASSPHRASE', 'key', 'show']);

  step('3. Bob makes his own stick');
  caliop(
    ['--stick', bob, '--batch', '--json', '--passphrase-file', '@ENV:DEMO_BOB_PASSPHRASE', 'init', '--name', 'Bob Durand', '--email', 'bob@caliop.example', '--allow-online'],
    { show: 'none' },
  );
  const bobCert = caliop(['--stick', bob, '--passphrase-file', '@ENV:DEMO_BOB_PASSPHRASE', 'key', 'export'], { show: 'none' }).stdout;
  const aliceCert = caliop(['--stick', alice, '--passphrase-file', '@ENV:DEMO_ALICE_PASSPHRASE', 'key', 'export'], { show: 'none' }).stdout;
  process.stdout.write('    (each exported the certificate: armored, public, no secret)\n');

  step('4. They exchange certificates');
  caliop(['--stick', alice, '--passphrase-file', '@ENV:DEMO_ALICE_PASSPHRASE', 'contacts', 'import'], { input: bobCert });
  caliop(['--stick', bob, '--passphrase-file', '@ENV:DEMO_BOB_PASSPHRASE', 'contacts', 'import'], { input: aliceCert });

  step('5. Alice encrypts and signs a message for Bob');
  const ciphertext = caliop(['--stick', alice, '--passphrase-file', '@ENV:DEMO_ALICE_PASSPHRASE', 'encrypt', '--to', 'bob@caliop.example', '--sign'], {
    input: 'Salut Bob, rendez-vous samedi à 10 h.\n',
    show: 'none',
  }).stdout;
  process.stdout.write(`${ciphertext.split('\n').slice(0, 3).map((line) => `    ${line}`).join('\n')}\n    …\n`);

  step('6. Bob decrypts it and checks the signature');
  caliop(['--stick', bob, '--passphrase-file', '@ENV:DEMO_BOB_PASSPHRASE', 'decrypt'], { input: ciphertext });

  step('7. Bob meets Alice and verifies her fingerprint in person');
  caliop(['--stick', bob, '--passphrase-file', '@ENV:DEMO_BOB_PASSPHRASE', 'contacts', 'verify', 'alice@caliop.example', '--fingerprint', aliceInit.fingerprint]);
  caliop(['--stick', bob, '--passphrase-file', '@ENV:DEMO_BOB_PASSPHRASE', 'decrypt'], { input: ciphertext, show: 'stderr' });

  step('8. Alice loses her stick and rebuilds her key from the recovery sheet');
  const sheetPath = join(workspace, 'alice-recovery-sheet.txt');
  writeFileSync(sheetPath, aliceInit.recoverySheet);
  const spare = makeStick('alice-new-stick');
  const recovered = caliop(
    ['--stick', spare, '--batch', '--json', '--passphrase-file', '@ENV:DEMO_ALICE_PASSPHRASE', 'recover', '--phrase-file', sheetPath, '--allow-online'],
    { show: 'stderr' },
  );
  const recoveredFingerprint = (JSON.parse(recovered.stdout) as { fingerprint: string }).fingerprint;
  process.stdout.write(`    recovered fingerprint: ${recoveredFingerprint} (${recoveredFingerprint === aliceInit.fingerprint ? 'the same key' : 'DIFFERENT!'})\n`);

  step('9. A wrong passphrase changes nothing');
  env.DEMO_WRONG = 'not the passphrase';
  caliop(['--stick', alice, '--passphrase-file', '@ENV:DEMO_WRONG', 'key', 'show'], { expectStatus: 6 });

  process.stdout.write('\nDemo finished: ceremony, sealed vault, encryption, signature, verification in person, recovery.\n');
} finally {
  rmSync(workspace, { recursive: true, force: true });
}
