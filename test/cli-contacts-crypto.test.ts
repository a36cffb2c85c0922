// Contacts and the gpg-like pipes between two sticks, with every bad input
// (docs/cli.md §3.5-§3.8, §4).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caliop, initStick, onStick, temporaryFolder, testEnv, type InitResult } from './helpers/caliop.js';

const scratch = temporaryFolder('contacts');
const aliceStick = join(scratch.path, 'alice');
const bobStick = join(scratch.path, 'bob');
const eveStick = join(scratch.path, 'eve');
let alice: InitResult;
let bob: InitResult;
let eve: InitResult;

beforeAll(async () => {
  for (const stick of [aliceStick, bobStick, eveStick]) mkdirSync(stick);
  [alice, bob, eve] = await Promise.all([
    initStick(aliceStick, 'Alice', 'alice@example.org'),
    initStick(bobStick, 'Bob', 'bob@example.org'),
    initStick(eveStick, 'Eve pretending', 'bob@example.org'), // same address as Bob, another key
  ]);
  expect((await onStick(aliceStick, ['contacts', 'import'], { input: bob.cert })).status).toBe(0);
  expect((await onStick(bobStick, ['contacts', 'import'], { input: alice.cert })).status).toBe(0);
});

afterAll(() => scratch.remove());

describe('contacts', () => {
  it('lists an imported contact as unverified, and verify moves it to verified after comparing fingerprints', async () => {
    let list = JSON.parse((await onStick(bobStick, ['--json', 'contacts', 'list'])).stdout);
    expect(list).toEqual([expect.objectContaining({ address: 'alice@example.org', fingerprint: alice.fingerprint, verification: 'unverified', source: 'imported' })]);

    const wrong = await onStick(bobStick, ['contacts', 'verify', 'alice@example.org', '--fingerprint', bob.fingerprint]);
    expect(wrong.status).toBe(18);
    const spaced = alice.fingerprint.replace(/(.{4})/g, '$1 ').toLowerCase();
    const verified = await onStick(bobStick, ['contacts', 'verify', 'alice@example.org', '--fingerprint', spaced]);
    expect(verified.status, verified.stderr).toBe(0);
    list = JSON.parse((await onStick(bobStick, ['--json', 'contacts', 'list'])).stdout);
    expect(list[0]).toMatchObject({ verification: 'verified' });
  });

  it('a changed cert for a known address is an alarm: kept aside, exit 18, and encryption to it stops', async () => {
    const imported = await onStick(aliceStick, ['contacts', 'import'], { input: eve.cert });
    expect(imported.status).toBe(18);
    expect(imported.stderr).toMatch(/WARNING, this certificate differs/);
    const list = JSON.parse((await onStick(aliceStick, ['--json', 'contacts', 'list'])).stdout);
    expect(list[0]).toMatchObject({ address: 'bob@example.org', fingerprint: bob.fingerprint, verification: 'changed', changedFingerprint: eve.fingerprint });
    const encrypted = await onStick(aliceStick, ['encrypt', '--to', 'bob@example.org'], { input: 'hello' });
    expect(encrypted.status).toBe(18);
    expect(encrypted.stdout).toBe('');
    // Alice meets Bob: the fingerprint he reads is the old one, so the change is rejected for good.
    expect((await onStick(aliceStick, ['contacts', 'verify', 'bob@example.org', '--fingerprint', bob.fingerprint])).status).toBe(0);
    const after = JSON.parse((await onStick(aliceStick, ['--json', 'contacts', 'list'])).stdout);
    expect(after[0]).toMatchObject({ fingerprint: bob.fingerprint, verification: 'verified', changedFingerprint: null });
  });

  it('remove forgets a contact; an unknown one is exit 17', async () => {
    const stick = join(scratch.path, 'carol');
    mkdirSync(stick);
    await initStick(stick, 'Carol', 'carol@example.org');
    await onStick(stick, ['contacts', 'import'], { input: bob.cert });
    expect((await onStick(stick, ['contacts', 'remove', 'bob@example.org'])).status).toBe(0);
    expect(JSON.parse((await onStick(stick, ['--json', 'contacts', 'list'])).stdout)).toEqual([]);
    expect((await onStick(stick, ['contacts', 'remove', 'bob@example.org'])).status).toBe(17);
  });
});

