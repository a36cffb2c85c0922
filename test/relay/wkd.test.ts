// Web Key Directory (docs/api.md §7.2; draft-koch-openpgp-webkey-service §3.1):
// the hash agrees with GnuPG's, and the relay serves binary certs at both paths.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wkdHash, zBase32 } from '../../src/api/wkd-hash.js';
import { makeGpg } from '../helpers/gpg.js';
import { temporaryFolder } from '../helpers/temp-folder.js';
import { startRelayProcess, type RelayProcess } from './helpers/relay-process.js';
import { rawRequest } from './helpers/raw-request.js';
import { enrolled, type TestIdentity } from './helpers/test-identity.js';

function gpgWksClient(): string {
  for (const candidate of ['/usr/lib/gnupg/gpg-wks-client', '/usr/lib/gnupg2/gpg-wks-client', '/usr/libexec/gpg-wks-client']) {
    if (existsSync(candidate)) return candidate;
  }
  return 'gpg-wks-client';
}

describe('wkdHash', () => {
  it('z-base-32 known answers (RFC 6189 alphabet)', () => {
    expect(zBase32(new Uint8Array([]))).toBe('');
    expect(zBase32(new Uint8Array([0]))).toBe('yy');
    expect(zBase32(new Uint8Array([0xff]))).toBe('9h');
    expect(zBase32(new Uint8Array(20).fill(0))).toBe('y'.repeat(32));
  });

  it('equals gpg-wks-client --print-wkd-hash', () => {
    const addresses = ['alice@example.test', 'Joe.Doe@Example.ORG', 'x@y.z', 'first.last+tag@caliop.net', 'UPPER_case-1@d.test'];
    for (const address of addresses) {
      const gnupg = execFileSync(gpgWksClient(), ['--print-wkd-hash', address]).toString().trim().split(' ')[0];
      expect(wkdHash(address.slice(0, address.lastIndexOf('@')))).toBe(gnupg);
    }
  });
});

describe('WKD routes of the relay', () => {
  let relay: RelayProcess;
  let alice: { identity: TestIdentity };
  let fingerprint: string;

  beforeAll(async () => {
    relay = await startRelayProcess({ domain: 'caliop.test' });
    alice = await enrolled(relay, 'alice');
    fingerprint = (await openpgp.readKey({ armoredKey: alice.identity.armoredCert })).getFingerprint();
  });
  afterAll(async () => relay?.dispose());

  const fingerprintOf = async (body: string) => (await openpgp.readKey({ binaryKey: Buffer.from(body, 'latin1') })).getFingerprint();

  async function getBinary(path: string): Promise<{ status: number; body: string; type: string | undefined }> {
    const answer = await rawRequest(relay.url, { method: 'GET', path });
    return { status: answer.status, body: answer.raw.toString('latin1'), type: answer.headers['content-type'] as string | undefined };
  }

  it('advanced method: /.well-known/openpgpkey/DOMAIN/hu/HASH?l=LOCAL', async () => {
    const answer = await getBinary(`/.well-known/openpgpkey/caliop.test/hu/${wkdHash('alice')}?l=alice`);
    expect(answer.status).toBe(200);
    expect(answer.type).toBe('application/octet-stream');
    expect(await fingerprintOf(answer.body)).toBe(fingerprint);
  });

  it('direct method: /.well-known/openpgpkey/hu/HASH (with or without l)', async () => {
    for (const path of [`/.well-known/openpgpkey/hu/${wkdHash('alice')}`, `/.well-known/openpgpkey/hu/${wkdHash('alice')}?l=Alice`]) {
      const answer = await getBinary(path);
      expect(answer.status).toBe(200);
      expect(await fingerprintOf(answer.body)).toBe(fingerprint);
    }
  });

  it('policy files exist for both methods', async () => {
    expect((await rawRequest(relay.url, { method: 'GET', path: '/.well-known/openpgpkey/policy' })).status).toBe(200);
    expect((await rawRequest(relay.url, { method: 'GET', path: '/.well-known/openpgpkey/caliop.test/policy' })).status).toBe(200);
    expect((await rawRequest(relay.url, { method: 'GET', path: '/.well-known/openpgpkey/other.test/policy' })).status).toBe(404);
  });

  it('404 for unknown hashes, a mismatched l, or another domain', async () => {
    for (const path of [
      `/.well-known/openpgpkey/hu/${wkdHash('bob')}`,
      `/.well-known/openpgpkey/hu/${wkdHash('alice')}?l=bob`,
      `/.well-known/openpgpkey/other.test/hu/${wkdHash('alice')}?l=alice`,
      '/.well-known/openpgpkey/hu/not-a-hash',
    ]) {
      const answer = await rawRequest(relay.url, { method: 'GET', path });
      expect([path, answer.status]).toEqual([path, 404]);
    }
  });

  it('gpg --locate-external-keys can read the binary cert format (gpg --import of the WKD body)', async () => {
    const answer = await getBinary(`/.well-known/openpgpkey/hu/${wkdHash('alice')}`);
    const scratch = temporaryFolder('gpg');
    const peer = makeGpg(scratch.path);
    let listed: string;
    try {
      listed = peer.run(['--with-colons', '--show-keys'], Buffer.from(answer.body, 'latin1')).toString();
    } finally {
      peer.kill();
      scratch.remove();
    }
    expect(listed).toContain(`fpr:::::::::${fingerprint.toUpperCase()}:`);
    expect(listed).toContain('alice@caliop.test');
  });
});
