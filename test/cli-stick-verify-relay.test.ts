// `caliop stick verify --relay`: the release fingerprint the stick's relay publishes
// (GET /v1/relay releaseFingerprint, fetched over the pin in config.json) as an anchor
// outside the stick (docs/manifest.md §8). Real relays over HTTPS on loopback.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatManifest } from '../src/core/stick-manifest.js';
import { manifestEntriesOf } from '../src/edges/stick-tree.js';
import { checkStick } from '../src/service/stick-verify.js';
import { locateStick } from '../src/edges/stick-locator.js';
import { generateReleaseKey, readReleaseSecretKey, signManifest } from '../src/service/manifest-signature.js';
import { caliop, temporaryFolder, testEnv } from './helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const scratch = temporaryFolder('stick-verify-relay');
let release: Awaited<ReturnType<typeof generateReleaseKey>>;
let impostor: Awaited<ReturnType<typeof generateReleaseKey>>;
let publishing: RelayProcess;
let silent: RelayProcess;

/** A stick laid out like the image, whose config.json names `relay`, signed with `key`. */
async function makeStick(name: string, key: typeof release, relay: { url: string; pin: string | undefined }): Promise<string> {
  const stick = join(scratch.path, name);
  mkdirSync(join(stick, 'vault'), { recursive: true });
  writeFileSync(join(stick, 'caliop.sh'), '#!/bin/sh\nexec "$(dirname "$0")/caliop-linux-x64" --stick "$(dirname "$0")" "$@"\n');
  writeFileSync(join(stick, 'caliop-linux-x64'), 'not really an executable, but bytes to hash');
  writeFileSync(join(stick, 'config.json'), `${JSON.stringify({ releaseCert: key.certArmored, relay }, null, 2)}\n`);
  const manifest = new TextEncoder().encode(formatManifest(await manifestEntriesOf(stick)));
  writeFileSync(join(stick, 'MANIFEST'), manifest);
  writeFileSync(join(stick, 'MANIFEST.sig'), await signManifest(manifest, await readReleaseSecretKey(key.secretKeyArmored)));
  return stick;
}

const verify = (stick: string, json: boolean) => caliop(['--stick', stick, ...(json ? ['--json'] : []), 'stick', 'verify', '--relay'], { env: testEnv() });

beforeAll(async () => {
  [release, impostor] = await Promise.all([generateReleaseKey({ name: 'Caliop test release' }), generateReleaseKey({ name: 'Not the release key' })]);
  // The fingerprint given in lower case with spaces, as people copy it: the relay normalises it.
  const spaced = release.fingerprint.toLowerCase().replace(/(.{4})/g, '$1 ').trim();
  [publishing, silent] = await Promise.all([startRelayProcess({ extraArgs: ['--release-fingerprint', spaced] }), startRelayProcess()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([publishing?.dispose(), silent?.dispose()]);
  scratch.remove();
});

describe('caliop stick verify --relay', () => {
  it('the relay publishes the stick\'s release fingerprint: exit 0, anchor "relay"', async () => {
    expect(publishing.pin).toMatch(/^sha256\//);
    const stick = await makeStick('good', release, { url: publishing.url, pin: publishing.pin });
    const json = await verify(stick, true);
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: true, signatureValid: true, differs: [], missing: [], extra: [],
      anchor: 'relay', releaseFingerprint: release.fingerprint, anchorFingerprint: release.fingerprint, anchorMatches: true,
      relay: { url: publishing.url, fingerprint: release.fingerprint, matches: true },
    });
    const text = await verify(stick, false);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^anchor: the release fingerprint your relay publishes \(/);
    expect(text.stderr).toContain('every file of the stick is as it was made');
    // Without --relay the same stick is verified only against itself (55).
    expect((await caliop(['--stick', stick, 'stick', 'verify'], { env: testEnv() })).status).toBe(55);
  });

  it('a stick re-signed with another key is refused (50), naming both fingerprints', async () => {
    const stick = await makeStick('resigned', impostor, { url: publishing.url, pin: publishing.pin });
    const json = await verify(stick, true);
    expect(json.status).toBe(50);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false, signatureValid: true, anchor: 'relay', anchorMatches: false,
      releaseFingerprint: impostor.fingerprint, anchorFingerprint: release.fingerprint,
      relay: { fingerprint: release.fingerprint, matches: false },
    });
    const text = await verify(stick, false);
    expect(text.status).toBe(50);
    expect(text.stderr).toContain(impostor.fingerprint);
    expect(text.stderr).toContain(release.fingerprint);
    expect(text.stderr).not.toContain('every file of the stick is as it was made');
  });

  it('a relay that publishes no fingerprint is exit 56 (relay_publishes_no_fingerprint), with a hint', async () => {
    const stick = await makeStick('silent', release, { url: silent.url, pin: silent.pin });
    const run = await verify(stick, false);
    expect(run.status).toBe(56);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^caliop: error: the relay .* publishes no release fingerprint/m);
    expect(run.stderr).toMatch(/^caliop: hint: .*--release-fingerprint/m);
  });

  it('a relay whose certificate is not the pinned one is never asked (31)', async () => {
    const stick = await makeStick('wrong-pin', release, { url: publishing.url, pin: silent.pin });
    const run = await verify(stick, false);
    expect(run.status).toBe(31);
    expect(run.stdout).toBe('');
  });

  it('with a compiled-in fingerprint too, both are checked and reported; the compiled-in one leads', async () => {
    const stick = locateStick({ flag: await makeStick('both', release, { url: publishing.url, pin: publishing.pin }), env: undefined, executablePath: process.execPath });
    const both = await checkStick(stick, { compiledFingerprint: release.fingerprint, relay: 'stick' });
    expect(both).toMatchObject({ ok: true, anchor: 'compiled-in', anchorMatches: true, relay: { fingerprint: release.fingerprint, matches: true } });
    const compiledOther = await checkStick(stick, { compiledFingerprint: impostor.fingerprint, relay: 'stick' });
    expect(compiledOther).toMatchObject({ ok: false, anchor: 'compiled-in', anchorFingerprint: impostor.fingerprint, anchorMatches: false, relay: { matches: true } });
    // An executable built to trust the impostor, on a stick it re-signed: the relay still refuses it.
    const resigned = locateStick({ flag: await makeStick('both-resigned', impostor, { url: publishing.url, pin: publishing.pin }), env: undefined, executablePath: process.execPath });
    const caught = await checkStick(resigned, { compiledFingerprint: impostor.fingerprint, relay: 'stick' });
    expect(caught).toMatchObject({ ok: false, signatureValid: true, anchor: 'compiled-in', anchorMatches: false, relay: { fingerprint: release.fingerprint, matches: false } });
  });
});
