// The ceremony, the vault and recovery, driven through the real `caliop` process
// (docs/cli.md §3.1-§3.3, §3.9-§3.10; docs/ceremony.md §7-§8).
import { mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PASSPHRASE_SEPARATOR } from '../src/core/passphrase-generator.js';
import { caliop, initStick, onStick, temporaryFolder, testEnv } from './helpers/caliop.js';

const scratch = temporaryFolder('ceremony');
afterAll(() => scratch.remove());

let counter = 0;
function newStick(): string {
  const path = join(scratch.path, `stick-${(counter += 1)}`);
  mkdirSync(path);
  return path;
}

describe('finding the stick (docs/stick-layout.md §2)', () => {
  it('fails with stick_not_found (3) and a hint when no stick is given', async () => {
    const run = await caliop(['key', 'show'], { env: testEnv({ CALIOP_STICK: '' }) });
    expect(run.status).toBe(3);
    expect(run.stderr).toMatch(/^caliop: error: no Caliop stick was found$/m);
    expect(run.stderr).toMatch(/^caliop: hint: .*--stick DIR.*CALIOP_STICK/m);
    expect(run.stdout).toBe('');
  });

  it('takes CALIOP_STICK when --stick is absent, and says a missing folder is missing', async () => {
    const missing = join(scratch.path, 'no-such-stick');
    const run = await caliop(['--passphrase-file', '@ENV:TEST_PASSPHRASE', 'key', 'show'], { env: testEnv({ CALIOP_STICK: missing }) });
    expect(run.status).toBe(3);
    expect(run.stderr).toContain(`${missing} (from CALIOP_STICK) does not exist`);
  });

  it('says an empty stick holds no vault (4)', async () => {
    const run = await onStick(newStick(), ['key', 'show']);
    expect(run.status).toBe(4);
    expect(run.stderr).toMatch(/hint: run "caliop init"/);
  });
});

