// `caliop sop` (docs/sop.md) against sqop 0.27 (Debian), the SOP of Sequoia: each makes,
// the other reads, armored and binary; and the draft's exit codes on failure cases, checked
// on both programs where both define them. Runs node_modules/.bin/caliop-sop, the launcher
// SOP harnesses call.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryFolder } from './helpers/caliop.js';

const CALIOP_SOP = resolve(import.meta.dirname, '../node_modules/.bin/caliop-sop');
const scratch = temporaryFolder('sop');
const at = (name: string) => join(scratch.path, name);
const body = 'Bonjour,\r\nune ligne CRLF, une ligne LF\nfin.\n';
const table: string[] = [];

function sop(program: 'caliop' | 'sqop', args: string[], input?: string | Uint8Array, env: NodeJS.ProcessEnv = {}) {
  const command = program === 'caliop' ? [process.execPath, CALIOP_SOP] : ['sqop'];
  const result = spawnSync(command[0]!, [...command.slice(1), ...args], { input: input ?? '', cwd: scratch.path, env: { ...process.env, HOME: scratch.path, ...env } });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr.toString() };
}

function ok(program: 'caliop' | 'sqop', args: string[], input?: string | Uint8Array, env?: NodeJS.ProcessEnv): Buffer {
  const result = sop(program, args, input, env);
  expect(result.status, `${program} ${args.join(' ')}: ${result.stderr}`).toBe(0);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  return result.stdout;
}

const other = (program: 'caliop' | 'sqop') => (program === 'caliop' ? 'sqop' : 'caliop');

beforeAll(() => {
  for (const program of ['caliop', 'sqop'] as const) {
    writeFileSync(at(`${program}.key`), ok(program, ['generate-key', `${program} user <${program}@example.org>`]));
    writeFileSync(at(`${program}.cert`), ok(program, ['extract-cert'], readFileSync(at(`${program}.key`))));
  }
});

afterAll(() => {
  scratch.remove();
  process.stdout.write(`\nSOP cross-matrix, caliop sop vs sqop (${table.length} cases)\n${table.join('\n')}\n`);
});

