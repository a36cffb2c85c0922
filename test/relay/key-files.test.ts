// The relay's key files, read with errors that name the file and say what is wrong
// (not "error:1E08010C:DECODER routines::unsupported"): the DKIM key (--dkim-key FILE or
// DIR/dkim/SELECTOR.pem) and DIR/disclosure-key.pem. RFC 8301 §3.2: an RSA DKIM key under
// 1024 bits is refused.

import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDisclosureKey } from '../../src/relay/disclosure.js';
import { ensureDkimKey, readDkimKey } from '../../src/relay/gateway/dkim.js';
import { SqliteRelayStore } from '../../src/relay/store/sqlite-store.js';
import { temporaryFolder, type TemporaryFolder } from '../helpers/temp-folder.js';
import { RELAY_MAIN } from './helpers/relay-process.js';

let scratch: TemporaryFolder;
beforeAll(() => {
  scratch = temporaryFolder('key-files');
});
afterAll(() => scratch?.remove());

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [RELAY_MAIN, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

function file(name: string, text: string): string {
  const path = join(scratch.path, name);
  writeFileSync(path, text);
  return path;
}

const rsaPem = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('the DKIM key file', () => {
  it('a corrupt file is named', () => {
    const corrupt = file('corrupt.pem', '-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n');
    expect(() => readDkimKey(corrupt, 'ops')).toThrow(new RegExp(`^${corrupt} is not a readable PEM private key \\(`));
  });

  it('a public key given as the DKIM key is named as such', () => {
    const publicPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const given = file('public.pem', publicPem);
    expect(() => readDkimKey(given, 'ops')).toThrow(`${given} is a public key: the DKIM key must be the private key (PEM)`);
  });

  it('RFC 8301 §3.2: an RSA key under 1024 bits is refused; 1024 is accepted', () => {
    const small = file('rsa512.pem', rsaPem(512));
    expect(() => readDkimKey(small, 'ops')).toThrow(`${small} is an RSA key of 512 bits: DKIM signers must use at least 1024 (RFC 8301 §3.2)`);
    expect(readDkimKey(file('rsa1024.pem', rsaPem(1024)), 'ops').txtRecord).toMatch(/^v=DKIM1; k=rsa; p=/);
  });

  it('a corrupt DIR/dkim/SELECTOR.pem is named', () => {
    const dir = join(scratch.path, 'relay-dkim');
    mkdirSync(join(dir, 'dkim'), { recursive: true });
    writeFileSync(join(dir, 'dkim', 'selector'), 'caliop202611\n');
    writeFileSync(join(dir, 'dkim', 'caliop202611.pem'), 'garbage');
    expect(() => ensureDkimKey(dir, new Date())).toThrow(`${join(dir, 'dkim', 'caliop202611.pem')} is not a readable PEM private key`);
  });

  it('dns-records with a corrupt --dkim-key: the file named on the error line', async () => {
    const corrupt = file('corrupt2.pem', 'garbage');
    const result = await run(['dns-records', '--data', scratch.path, '--domain', 'example.test', '--dkim-key', corrupt, '--dkim-selector', 'ops']);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toMatch(new RegExp(`^caliop-relay: error: ${corrupt} is not a readable PEM private key`));
  });
});

describe('DIR/disclosure-key.pem', () => {
  it('a corrupt or non-Ed25519 key is named; the command exits 4 and makes no new key', async () => {
    const dir = join(scratch.path, 'relay-disclosure');
    mkdirSync(dir);
    const keyFile = join(dir, 'disclosure-key.pem');
    writeFileSync(keyFile, 'garbage');
    expect(() => readDisclosureKey(dir)).toThrow(new RegExp(`^${keyFile} is not a PEM private key \\(`));
    writeFileSync(keyFile, rsaPem(1024));
    expect(() => readDisclosureKey(dir)).toThrow(`${keyFile} is not an Ed25519 key but rsa`);
    writeFileSync(keyFile, 'garbage');
    await (SqliteRelayStore.open(join(dir, 'relay.sqlite'))).close();
    const log = await run(['disclosure-log', '--data', dir]);
    expect(log.code).toBe(4);
    expect(log.stderr.split('\n')[0]).toMatch(new RegExp(`^caliop-relay: error: ${keyFile} is not a PEM private key \\(`));
    expect(log.stderr).toContain('caliop-relay: hint: restore');
  });
});
