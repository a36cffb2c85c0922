// `caliop contacts import` checks what it imports (issue 12, "Import checks what it
// imports"; docs/cli.md §6.3-§6.4), and the exit codes of issue 10 through the real CLI:
// bit-flipped certs refused with exit 28 and the vault left byte for byte; a changed copy
// of a known cert merged and reported; expired/revoked/sign-only certs imported with their
// state, listed as such, and encrypt to them refused with exit 27; a v6 cert imported
// (64-hex fingerprint) and encrypted to; a Camellia message refused with exit 26.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initStick, onStick, temporaryFolder } from './helpers/caliop.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'pgp');
const scratch = temporaryFolder('contacts-import-check');
const stick = join(scratch.path, 'stick');
const cert = (family: string) => readFileSync(join(FIXTURES, `${family}.cert.asc`), 'utf8');

/** Every file of the stick, as bytes: the vault must not change on a refused import. */
function snapshot(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(path, readFileSync(path).toString('base64'));
    }
  };
  walk(stick);
  return files;
}

beforeAll(async () => {
  mkdirSync(stick);
  await initStick(stick, 'Alice Martin', 'alice@example.org');
  const imported = await onStick(stick, ['contacts', 'import'], { input: cert('ed25519') });
  expect(imported.status, imported.stderr).toBe(0);
});

afterAll(() => scratch.remove());

// Each case runs caliop several times (a process and a vault unlock each): generous on a shared CI machine.
const SLOW = 300_000;

describe('contacts import refuses what does not verify, and changes nothing then', { timeout: SLOW }, () => {
  it('bit flips in a cert: every one is refused (exit 28 or 13) or changes nothing; the vault is byte for byte the same', async () => {
    const binary = (await openpgp.readKey({ armoredKey: cert('rsa2048') })).write();
    const before = snapshot();
    const outcomes = new Map<number, number>();
    // One flip per packet region, spread over the cert (each run of caliop costs a process).
    const offsets = Array.from({ length: 10 }, (_, index) => Math.floor(((index + 0.5) * binary.length) / 10));
    for (const offset of offsets) {
      const flipped = new Uint8Array(binary);
      flipped[offset]! ^= 0x04;
      const run = await onStick(stick, ['contacts', 'import'], { input: flipped });
      outcomes.set(run.status, (outcomes.get(run.status) ?? 0) + 1);
      expect([0, 13, 28], run.stderr).toContain(run.status);
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
      if (run.status === 0) {
        // Accepted: the flip was outside anything signed; the contact is the real one.
        const listed = JSON.parse((await onStick(stick, ['--json', 'contacts', 'list'])).stdout) as { address: string; fingerprint: string }[];
        const expected = (await openpgp.readKey({ armoredKey: cert('rsa2048') })).getFingerprint().toUpperCase();
        expect(listed.find((row) => row.address === 'rsa2048@example.org')?.fingerprint).toBe(expected);
        const removed = await onStick(stick, ['contacts', 'remove', 'rsa2048@example.org']);
        expect(removed.status).toBe(0);
        continue;
      }
      if (run.status === 28) expect(run.stderr).toMatch(/caliop: error: the certificate [0-9A-F]{40} was refused: (.* does not verify|it carries no self-signed user id)/);
    }
    process.stdout.write(`contacts import, ${offsets.length} bit-flipped rsa2048 certs: ${JSON.stringify(Object.fromEntries(outcomes))} (exit: count)\n`);
    expect(outcomes.get(28) ?? 0).toBeGreaterThan(offsets.length / 2);
    // Refused ones left the stick untouched (accepted ones were removed again, so compare
    // only when nothing was accepted).
    if (!outcomes.has(0)) expect(snapshot()).toEqual(before);
  });

  it('a refused import among good certs imports none of them (all or nothing), vault unchanged', async () => {
    const good = (await openpgp.readKey({ armoredKey: cert('nistp256') })).write();
    const bad = (await openpgp.readKey({ armoredKey: cert('rsa3072') })).write();
    const uidAt = Buffer.from(bad).indexOf('rsa3072@example.org');
    bad[uidAt]! ^= 0x01; // the user id no longer matches its self-signature
    const before = snapshot();
    const run = await onStick(stick, ['contacts', 'import'], { input: Buffer.concat([good, bad]) });
    expect(run.status, run.stderr).toBe(28);
    expect(run.stderr).toMatch(/self-signature on "Peer rsa3072 <ssa3072@example.org>" does not verify/);
    expect(snapshot()).toEqual(before);
  });

  it('the same cert again is "unchanged" and does not rewrite the vault', async () => {
    const before = snapshot();
    const run = await onStick(stick, ['contacts', 'import'], { input: cert('ed25519') });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/ed25519@example.org: already known, unchanged/);
    expect(snapshot()).toEqual(before);
  });

  it('a changed copy of a known cert (a new user id, properly signed) is merged and shown', async () => {
    const home = join(scratch.path, 'gnupg');
    mkdirSync(home, { mode: 0o700 });
    const gpg = (args: string[], input?: string) =>
      spawnSync('gpg', ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { input });
    expect(gpg(['--import', join(FIXTURES, 'ed25519.key.asc')]).status).toBe(0);
    expect(gpg(['--quick-add-uid', 'ed25519@example.org', 'Peer Ed <ed.second@example.org>']).status).toBe(0);
    const updated = gpg(['--armor', '--export', 'ed25519@example.org']).stdout.toString();
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
    const run = await onStick(stick, ['contacts', 'import'], { input: updated });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/ed25519@example.org: same key, updated: new user id "Peer Ed <ed.second@example.org>"/);
    expect(run.stderr).toMatch(/added ed.second@example.org/);
  });
});

