// `caliop` with real OpenPGP peers on this machine (issue 2, "What it must show"):
// what `caliop encrypt --sign` makes, GnuPG 2.2 and Sequoia decrypt and verify;
// what gpg makes for the exported cert, `caliop decrypt` decrypts and verifies.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initStick, onStick, temporaryFolder, type InitResult } from './helpers/caliop.js';
import { makeGpg, type Gpg } from './helpers/gpg.js';

const scratch = temporaryFolder('interop');
const stick = join(scratch.path, 'stick');
const body = 'Bonjour Gina,\nle rendez-vous est à 10 h, place des Lices.\n';
let alice: InitResult;
let ginaFingerprint: string;

const peer = makeGpg(scratch.path);
const gpg = peer.spawn;
let stranger: Gpg | undefined;

beforeAll(async () => {
  mkdirSync(stick);
  alice = await initStick(stick, 'Alice Martin', 'alice@example.org');
  expect(gpg(['--quick-gen-key', 'Gina Peer <gina@example.org>', 'ed25519', 'sign', 'never']).status).toBe(0);
  const listed = gpg(['--with-colons', '--list-keys', 'gina@example.org']).stdout.toString();
  ginaFingerprint = /^fpr:::::::::([0-9A-F]{40}):/m.exec(listed)![1]!;
  expect(gpg(['--quick-add-key', ginaFingerprint, 'cv25519', 'encrypt', 'never']).status).toBe(0);
  // Each side learns the other's cert.
  const ginaCert = gpg(['--armor', '--export', 'gina@example.org']).stdout;
  const imported = await onStick(stick, ['contacts', 'import'], { input: ginaCert });
  expect(imported.status, imported.stderr).toBe(0);
  const aliceCert = (await onStick(stick, ['key', 'export'])).stdout;
  expect(gpg(['--import'], aliceCert).status).toBe(0);
  writeFileSync(join(scratch.path, 'alice-cert.asc'), aliceCert);
  writeFileSync(join(scratch.path, 'gina-secret.asc'), gpg(['--armor', '--export-secret-keys', ginaFingerprint]).stdout);
});

afterAll(() => {
  // Stop the gpg-agents these homes started, then remove everything.
  for (const home of [peer, stranger]) home?.kill();
  scratch.remove();
});

describe('caliop encrypt --sign, read by real peers', () => {
  it('GnuPG 2.2 decrypts it and reports a valid signature by the caliop key', async () => {
    const encrypted = await onStick(stick, ['encrypt', '--to', 'gina@example.org', '--sign'], { input: body });
    expect(encrypted.status, encrypted.stderr).toBe(0);
    const result = gpg(['--status-fd', '2', '--decrypt'], encrypted.stdout);
    expect(result.status, result.stderr.toString()).toBe(0);
    expect(result.stdout.toString()).toBe(body);
    expect(result.stderr.toString()).toMatch(new RegExp(`\\[GNUPG:\\] VALIDSIG [0-9A-F]{40} .* ${alice.fingerprint}`));
    expect(result.stderr.toString()).toMatch(/\[GNUPG:\] DECRYPTION_OKAY/);
  });

  it('Sequoia (sq) decrypts it and reports a good signature; a binary message too', async () => {
    for (const binary of [false, true]) {
      const encrypted = await onStick(stick, ['encrypt', '--to', ginaFingerprint, '--sign', ...(binary ? ['--binary'] : [])], { input: body });
      expect(encrypted.status, encrypted.stderr).toBe(0);
      const file = join(scratch.path, binary ? 'to-gina.pgp' : 'to-gina.asc');
      writeFileSync(file, encrypted.stdoutBytes);
      const result = spawnSync(
        'sq',
        ['decrypt', '--recipient-key', join(scratch.path, 'gina-secret.asc'), '--signer-cert', join(scratch.path, 'alice-cert.asc'), file],
        { env: { ...process.env, HOME: scratch.path } },
      );
      expect(result.status, result.stderr.toString()).toBe(0);
      expect(result.stdout.toString()).toBe(body);
      expect(result.stderr.toString()).toMatch(/Good signature/);
    }
  });

  it('caliop sign --detached is verified by gpg --verify', async () => {
    const signature = await onStick(stick, ['sign', '--detached'], { input: body });
    writeFileSync(join(scratch.path, 'body.txt'), body);
    writeFileSync(join(scratch.path, 'body.txt.asc'), signature.stdout);
    const result = gpg(['--status-fd', '2', '--verify', join(scratch.path, 'body.txt.asc'), join(scratch.path, 'body.txt')]);
    expect(result.status, result.stderr.toString()).toBe(0);
    expect(result.stderr.toString()).toMatch(new RegExp(`VALIDSIG [0-9A-F]{40} .* ${alice.fingerprint}`));
  });
});

describe('what gpg makes, read by caliop decrypt', () => {
  it('decrypts a message gpg encrypted to the exported cert and signed with its own key', async () => {
    const made = gpg(['--armor', '--encrypt', '--sign', '--local-user', ginaFingerprint, '--recipient', alice.fingerprint, '--trust-model', 'always'], body);
    expect(made.status, made.stderr.toString()).toBe(0);
    const decrypted = await onStick(stick, ['--json', 'decrypt'], { input: made.stdout });
    expect(decrypted.status, decrypted.stderr).toBe(0);
    const result = JSON.parse(decrypted.stdout);
    expect(result.plaintext).toBe(body);
    expect(result.signatures).toHaveLength(1);
    expect(result.signatures[0]).toMatchObject({ status: 'good', signerFingerprint: ginaFingerprint, signer: 'gina@example.org', verification: 'unverified' });

    const text = await onStick(stick, ['decrypt'], { input: made.stdout });
    expect(text.stdout).toBe(body);
    expect(text.stderr).toMatch(/^caliop: signature: good, by gina@example\.org/m);
  });

  it('reports a signature by a key it does not know as unknown, and a gpg-signed detached signature as good', async () => {
    stranger = makeGpg(scratch.path, { name: 'stranger' });
    const strangerGpg = stranger.spawn;
    expect(strangerGpg(['--quick-gen-key', 'Stranger <s@example.org>', 'ed25519', 'sign', 'never']).status).toBe(0);
    const aliceCert = (await onStick(stick, ['key', 'export'])).stdout;
    strangerGpg(['--import'], aliceCert);
    const made = strangerGpg(['--armor', '--encrypt', '--sign', '--recipient', alice.fingerprint, '--trust-model', 'always'], body);
    const decrypted = await onStick(stick, ['--json', 'decrypt'], { input: made.stdout });
    expect(decrypted.status).toBe(0);
    expect(JSON.parse(decrypted.stdout).signatures[0].status).toBe('unknown-key');

    const detached = gpg(['--armor', '--detach-sign', '--local-user', ginaFingerprint], body).stdout;
    writeFileSync(join(scratch.path, 'gina.sig'), detached);
    const verified = await onStick(stick, ['verify', '--signature', join(scratch.path, 'gina.sig')], { input: body });
    expect(verified.status, verified.stderr).toBe(0);
    const forged = await onStick(stick, ['verify', '--signature', join(scratch.path, 'gina.sig')], { input: `${body}!` });
    expect(forged.status).toBe(15);
  });
});
