// Issue 13: the interface keeps drawing while Argon2id runs in its worker, and the unlock
// screen shows the time left, estimated from this machine's measured speed
// (estimateUnlockMs). A vault at the floor parameters (256 MiB, t=3) makes the unlock long
// enough to be seen; the frames are waited for, never slept on.
import { mkdirSync } from 'node:fs';
import { render } from 'ink-testing-library';
import { afterAll, expect, it } from 'vitest';
import { KDF_FLOOR } from '../../src/core/vault-format.js';
import { stickAt } from '../../src/edges/stick-locator.js';
import { createVault } from '../../src/edges/vault-file.js';
import { KeyQueue } from '../../src/ui/key-queue.js';
import { UnlockScreen } from '../../src/ui/screens/UnlockScreen.js';
import { temporaryFolder } from '../helpers/caliop.js';
import { type, waitForFrame } from './frames.js';

const scratch = temporaryFolder('unlock-progress');
afterAll(() => scratch.remove());

it('while the vault opens, the screen counts down the time left, then reports the outcome', async () => {
  const stick = stickAt(scratch.path, '--stick');
  mkdirSync(stick.vaultDir, { recursive: true });
  // Not a vault document inside: unlocking derives the key (the long part), then fails to read it.
  (await createVault(stick.vaultPath, new TextEncoder().encode('the right passphrase'), new Uint8Array(64), { ...KDF_FLOOR })).close();
  const app = render(
    <KeyQueue>
      <UnlockScreen stick={stick} onUnlocked={() => undefined} onQuit={() => undefined} />
    </KeyQueue>,
  );
  try {
    await waitForFrame(app, /Passphrase|passphrase/);
    await type(app, 'the right passphrase');
    const counting = await waitForFrame(app, /Opening the vault: (about \d+ s left|almost done)/, 120_000);
    expect(counting).toMatch(/Opening the vault: (about \d+ s left|almost done)…/);
    // The outcome replaces the line: here an error, since the sealed document is not a vault's.
    await waitForFrame(app, /^(?![\s\S]*Opening the vault)[\s\S]*\S/, 120_000);
  } finally {
    app.unmount();
  }
}, 240_000);