describe('encrypt, decrypt, sign, verify between two sticks', () => {
  it('round trip with a signature, and the signature status follows in-person verification', async () => {
    const encrypted = await onStick(aliceStick, ['encrypt', '--to', 'bob@example.org', '--sign'], { input: 'rendez-vous à 10 h' });
    expect(encrypted.stdout).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    const decrypted = await onStick(bobStick, ['--json', 'decrypt'], { input: encrypted.stdout });
    expect(JSON.parse(decrypted.stdout)).toMatchObject({
      encoding: 'utf8',
      plaintext: 'rendez-vous à 10 h',
      signatures: [{ status: 'good', signer: 'alice@example.org', signerFingerprint: alice.fingerprint }],
    });
  });

  it('a message for someone else is exit 14; garbage is exit 13; empty input is exit 13', async () => {
    const forAlice = await onStick(bobStick, ['encrypt', '--to', 'alice@example.org'], { input: 'secret' });
    const notMine = await onStick(eveStick, ['decrypt'], { input: forAlice.stdout });
    expect(notMine.status).toBe(14);
    expect(notMine.stderr).toMatch(/not to your key/);
    const garbage = await onStick(bobStick, ['decrypt'], { input: '-----BEGIN PGP MESSAGE-----\n\nnot base64 at all\n-----END PGP MESSAGE-----\n' });
    expect(garbage.status).toBe(13);
    expect((await onStick(bobStick, ['decrypt'], { input: '' })).status).toBe(13);
  });

  it('a modified ciphertext is refused and nothing is written to stdout', async () => {
    const encrypted = await onStick(aliceStick, ['encrypt', '--to', 'bob@example.org', '--binary'], { input: 'integrity matters' });
    const tampered = Buffer.from(encrypted.stdoutBytes);
    tampered[tampered.length - 5]! ^= 0x20;
    const run = await onStick(bobStick, ['decrypt'], { input: tampered });
    expect(run.status).not.toBe(0);
    expect(run.stdout).toBe('');
  });

  it('unknown recipient is exit 17 with a hint', async () => {
    const run = await onStick(aliceStick, ['encrypt', '--to', 'nobody@example.org'], { input: 'x' });
    expect(run.status).toBe(17);
    expect(run.stderr).toMatch(/hint: import it with "caliop contacts import/);
  });

  it('sign then verify: good is 0; a modified text is 15; a signer we do not know is 16', async () => {
    const signed = await onStick(aliceStick, ['sign'], { input: 'je signe ceci' });
    expect((await onStick(bobStick, ['verify'], { input: signed.stdout })).status).toBe(0);
    const detached = await onStick(aliceStick, ['sign', '--detached'], { input: 'je signe ceci' });
    const signatureFile = join(scratch.path, 'sig.asc');
    (await import('node:fs')).writeFileSync(signatureFile, detached.stdout);
    expect((await onStick(bobStick, ['verify', '--signature', signatureFile], { input: 'je signe ceci' })).status).toBe(0);
    const modified = await onStick(bobStick, ['verify', '--signature', signatureFile], { input: 'je signe cela' });
    expect(modified.status).toBe(15);
    expect(modified.stderr).toMatch(/^caliop: error: the signature is not valid/m);
    const unknown = await onStick(eveStick, ['verify'], { input: signed.stdout });
    expect(unknown.status).toBe(16);
  });

  it('decrypt with a bad signature gives out nothing: no --output file, nothing on stdout; exit 15 (docs/cli.md §3.7)', async () => {
    const openpgp = await import('openpgp');
    const { existsSync } = await import('node:fs');
    const { seedFromPhrase } = await import('../src/core/recovery-sheet.js');
    const { deriveIdentity } = await import('../src/core/key-derivation.js');
    // Alice's own key, from her recovery phrase; Bob has her as a contact (the test above).
    const aliceKey = (await deriveIdentity({ seed: seedFromPhrase(alice.recoveryPhrase.split(/\s+/)), name: 'Alice', email: 'alice@example.org', creationDate: new Date(alice.creationDate), validate: false })).privateKey;
    const bobCert = await openpgp.readKey({ armoredKey: (await onStick(bobStick, ['key', 'export'])).stdout });
    const data = 'a message whose words are signed\n';
    // Alice's signature over other words, carried with these: the encryption's integrity holds, the signature does not.
    const otherWords = await openpgp.sign({ message: await openpgp.createMessage({ binary: new TextEncoder().encode('other words\n') }), signingKeys: aliceKey, detached: true });
    const made = (signature?: string) =>
      openpgp
        .readSignature({ armoredSignature: signature ?? '' })
        .catch(() => undefined)
        .then(async (parsed) =>
          openpgp.encrypt({
            message: await openpgp.createMessage({ binary: new TextEncoder().encode(data) }),
            encryptionKeys: bobCert,
            ...(parsed === undefined ? { signingKeys: aliceKey } : { signature: parsed }),
            config: { aeadProtect: false },
          }),
        );
    const forged = (await made(otherWords)) as string;
    const target = join(scratch.path, 'bad-signature.txt');
    const toFile = await onStick(bobStick, ['decrypt', '--output', target], { input: forged });
    expect(toFile.stderr).toMatch(/signature: BAD/);
    expect(toFile.status, toFile.stderr).toBe(15);
    expect(toFile.stderr).toMatch(/^caliop: error: the signature is not valid: .*bad-signature\.txt was not written/m);
    expect(existsSync(target)).toBe(false);
    const toStdout = await onStick(bobStick, ['decrypt'], { input: forged });
    expect(toStdout.status).toBe(15);
    expect(toStdout.stdout).toBe('');
    expect(toStdout.stderr).toMatch(/the plaintext was not written/);
    // Signed over these very words, the same way: decrypted and written (the construction is not what fails).
    const good = await onStick(bobStick, ['decrypt', '--output', target], { input: (await made()) as string });
    expect(good.status, good.stderr).toBe(0);
    expect(good.stderr).toMatch(/signature: good/);
    expect((await import('node:fs')).readFileSync(target, 'utf8')).toBe(data);
  });

  it('send refuses a message on stdin that is not UTF-8, before anything is queued (exit 13), instead of replacing its bytes', async () => {
    const latin1 = await onStick(bobStick, ['send', '--to', 'alice@example.org', '--subject', 'crème'], { input: Buffer.from('Caf\xe9 cr\xe8me\n', 'latin1') });
    expect(latin1.status, latin1.stderr).toBe(13);
    expect(latin1.stderr).toMatch(/^caliop: error: the message on stdin is not UTF-8 text/m);
    expect(latin1.stderr).toMatch(/^caliop: hint: .*--attach/m);
    const outbox = await onStick(bobStick, ['--json', 'outbox']);
    expect(JSON.stringify(JSON.parse(outbox.stdout))).not.toMatch(/crème/);
  });

  it('a reader that closes stdout early (| head) is exit 48 with one error line, no stack trace (docs/cli.md §4)', async () => {
    const text = 'a line of text that repeats\n'.repeat(40_000); // ~1 MiB: more than a pipe holds
    const encrypted = await onStick(bobStick, ['encrypt', '--to', 'bob@example.org'], { input: text });
    expect(encrypted.status, encrypted.stderr).toBe(0);
    const piped = await onStick(bobStick, ['decrypt'], { input: encrypted.stdout, wrapper: ['bash', '-c', '"$@" | head -c 10 > /dev/null; exit "${PIPESTATUS[0]}"', 'caliop-into-head'] });
    expect(piped.status, piped.stderr).toBe(48);
    expect(piped.stderr).toMatch(/^caliop: error: the program reading the output closed it before the end/m);
    expect(piped.stderr).not.toMatch(/\bat \S+ \(|node:internal|EPIPE/);
  });

  it("docs/message-payload.md §6.4-§6.5: gpg's text-mode signatures over CR CR LF and lone CRs (test/vectors/text-mode): good is 0, modified is 15", async () => {
    const vectors = join(import.meta.dirname, 'vectors', 'text-mode');
    const { readFileSync } = await import('node:fs');
    const vector = (name: string) => readFileSync(join(vectors, name));
    expect((await onStick(bobStick, ['contacts', 'import'], { input: vector('cert.asc') })).status).toBe(0);
    const detached = await onStick(bobStick, ['verify', '--signature', join(vectors, 'crcrlf.gpg.sig')], { input: vector('crcrlf.txt') });
    expect(detached.status, detached.stderr).toBe(0);
    const clear = await onStick(bobStick, ['verify'], { input: vector('lonecr.gpg-clear.asc') });
    expect(clear.status, clear.stderr).toBe(0);
    const modified = await onStick(bobStick, ['verify', '--signature', join(vectors, 'mixed.gpg.sig')], { input: Buffer.from('a\r\r\r\n\r\n\rc\r\r') });
    expect(modified.status).toBe(15);
  });

  it('a bad command line is exit 2 with caliop: error', async () => {
    const run = await caliop(['decrypt', '--bogus'], { env: testEnv() });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^caliop: error: unknown option '--bogus'/m);
  });
});
