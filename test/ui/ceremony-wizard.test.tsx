// The first run through the ceremony wizard on a real empty stick (real Argon2id with
// the test parameters, real key derivation), then unlock with a wrong and the right
// passphrase on the stick it made.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stickAt } from '../../src/edges/stick-locator.js';
import { App } from '../../src/ui/App.js';
import { initStick, PASSPHRASE, temporaryFolder } from '../helpers/caliop.js';
import { ENTER, ESC, press, type, waitForFrame } from './frames.js';

const scratch = temporaryFolder('ui-wizard');
const stickDir = join(scratch.path, 'stick');
let passphrase = '';
let words: string[] = [];

beforeAll(() => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1';
  mkdirSync(stickDir);
});
afterAll(() => scratch.remove());

describe('ceremony wizard', { timeout: 300_000 }, () => {
  it('goes from an empty stick through the ceremony to an empty inbox', async () => {
    const exits: number[] = [];
    const app = render(<App stick={stickAt(stickDir, '--stick')} onExit={(code) => exits.push(code)} />);
    const welcome = await waitForFrame(app, /Welcome/);
    expect(welcome).toMatch(/offline|connected to a network/);
    await press(app, /connected to a network/.test(welcome) ? 'o' : ENTER);
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
    const inbox = await waitForFrame(app, /Inbox[\s\S]*No messages yet/); // the list is read after the title is drawn
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

  it('stick and keys: shares shown one at a time, the backup check recorded, a weak new passphrase confirmed, then a strong one', async () => {
    const app = render(<App stick={stickAt(stickDir, '--stick')} onExit={() => undefined} />);
    await waitForFrame(app, /Open your stick/);
    await type(app, passphrase);
    await waitForFrame(app, /No messages yet/);
    await press(app, 'k');
    await waitForFrame(app, /Recovery words checked/);
    await press(app, 'b');
    await waitForFrame(app, /Number of shares/);
    await type(app, '');
    await waitForFrame(app, /Shares needed/);
    await type(app, '');
    const first = await waitForFrame(app, /Share 1 of 3 — 2 needed/);
    expect(first).toMatch(/share: 1 of 3, 2 needed/);
    await press(app, ENTER);
    await waitForFrame(app, /Share 2 of 3/);
    await press(app, ENTER);
    await waitForFrame(app, /Share 3 of 3/);
    await press(app, ENTER);
    await waitForFrame(app, /Stick and keys/);

    await press(app, 'w');
    for (let asked = 0; asked < 3; asked++) {
      const check = await waitForFrame(app, /Type the word number (\d+)/);
      const position = Number(/Type the word number (\d+)/.exec(check)![1]);
      await type(app, asked === 2 ? 'wrongword' : words[position - 1]!);
    }
    const failed = await waitForFrame(app, /What to do:/);
    expect(failed).toContain('do not match the recovery phrase');
    await press(app, 'w');
    for (let asked = 0; asked < 3; asked++) {
      const check = await waitForFrame(app, /Type the word number (\d+)/);
      const position = Number(/Type the word number (\d+)/.exec(check)![1]);
      await type(app, words[position - 1]!);
    }
    await waitForFrame(app, /Your copy of the words is right/);

    await press(app, 'p');
    await waitForFrame(app, /Change the passphrase/);
    await type(app, 'password');
    await waitForFrame(app, /Type it again/);
    await type(app, 'password');
    await waitForFrame(app, /Y: keep it anyway/);
    await press(app, 'n');
    await waitForFrame(app, /Passphrase:/);
    passphrase = 'a new and long passphrase for the frame test 1871';
    await type(app, passphrase);
    await type(app, 'a different one');
    await waitForFrame(app, /The two passphrases differ/);
    await type(app, passphrase);
    await type(app, passphrase);
    await waitForFrame(app, /sealed under the new passphrase/);
    app.unmount();

    const again = render(<App stick={stickAt(stickDir, '--stick')} onExit={() => undefined} />);
    await waitForFrame(again, /Open your stick/);
    await type(again, passphrase);
    await waitForFrame(again, /No messages yet/);
    again.unmount();
  });

  it('a weak passphrase is explained and can be refused; wrong words stop the ceremony and nothing is written', async () => {
    const other = join(scratch.path, 'other');
    mkdirSync(other);
    const app = render(<App stick={stickAt(other, '--stick')} onExit={() => undefined} />);
    const welcome = await waitForFrame(app, /Welcome/);
    await press(app, /connected to a network/.test(welcome) ? 'o' : ENTER);
    await waitForFrame(app, /Your name/);
    await type(app, 'Bea');
    await waitForFrame(app, /Your address/);
    await type(app, 'bea@caliop.test');
    await waitForFrame(app, /random words/);
    await press(app, 't');
    await waitForFrame(app, /Passphrase:/);
    await type(app, 'password');
    await type(app, 'password');
    const weak = await waitForFrame(app, /This passphrase is weak/);
    expect(weak).toContain('Y: keep it anyway');
    await press(app, 'n');
    // "Choose another" goes back to the passphrase field, not to an error.
    const again = await waitForFrame(app, /Choose another passphrase/);
    expect(again).not.toContain('Something went wrong');
    expect(again).toMatch(/Passphrase:\s*$/m);
    await press(app, ESC);
    await press(app, 'g');
    await waitForFrame(app, /Your new passphrase/);
    await press(app, ENTER);
    await waitForFrame(app, /24 words/);
    await press(app, ENTER);
    for (let asked = 0; asked < 3; asked++) {
      const check = await waitForFrame(app, /Type the word number (\d+)/);
      const position = Number(/Type the word number (\d+)/.exec(check)![1]);
      await type(app, 'abandon');
      // The next question (another number), or the end: a screen, not a pause.
      if (asked < 2) await waitForFrame(app, new RegExp(`Type the word number (?!${position}\\b)\\d+|What to do:`));
    }
    const failed = await waitForFrame(app, /What to do:/);
    expect(failed).toContain('do not match the recovery phrase');
    expect(failed).toContain('nothing was written');
    expect(existsSync(join(other, 'vault', 'caliop.vault'))).toBe(false);
    app.unmount();
  });

  it('restores the identical key on an empty stick from a recovery sheet file; a sheet that is not one is explained', async () => {
    const original = join(scratch.path, 'original');
    const empty = join(scratch.path, 'restored');
    mkdirSync(original);
    mkdirSync(empty);
    const made = await initStick(original, 'Cleo Sheet', 'cleo@caliop.test');
    writeFileSync(join(scratch.path, 'sheet.txt'), made.recoverySheet);
    writeFileSync(join(scratch.path, 'not-a-sheet.txt'), 'hello\n');
    const app = render(<App stick={stickAt(empty, '--stick')} onExit={() => undefined} />);
    await waitForFrame(app, /Welcome/);
    await press(app, 'f');
    await waitForFrame(app, /Restore your keys/);
    await type(app, join(scratch.path, 'not-a-sheet.txt'));
    const bad = await waitForFrame(app, /What to do:/);
    expect(bad).toMatch(/recovery|word|sheet/i);
    for (let index = 0; index < 'not-a-sheet.txt'.length; index++) await press(app, '\x7f');
    await type(app, 'sheet.txt');
    const found = await waitForFrame(app, /The sheet is for Cleo Sheet <cleo@caliop\.test>/);
    expect(found).toContain(made.creationDate.slice(0, 10));
    await type(app, PASSPHRASE);
    await waitForFrame(app, /Type it again/);
    await type(app, PASSPHRASE);
    await waitForFrame(app, /Connect to your relay/, 60_000);
    await press(app, ESC);
    const done = await waitForFrame(app, /Your keys are ready/);
    expect(done).toContain(`Fingerprint: ${made.fingerprint}`);
    app.unmount();
  });

  it('with no stick found: asks for the folder, explains a wrong one', async () => {
    const app = render(<App stick={null} onExit={() => undefined} />);
    await waitForFrame(app, /Where is your stick/);
    await type(app, join(scratch.path, 'nowhere'));
    const wrong = await waitForFrame(app, /What to do:/);
    expect(wrong).toContain('does not exist');
    await type(app, '', false);
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