describe('certificate states through the CLI (docs/cli.md §6.3)', { timeout: SLOW }, () => {
  it('expired, revoked and sign-only certs are imported with a warning, listed with their state, and encrypt refuses, naming the reason (exit 27; a revoked key 65, docs/cli.md §6.3)', async () => {
    const imported = await onStick(stick, ['contacts', 'import'], { input: cert('expired') + cert('revoked') + cert('signonly') });
    expect(imported.status, imported.stderr).toBe(0);
    const listed = JSON.parse((await onStick(stick, ['--json', 'contacts', 'list'])).stdout) as { address: string; certState: string }[];
    for (const [family, state] of [['expired', 'expired'], ['revoked', 'revoked'], ['signonly', 'no-encryption-subkey']] as const) {
      expect(imported.stderr).toMatch(new RegExp(`${family}@example.org: WARNING, this certificate is .*encrypting to it will be refused`));
      expect(listed.find((row) => row.address === `${family}@example.org`)?.certState).toBe(state);
      const encrypted = await onStick(stick, ['encrypt', '--to', `${family}@example.org`], { input: 'hello' });
      if (family === 'revoked') {
        // gpg's default revocation carries reason 0 and no text: the words, never the enum's name.
        expect(encrypted.status, encrypted.stderr).toBe(65);
        expect(encrypted.stderr).toMatch(/caliop: error: revoked@example\.org revoked their key on \d{4}-\d{2}-\d{2}: no reason given\. Nothing was sent\./);
      } else {
        expect(encrypted.status, encrypted.stderr).toBe(27);
        expect(encrypted.stderr).toMatch(new RegExp(`caliop: error: the certificate of ${family}@example.org cannot be used for encryption: (expired on 2020-12-31|no usable encryption subkey)`));
      }
      expect(encrypted.stdout).toBe('');
    }
  });

  it('a v6 cert (RFC 9580) is imported with its 64-hex fingerprint, listed, and encrypted to', async () => {
    const { publicKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'Vera Six', email: 'vera@example.org' }], config: { v6Keys: true, aeadProtect: true } });
    const imported = await onStick(stick, ['--json', 'contacts', 'import'], { input: publicKey });
    expect(imported.status, imported.stderr).toBe(0);
    const report = JSON.parse(imported.stdout) as { added: string[]; certs: { version: number; fingerprint: string }[] };
    expect(report.added).toEqual(['vera@example.org']);
    expect(report.certs[0]).toMatchObject({ version: 6 });
    expect(report.certs[0]!.fingerprint).toMatch(/^[0-9A-F]{64}$/);
    const text = await onStick(stick, ['contacts', 'list']);
    expect(text.stdout).toMatch(/vera@example.org {2}([0-9A-F]{4} ){15}[0-9A-F]{4}/);
    const encrypted = await onStick(stick, ['encrypt', '--to', 'vera@example.org'], { input: 'to a v6 key' });
    expect(encrypted.status, encrypted.stderr).toBe(0);
  });

  it('a message gpg encrypted with Camellia is refused: exit 26, "unsupported algorithm CAMELLIA256", nothing on stdout', async () => {
    const home = join(scratch.path, 'gnupg-camellia');
    mkdirSync(home, { mode: 0o700 });
    const own = (await onStick(stick, ['key', 'export'])).stdout;
    const gpg = (args: string[], input?: string) => spawnSync('gpg', ['--homedir', home, '--batch', '--yes', '--trust-model', 'always', ...args], { input });
    expect(gpg(['--import'], own).status).toBe(0);
    const made = gpg(['--cipher-algo', 'CAMELLIA256', '-r', 'alice@example.org', '--armor', '--encrypt'], 'secret');
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
    const run = await onStick(stick, ['decrypt'], { input: made.stdout });
    expect(run.status, run.stderr).toBe(26);
    expect(run.stderr).toMatch(/caliop: error: unsupported algorithm CAMELLIA256/);
    expect(run.stderr).not.toMatch(/damaged/);
    expect(run.stdout).toBe('');
  });
});
