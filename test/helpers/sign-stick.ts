// Signs a stick folder as an image build (or an attacker who rewrote it) would:
// config.json names the release certificate, MANIFEST lists the files, MANIFEST.sig
// signs it (docs/manifest.md). Used by the executable tests' `stick verify` cases.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatManifest } from '../../src/core/stick-manifest.js';
import { manifestEntriesOf } from '../../src/edges/stick-tree.js';
import { readReleaseSecretKey, signManifest, type ReleaseKey } from '../../src/service/manifest-signature.js';

export async function signStick(stickDir: string, key: ReleaseKey): Promise<void> {
  writeFileSync(join(stickDir, 'config.json'), `${JSON.stringify({ releaseCert: key.certArmored }, null, 2)}\n`);
  rmSync(join(stickDir, 'MANIFEST'), { force: true });
  rmSync(join(stickDir, 'MANIFEST.sig'), { force: true });
  const manifest = new TextEncoder().encode(formatManifest(await manifestEntriesOf(stickDir)));
  writeFileSync(join(stickDir, 'MANIFEST'), manifest);
  writeFileSync(join(stickDir, 'MANIFEST.sig'), await signManifest(manifest, await readReleaseSecretKey(key.secretKeyArmored)));
}