describe('caliop init (the offline key ceremony)', () => {
  it('refuses to generate keys on this online machine (10), writing nothing', async () => {
    const stick = newStick();
    const run = await onStick(stick, ['--batch', 'init', '--name', 'Ana', '--email', 'ana@example.org']);
    expect(run.status).toBe(10);
    expect(run.stderr).toMatch(/refusing to generate keys while this machine is online \(.+ is up with a route/);
    expect(run.stderr).toMatch(/hint: .*--allow-online/);
    expect(readdirSync(stick)).toEqual([]);
  });

  it('refuses a role address (postmaster@, abuse+x@: docs/api.md §3.1) before any key, exit 2, writing nothing', async () => {
    for (const email of ['Postmaster@example.org', 'abuse+reports@example.org']) {
      const stick = newStick();
      const run = await onStick(stick, ['--batch', 'init', '--name', 'Ana', '--email', email, '--allow-online']);
      expect(run.status, email).toBe(2);
      expect(run.stderr).toMatch(/^caliop: error: .* is a role address \((postmaster|abuse)@\) that Caliop relays keep for their operator$/m);
      expect(run.stderr).toMatch(/^caliop: hint: choose an address of your own/m);
      expect(readdirSync(stick)).toEqual([]);
    }
  });

  it('runs offline in a network namespace with no interface up, and records it', async () => {
    const stick = newStick();
    const run = await onStick(stick, ['--batch', '--json', 'init', '--name', 'Ana Offline', '--email', 'ana@example.org'], { wrapper: ['unshare', '-n'] });
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { ceremony: { offline: boolean; allowedOnline: boolean; networkEvidence: string[] } };
    expect(result.ceremony).toMatchObject({ offline: true, allowedOnline: false, networkEvidence: [] });
    const shown = await onStick(stick, ['--json', 'key', 'show']);
    expect(JSON.parse(shown.stdout).ceremony).toMatchObject({ offline: true, allowedOnline: false, kind: 'init' });
    // docs/ui.md §3: the words in the stick's language and the numbers, the same in every language.
    expect(JSON.parse(shown.stdout)).toMatchObject({ fingerprintWordsLanguage: 'en', fingerprintWords: expect.arrayContaining([expect.stringMatching(/^[a-z]+$/)]) });
    expect(JSON.parse(shown.stdout).fingerprintNumbers).toHaveLength(8);
    const text = await onStick(stick, ['key', 'show']);
    expect(text.stdout).toMatch(/^Numbers: {6}(\d{4} ){7}\d{4} \(the same in every language\)$/m);
  });

  it('with --allow-online: prints the batch JSON contract and key show reports the online ceremony and the KDF', async () => {
    const stick = newStick();
    const result = await initStick(stick, 'Ana Martin', 'ana@example.org', { fresh: true }); // this test is about init itself
    expect(result.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    expect(result.recoveryPhrase.split(' ')).toHaveLength(24);
    expect(result.recoverySheet).toContain(result.recoveryPhrase.split(' ')[0]);
    expect(result.revocationCertificate).toContain('BEGIN PGP PUBLIC KEY BLOCK');
    expect(result.ceremony).toMatchObject({ offline: false, allowedOnline: true, backupChecked: false });
    expect(result.ceremony.networkEvidence.length).toBeGreaterThan(0);

    const shown = await onStick(stick, ['--json', 'key', 'show']);
    expect(shown.status).toBe(0);
    const description = JSON.parse(shown.stdout);
    expect(description.fingerprint).toBe(result.fingerprint);
    expect(description.kdf).toEqual(result.kdf);
    expect(Object.keys(description.kdf).sort()).toEqual(['algorithm', 'memoryKiB', 'parallelism', 'passes']);
    expect(description.kdf.algorithm).toBe('argon2id');
    expect(description.ceremony).toMatchObject({ offline: false, allowedOnline: true });
    // docs/ceremony.md §3.1: signing, Cv25519 encryption, authentication, and the post-quantum encryption subkey (algorithm 35).
    expect(description.subkeys.map((subkey: { usage: string[] }) => subkey.usage.join('+'))).toEqual(['sign', 'encrypt', 'authenticate', 'encrypt']);
    expect(description.subkeys[3].algorithm).toBe('pqc_mlkem_x25519');

    const text = await onStick(stick, ['key', 'show']);
    expect(text.stdout).toMatch(/Ceremony: +init on an ONLINE machine, allowed with --allow-online/);
  });

  it('refuses a second ceremony on the same stick (5) and leaves the vault as it was', async () => {
    const stick = newStick();
    await initStick(stick, 'Ana', 'ana@example.org');
    const before = readFileSync(join(stick, 'vault', 'caliop.vault'));
    const run = await onStick(stick, ['--batch', 'init', '--name', 'Eve', '--email', 'eve@example.org', '--allow-online']);
    expect(run.status).toBe(5);
    expect(readFileSync(join(stick, 'vault', 'caliop.vault')).equals(before)).toBe(true);
  });

  it('never prompts in --batch: no passphrase source is confirmation_required (11)', async () => {
    const run = await caliop(['--stick', newStick(), '--batch', 'init', '--name', 'Ana', '--email', 'ana@example.org', '--allow-online']);
    expect(run.status).toBe(11);
    expect(run.stderr).toMatch(/hint: give it with --passphrase-file/);
  });

  it('explains a weak passphrase and needs --accept-weak-passphrase to keep it (21)', async () => {
    const env = testEnv({ WEAK: 'password1' });
    const stick = newStick();
    const refused = await caliop(['--stick', stick, '--batch', '--passphrase-file', '@ENV:WEAK', 'init', '--name', 'Ana', '--email', 'ana@example.org', '--allow-online'], { env });
    expect(refused.status).toBe(21);
    expect(refused.stderr).toMatch(/the passphrase is weak/);
    expect(existsSync(join(stick, 'vault', 'caliop.vault'))).toBe(false);
    const accepted = await caliop(
      ['--stick', stick, '--batch', '--passphrase-file', '@ENV:WEAK', 'init', '--name', 'Ana', '--email', 'ana@example.org', '--allow-online', '--accept-weak-passphrase'],
      { env },
    );
    expect(accepted.status, accepted.stderr).toBe(0);
  });

  it('can generate a passphrase of random words, which then unlocks the vault', async () => {
    const stick = newStick();
    const run = await caliop(['--stick', stick, '--batch', '--json', 'init', '--name', 'Ana', '--email', 'ana@example.org', '--allow-online', '--generate-passphrase', '--language', 'fr']);
    expect(run.status, run.stderr).toBe(0);
    const { passphrase, fingerprint } = JSON.parse(run.stdout) as { passphrase: string; fingerprint: string };
    expect(passphrase.split(PASSPHRASE_SEPARATOR)).toHaveLength(7);
    const shown = await caliop(['--stick', stick, '--json', '--passphrase-file', '@ENV:GENERATED', 'key', 'show'], { env: testEnv({ GENERATED: passphrase }) });
    expect(JSON.parse(shown.stdout).fingerprint).toBe(fingerprint);
  });
});

describe('the sealed vault through the CLI', () => {
  it('wrong passphrase: exit 6, clear message, vault untouched', async () => {
    const stick = newStick();
    await initStick(stick, 'Ana', 'ana@example.org');
    const before = readFileSync(join(stick, 'vault', 'caliop.vault'));
    const run = await caliop(['--stick', stick, '--passphrase-file', '@ENV:WRONG', 'key', 'show'], { env: testEnv({ WRONG: 'not the right one at all' }) });
    expect(run.status).toBe(6);
    expect(run.stderr).toMatch(/^caliop: error: wrong passphrase/m);
    expect(run.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace without --debug
    expect(readFileSync(join(stick, 'vault', 'caliop.vault')).equals(before)).toBe(true);
  });

  it('a tampered or truncated vault says which part failed and changes nothing', async () => {
    const stick = newStick();
    await initStick(stick, 'Ana', 'ana@example.org');
    const path = join(stick, 'vault', 'caliop.vault');
    const original = readFileSync(path);

    const ciphertextFlipped = Buffer.from(original);
    ciphertextFlipped[ciphertextFlipped.length - 20]! ^= 0x01;
    writeFileSync(path, ciphertextFlipped);
    let run = await onStick(stick, ['key', 'show']);
    expect(run.status).toBe(7);
    expect(run.stderr).toMatch(/ciphertext/);
    expect(readFileSync(path).equals(ciphertextFlipped)).toBe(true);

    writeFileSync(path, original.subarray(0, original.length - 100));
    run = await onStick(stick, ['key', 'show']);
    expect(run.status).toBe(8);

    writeFileSync(path, original);
    run = await onStick(stick, ['key', 'show']);
    expect(run.status).toBe(0);
  });

  it('passwd re-seals under a new passphrase; the key stays the same and the old passphrase stops working', async () => {
    const stick = newStick();
    const { fingerprint } = await initStick(stick, 'Ana', 'ana@example.org');
    const env = testEnv({ NEXT: 'another long passphrase nobody guesses 77' });
    const changed = await onStick(stick, ['passwd', '--new-passphrase-file', '@ENV:NEXT'], { env });
    expect(changed.status, changed.stderr).toBe(0);
    const old = await onStick(stick, ['key', 'show']);
    expect(old.status).toBe(6);
    const shown = await caliop(['--stick', stick, '--json', '--passphrase-file', '@ENV:NEXT', 'key', 'show'], { env });
    expect(JSON.parse(shown.stdout).fingerprint).toBe(fingerprint);
  });

  it('key export --revocation prints the revocation certificate; --secret a protected secret key', async () => {
    const stick = newStick();
    await initStick(stick, 'Ana', 'ana@example.org');
    const revocation = await onStick(stick, ['key', 'export', '--revocation']);
    expect(revocation.stdout).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    const secret = await onStick(stick, ['key', 'export', '--secret']);
    expect(secret.stdout).toContain('-----BEGIN PGP PRIVATE KEY BLOCK-----');
    const openpgp = await import('openpgp');
    const key = await openpgp.readPrivateKey({ armoredKey: secret.stdout });
    expect(key.isDecrypted()).toBe(false);
  });
});

describe('caliop recover', () => {
  it('rebuilds the same fingerprint on an empty stick from the recovery sheet', async () => {
    const original = await initStick(newStick(), 'Ana Martin', 'ana@example.org');
    const sheet = join(scratch.path, 'sheet.txt');
    writeFileSync(sheet, original.recoverySheet);
    const spare = newStick();
    const run = await onStick(spare, ['--batch', '--json', 'recover', '--phrase-file', sheet, '--allow-online']);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).fingerprint).toBe(original.fingerprint);
    const shown = await onStick(spare, ['--json', 'key', 'show']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ fingerprint: original.fingerprint, ceremony: { kind: 'recover' } });
    const cert = await onStick(spare, ['key', 'export']);
    expect(cert.stdout).toBe(original.cert);
  });

  it('from k of n shares (backup split), and not from fewer', async () => {
    const stick = newStick();
    const original = await initStick(stick, 'Ana Martin', 'ana@example.org');
    const split = await onStick(stick, ['--json', 'backup', 'split', '--shares', '3', '--threshold', '2']);
    expect(split.status, split.stderr).toBe(0);
    const { shares } = JSON.parse(split.stdout) as { shares: Array<{ sheet: string }> };
    expect(shares).toHaveLength(3);

    const two = join(scratch.path, 'two-shares.txt');
    writeFileSync(two, `${shares[0]!.sheet}\n${shares[2]!.sheet}`);
    const recovered = await onStick(newStick(), ['--batch', '--json', 'recover', '--phrase-file', two, '--allow-online']);
    expect(recovered.status, recovered.stderr).toBe(0);
    expect(JSON.parse(recovered.stdout).fingerprint).toBe(original.fingerprint);

    const one = join(scratch.path, 'one-share.txt');
    writeFileSync(one, shares[1]!.sheet);
    const refused = await onStick(newStick(), ['--batch', 'recover', '--phrase-file', one, '--allow-online']);
    expect(refused.status).toBe(19);
  });

  it('a sheet with a changed word or creation date is refused (19), not turned into another key', async () => {
    const original = await initStick(newStick(), 'Ana Martin', 'ana@example.org');
    const words = original.recoveryPhrase.split(' ');
    const swapped = original.recoverySheet.replace(new RegExp(`\\b${words[5]}\\b`), words[5] === 'zoo' ? 'abandon' : 'zoo');
    const badWord = join(scratch.path, 'bad-word.txt');
    writeFileSync(badWord, swapped);
    const run = await onStick(newStick(), ['--batch', 'recover', '--phrase-file', badWord, '--allow-online']);
    expect(run.status).toBe(19);

    const year = new Date(original.creationDate).getUTCFullYear();
    const badDate = join(scratch.path, 'bad-date.txt');
    writeFileSync(badDate, original.recoverySheet.replace(String(year), String(year - 1)));
    const dated = await onStick(newStick(), ['--batch', 'recover', '--phrase-file', badDate, '--allow-online']);
    expect(dated.status).toBe(19);
    expect(dated.stderr).toMatch(/fingerprint/);
  });
});