describe('each makes, the other reads (armored and binary)', () => {
  for (const maker of ['caliop', 'sqop'] as const) {
    const reader = other(maker);
    it(`${maker} encrypts and signs, ${reader} decrypts and verifies; detached and inline signatures too`, () => {
      for (const armor of [true, false]) {
        const variant = armor ? 'armored' : 'binary';
        const noArmor = armor ? [] : ['--no-armor'];
        const encrypted = ok(maker, ['encrypt', ...noArmor, '--sign-with', `${maker}.key`, `${reader}.cert`], body);
        expect(encrypted.subarray(0, 5).toString() === '-----').toBe(armor);
        const decrypted = ok(reader, ['decrypt', '--verifications-out', `verified-${maker}-${variant}.txt`, '--verify-with', `${maker}.cert`, `${reader}.key`], encrypted);
        expect(decrypted.toString()).toBe(body);
        expect(readFileSync(at(`verified-${maker}-${variant}.txt`), 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ [0-9A-F]{40} [0-9A-F]{40}/i);
        table.push(`${maker} encrypt --sign-with -> ${reader} decrypt --verify-with (${variant}): ok`);

        const signature = ok(maker, ['sign', ...noArmor, `${maker}.key`], body);
        writeFileSync(at(`sig-${maker}-${variant}`), signature);
        expect(ok(reader, ['verify', `sig-${maker}-${variant}`, `${maker}.cert`], body).toString()).toMatch(/[0-9A-F]{40} [0-9A-F]{40}/i);
        table.push(`${maker} sign -> ${reader} verify (${variant}): ok`);

        const inline = ok(maker, ['inline-sign', ...noArmor, `${maker}.key`], body);
        expect(ok(reader, ['inline-verify', `${maker}.cert`], inline).toString()).toBe(body);
        table.push(`${maker} inline-sign -> ${reader} inline-verify (${variant}): ok`);
      }
      const clear = ok(maker, ['inline-sign', '--as=clearsigned', `${maker}.key`], 'clear text\n');
      // RFC 9580 §7.1: the line ending before the signature is not signed; programs differ on
      // whether they give the last line ending back. The text itself must be the same.
      expect(ok(reader, ['inline-verify', `${maker}.cert`], clear).toString().replace(/(\r?\n)+$/, '')).toBe('clear text');
      table.push(`${maker} inline-sign --as=clearsigned -> ${reader} inline-verify: ok`);
    });
  }

  it('armor and dearmor agree with sqop, and inline-detach splits what sqop signed', () => {
    const binaryCert = ok('sqop', ['dearmor'], readFileSync(at('caliop.cert')));
    expect(ok('caliop', ['dearmor'], readFileSync(at('caliop.cert')))).toEqual(binaryCert);
    const rearmored = ok('caliop', ['armor'], binaryCert);
    expect(ok('sqop', ['dearmor'], rearmored)).toEqual(binaryCert);
    expect(rearmored.toString()).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    table.push('caliop armor/dearmor = sqop dearmor: ok');
    const inline = ok('sqop', ['inline-sign', 'sqop.key'], body);
    const data = ok('caliop', ['inline-detach', '--signatures-out=detached.sig'], inline);
    expect(data.toString()).toBe(body);
    expect(ok('sqop', ['verify', 'detached.sig', 'sqop.cert'], data).length).toBeGreaterThan(0);
    table.push('sqop inline-sign -> caliop inline-detach -> sqop verify: ok');
  });

  it('keys locked with a password: generate, change-key-password, @ENV: and @FD: passwords', () => {
    writeFileSync(at('pw.txt'), 'correct horse\n');
    const locked = ok('caliop', ['generate-key', '--with-key-password=pw.txt', 'Locked <locked@example.org>']);
    writeFileSync(at('locked.key'), locked);
    expect(sop('caliop', ['sign', 'locked.key'], 'x').status).toBe(67); // KEY_IS_PROTECTED
    expect(ok('caliop', ['sign', '--with-key-password=@ENV:SOP_PW', 'locked.key'], 'x', { SOP_PW: 'correct horse' }).length).toBeGreaterThan(0);
    const unlocked = ok('caliop', ['change-key-password', '--old-key-password=pw.txt'], locked);
    writeFileSync(at('unlocked.key'), unlocked);
    writeFileSync(at('unlocked.cert'), ok('sqop', ['extract-cert'], unlocked));
    const signature = ok('sqop', ['sign', 'unlocked.key'], body);
    writeFileSync(at('unlocked.sig'), signature);
    // The cert given as @FD:3: an inherited descriptor opened on the cert file.
    const certFd = openSync(at('unlocked.cert'), 'r');
    const viaFd = spawnSync(process.execPath, [CALIOP_SOP, 'verify', 'unlocked.sig', '@FD:3'], {
      cwd: scratch.path,
      input: body,
      stdio: ['pipe', 'pipe', 'pipe', certFd],
      env: process.env,
    });
    closeSync(certFd);
    expect(viaFd.status, viaFd.stderr.toString()).toBe(0);
    expect(viaFd.stdout.toString()).toMatch(/mode:binary/);
    table.push('caliop generate-key --with-key-password, change-key-password, sqop reads the result: ok');
    const revoked = ok('caliop', ['revoke-key'], unlocked);
    expect(revoked.toString()).toMatch(/BEGIN PGP PUBLIC KEY BLOCK/);
    const encryptToRevoked = sop('sqop', ['encrypt', 'unlocked.cert'], body);
    expect(encryptToRevoked.status).toBe(0); // sqop has not seen the revocation
    writeFileSync(at('revoked.cert'), revoked);
    expect(sop('caliop', ['encrypt', 'revoked.cert'], body).status).toBe(17); // CERT_CANNOT_ENCRYPT
    table.push('caliop revoke-key, then encrypt to it: 17 CERT_CANNOT_ENCRYPT');
  });
});

describe("the draft's exit codes on failure (both programs where the draft fixes them)", () => {
  const cases: [string, string[], string | undefined, number][] = [
    ['decrypt with a key the message is not for', ['decrypt', 'sqop.key'], 'message-to-caliop', 29],
    ['verify against the wrong cert', ['verify', 'sig-caliop-armored', 'sqop.cert'], body, 3],
    ['an option the subcommand does not have', ['sign', '--frobnicate', 'caliop.key'], body, 37],
    ['a subcommand that does not exist', ['frobnicate'], undefined, 69],
    ['a missing input file', ['verify', 'no-such.sig', 'caliop.cert'], body, 61],
    ['garbage instead of a message', ['decrypt', 'caliop.key'], 'not openpgp at all', 41],
    ['sign without a key', ['sign'], body, 19],
  ];
  for (const [what, args, input, code] of cases) {
    it(`${what}: ${code}`, () => {
      if (!existsSync(at('message-to-caliop'))) writeFileSync(at('message-to-caliop'), ok('sqop', ['encrypt', 'caliop.cert'], body));
      if (!existsSync(at('sig-caliop-armored'))) writeFileSync(at('sig-caliop-armored'), ok('caliop', ['sign', 'caliop.key'], body));
      const data = input === 'message-to-caliop' ? readFileSync(at('message-to-caliop')) : input;
      const ours = sop('caliop', args, data);
      expect(ours.status, ours.stderr).toBe(code);
      expect(ours.stdout.length).toBe(0); // never a byte of plaintext on error
      expect(ours.stderr).toMatch(/^caliop sop: error: /);
      expect(ours.stderr).not.toMatch(/\n\s+at /);
      const theirs = sop('sqop', args, data);
      table.push(`${what}: caliop ${ours.status}, sqop ${theirs.status}`);
    });
  }

  it('an output file that exists is never overwritten: 59', () => {
    writeFileSync(at('exists.txt'), 'keep me');
    const inline = ok('caliop', ['inline-sign', 'caliop.key'], body);
    const result = sop('caliop', ['inline-detach', '--signatures-out=exists.txt'], inline);
    expect(result.status).toBe(59);
    expect(readFileSync(at('exists.txt'), 'utf8')).toBe('keep me');
    table.push('inline-detach onto an existing file: caliop 59');
  });
});
