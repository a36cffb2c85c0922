// The first run through the ceremony wizard on a real empty stick (real Argon2id with
// the test parameters, real key derivation), then unlock with a wrong and the right
// passphrase on the stick it made.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stickAt } from '../../src/edges/stick-locator.js';
import { App } from '../../src/ui/App.js';
import { temporaryFolder } from '../helpers/caliop.js';
import { ENTER, ESC, press, type, waitForFrame } from './frames.js';

const scratch = temporaryFolder('ui-wizard');
const stickDir = join(scratch.path, 'stick');
let passphrase = '';

beforeAll(() => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1';
  mkdirSync(stickDir);
});
afterAll(() => scratch.remove());

describe('ceremony wizard', () => {
  it('goes from an empty stick through the ceremony to an empty inbox', async () => {
    const exits: number[] = [];
    const app = render(<App stick={stickAt(stickDir, '--stick')} onExit={(code) => exits.push(code)} />);
    const welcome = await waitForFrame(app, /Welcome/);
    expect(welcome).toMatch(/offline|ONLINE/);
    await press(app, /ONLINE/.test(welcome) ? 'o' : ENTER);
    await waitForFrame(app, /Your name/);
    await type(app, ''); // empty: refused with a plain sentence
    await waitForFrame(app, /Please type something first/);
    await type(app, 'Ana Frame');
    await waitForFrame(app, /Your address/);
    await type(app, 'ana@caliop.test');
    await waitForFrame(app, /random words/);
    await press(app, 'g');
    const generated = await waitForFrame(app, /Your new passphrase/);
    passphrase = /([a-z]+(?:-[a-z]+){6})/.exec(generated)![1]!;
    await press(app, ENTER);

    const sheet = await waitForFrame(app, /24 words/);
    const words: string[] = [];
    for (const match of sheet.matchAll(/\b(\d{1,2})\. ([a-z]+)/g)) words[Number(match[1]) - 1] = match[2]!;
    expect(words.filter(Boolean)).toHaveLength(24);
    expect(sheet).toMatch(/fingerprint: [0-9A-F ]{40,}/);
    await press(app, ENTER);

    for (let asked = 0; asked < 3; asked++) {
      const check = await waitForFrame(app, /Type the word number (\d+)/);
      expect(check).not.toContain(`1. ${words[0]}`); // the sheet has left the screen
      const position = Number(/Type the word number (\d+)/.exec(check)![1]);
      await type(app, words[position - 1]!);
      if (asked < 2) await waitForFrame(app, new RegExp(`Type the word number (?!${position}\\b)\\d+|shares`));
    }
    await waitForFrame(app, /Split the recovery phrase/, 60_000);
    expect(existsSync(join(stickDir, 'vault', 'caliop.vault'))).toBe(true);
    await press(app, 'n');
    await waitForFrame(app, /Connect to your relay/);
    await press(app, ESC);
    const done = await waitForFrame(app, /Your keys are ready/);
    expect(done).toMatch(/Fingerprint: [0-9A-F]{40}/);
    expect(done).toContain('Not connected to a relay yet');
    await press(app, ENTER);
    const inbox = await waitForFrame(app, /Inbox/);
    expect(inbox).toContain('No messages yet');
    expect(inbox).toContain('outbox: 0');
    app.unmount();
  });

  it('says a wrong passphrase plainly and opens with the right one (no lockout)', async () => {
    const app = render(<App stick={stickAt(stickDir, '--stick')} onExit={() => undefined} />);
    await waitForFrame(app, /Open your stick/);
    for (let attempt = 0; attempt < 3; attempt++) {
      await type(app, 'not the passphrase');
      const wrong = await waitForFrame(app, /Wrong passphrase/);
      expect(wrong).toContain('there is no limit');
      expect(wrong).not.toContain('not the passphrase');
    }
    await type(app, passphrase);
    await waitForFrame(app, /No messages yet/);
    app.unmount();
  });

  it('speaks French when asked', async () => {
    const app = render(<App stick={stickAt(stickDir, '--stick')} language="fr" onExit={() => undefined} />);
    await waitForFrame(app, /Ouvrir votre clé USB/);
    await type(app, 'faux');
    await waitForFrame(app, /Phrase de passe incorrecte/);
    app.unmount();
  });
});
