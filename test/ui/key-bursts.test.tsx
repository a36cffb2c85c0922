// No key press is lost (docs/ui.md §5): whole bursts written in ONE chunk — as a
// paste, a fast typist or a loaded machine delivers them — land key by key in the
// field that had the focus when each was typed. Run under a CPU load made by the
// test itself (two busy loops).
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stickAt } from '../../src/edges/stick-locator.js';
import { App } from '../../src/ui/App.js';
import { splitKeys } from '../../src/ui/keys.js';
import { busyLoops, type BusyLoops } from '../helpers/load.js';
import { initStick, PASSPHRASE, temporaryFolder } from '../helpers/caliop.js';
import { ENTER, ESC, press, waitForFrame, type Rendered } from './frames.js';

const scratch = temporaryFolder('ui-bursts');
let unlockedStick = '';
let load: BusyLoops;

beforeAll(async () => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1';
  unlockedStick = join(scratch.path, 'ana');
  mkdirSync(unlockedStick);
  await initStick(unlockedStick, 'Ana Burst', 'ana@caliop.test');
  load = busyLoops(2);
});
afterAll(() => {
  load?.stop();
  scratch.remove();
});

describe('splitKeys', () => {
  it('cuts one chunk into single keys, in order', () => {
    const keys = splitKeys('ab\x7f\x7f\tc\r\nd\x03é');
    expect(keys.map(({ input, key }) => (key.backspace ? '⌫' : key.tab ? '⇥' : key.return ? '⏎' : key.ctrl ? `^${input}` : input))).toEqual(['a', 'b', '⌫', '⌫', '⇥', 'c', '⏎', 'd', '^c', 'é']);
  });
  it('reads escape sequences: arrows, Shift-Tab, Delete, Page Down, Esc, Alt+key', () => {
    expect(splitKeys('\x1b[A')[0]!.key.upArrow).toBe(true);
    expect(splitKeys('\x1bOB')[0]!.key.downArrow).toBe(true);
    expect(splitKeys('\x1b[Z')[0]!.key).toMatchObject({ tab: true, shift: true });
    expect(splitKeys('\x1b[3~')[0]!.key.delete).toBe(true);
    expect(splitKeys('\x1b[6~')[0]!.key.pageDown).toBe(true);
    expect(splitKeys('\x1b')[0]!.key.escape).toBe(true);
    expect(splitKeys('\x1bx')[0]).toMatchObject({ input: 'x', key: { meta: true } });
  });
  it('drops bidi controls and C1 controls from typed text', () => {
    expect(splitKeys('a\u202eb\u0085c').map((press) => press.input).join('')).toBe('abc');
  });
});

describe('one reader of the keyboard', () => {
  it("no screen subscribes to Ink's useInput (it hands a whole chunk to every listener at once)", () => {
    const root = resolve(import.meta.dirname, '../../src/ui');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((file) => /\.tsx?$/.test(file));
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.filter((file) => /\buseInput\b[^\n]*from 'ink'|import \{[^}]*\buseInput\b[^}]*\} from 'ink'/.test(readFileSync(join(root, file), 'utf8')));
    expect(offenders).toEqual([]);
  });
});

/** A new stick's wizard, past the welcome screen, on the name field. */
async function atNameField(folder: string): Promise<{ app: Rendered; start: string }> {
  const stick = join(scratch.path, folder);
  mkdirSync(stick);
  const app = render(<App stick={stickAt(stick, '--stick')} onExit={() => undefined} />);
  const start = /connected to a network/.test(await waitForFrame(app, /Welcome/)) ? 'o' : ENTER;
  await press(app, start);
  await waitForFrame(app, /Your name/);
  return { app, start };
}

describe('bursts in the interface', { timeout: 300_000 }, () => {
  it('the ceremony typed in one chunk: name with Backspaces, Enter, address, Enter, choice, passphrase twice', async () => {
    const { app, start } = await atNameField('new');
    app.stdin.write(`Ana XYZ${'\x7f'.repeat(3)}Burst\rana@caliop.test\rt${PASSPHRASE}\r${PASSPHRASE}\r`);
    // Both entries matched (no "do not match"), so the ceremony runs to the sheet.
    const sheet = await waitForFrame(app, /24 words/);
    expect(sheet).toContain('Ana Burst');
    expect(sheet).toContain('ana@caliop.test');
    app.unmount();
  });

  it('ten Backspaces in one chunk delete ten characters', async () => {
    const { app, start } = await atNameField('backspace');
    app.stdin.write('abcdefghijkl');
    await waitForFrame(app, /Name: abcdefghijkl/);
    app.stdin.write('\x7f'.repeat(10));
    const frame = await waitForFrame(app, /Name: ab(?!c)/);
    expect(frame).not.toContain('abc');
    // Esc goes back a step, Enter comes forward again: the name is still there.
    await press(app, ESC);
    await waitForFrame(app, /Welcome/);
    await press(app, start);
    expect(await waitForFrame(app, /Your name/)).toMatch(/Name: ab\s*$/m);
    app.unmount();
  });

  it('compose: To, Tab, subject, Tab, body in one chunk go to their own fields', async () => {
    const app = render(<App stick={stickAt(unlockedStick, '--stick')} onExit={() => undefined} />);
    await waitForFrame(app, /Open your stick/);
    // Passphrase, Enter, then the inbox key and the whole message, all at once.
    app.stdin.write(`${PASSPHRASE}\rn`);
    await waitForFrame(app, /New message/);
    app.stdin.write('bob@caliop.test\tLunch on Friday\tSee you at noon.\rBring the map.');
    const frame = await waitForFrame(app, /Bring the map\./);
    expect(frame).toMatch(/^To [^\n]*: bob@caliop\.test\s*$/m);
    expect(frame).toMatch(/Subject: Lunch on Friday\s*$/m);
    expect(frame).toContain('See you at noon.');
    app.unmount();
  });

  it('a long paste lands whole, in order', async () => {
    const { app, start } = await atNameField('paste');
    const long = 'x'.repeat(20) + 'y'.repeat(20);
    for (let index = 0; index < long.length; index += 7) app.stdin.write(long.slice(index, index + 7));
    await waitForFrame(app, new RegExp(`Name: ${long}`));
    app.unmount();
  });
});
