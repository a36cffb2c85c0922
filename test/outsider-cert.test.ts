// docs/decisions/post-quantum.md: certForOutsiders keeps every packet as the very bytes
// given (RFC 9580 §4.2 framing only), so a cert without an inside-only subkey comes out
// unchanged, legacy packet headers (what gpg writes) included; a keyring keeps each cert;
// data that is not a packet sequence is refused as bad_input, never half-read.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveIdentity } from '../src/core/key-derivation.js';
import { certForOutsiders, hasPostQuantumSubkey } from '../src/core/outsider-cert.js';

const home = mkdtempSync(join(tmpdir(), 'caliop-outsider-cert-'));
let gpgCert: Uint8Array;
let caliopCert: Uint8Array;

beforeAll(async () => {
  const gpg = (args: string[]) => execFileSync('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args]);
  gpg(['--quick-gen-key', 'Gus <gus@example.org>', 'rsa2048', 'sign', 'never']);
  gpgCert = new Uint8Array(gpg(['--export', 'gus@example.org']));
  const identity = await deriveIdentity({ seed: new Uint8Array(32).fill(9), name: 'Ina', email: 'ina@caliop.example', creationDate: new Date('2026-01-01T00:00:00Z') });
  caliopCert = identity.publicKey.write() as Uint8Array;
});

afterAll(() => {
  spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
  rmSync(home, { recursive: true, force: true });
});

describe('certForOutsiders (docs/decisions/post-quantum.md)', () => {
  it('a gpg cert (legacy packet headers, no inside-only subkey) comes out byte for byte', () => {
    expect((gpgCert[0]! & 0x40) === 0).toBe(true); // gpg writes the legacy format for the key packet
    expect(certForOutsiders(gpgCert)).toEqual(gpgCert);
    expect(hasPostQuantumSubkey(gpgCert)).toBe(false);
  });

  it('a keyring: each cert loses only its own inside-only subkey', () => {
    const ring = new Uint8Array([...caliopCert, ...gpgCert]);
    const outside = certForOutsiders(caliopCert);
    expect(outside.length).toBeLessThan(caliopCert.length);
    expect(certForOutsiders(ring)).toEqual(new Uint8Array([...outside, ...gpgCert]));
    expect(hasPostQuantumSubkey(caliopCert)).toBe(true);
    expect(hasPostQuantumSubkey(outside)).toBe(false);
  });

  it('not a packet sequence, or cut short: bad_input', () => {
    for (const bad of [Uint8Array.of(0x00, 0x01), caliopCert.subarray(0, caliopCert.length - 1), Uint8Array.of(0xc6, 0xe0, 0x00)]) {
      expect(() => certForOutsiders(bad)).toThrow(expect.objectContaining({ code: 'bad_input' }));
    }
  });
});
