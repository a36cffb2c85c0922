// Every screen has a way back that keeps what was typed; Esc never quits from inside
// a flow, and quitting asks (docs/ui.md §6).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stickAt } from '../../src/edges/stick-locator.js';
import { App } from '../../src/ui/App.js';
import { initStick, PASSPHRASE, temporaryFolder } from '../helpers/caliop.js';
import { ENTER, ESC, press, type, waitForFrame } from './frames.js';

const scratch = temporaryFolder('ui-back');
let opened = '';

beforeAll(async () => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1';
  opened = join(scratch.path, 'opened');
  mkdirSync(opened);
  await initStick(opened, 'Ana Back', 'ana@caliop.test');
});
afterAll(() => scratch.remove());

describe('ways back', { timeout: 300_000 }, () => {
  it('a weak passphrase refused goes back to the passphrase field; Esc steps back and keeps name and address; quitting asks', async () => {
    const stick = join(scratch.path, 'new');
    mkdirSync(stick);
    const exits: number[] = [];
    const app = render(<App stick={stickAt(stick, '--stick')} onExit={(code) => exits.push(code)} />);
    const welcome = await waitForFrame(app, /Welcome/);
    const start = /connected to a network/.test(welcome) ? 'o' : ENTER;
    await press(app, start);
    await waitForFrame(app, /Your name/);
    await type(app, 'Cleo Back');
    await waitForFrame(app, /Your address/);
    await type(app, 'cleo@caliop.test');
    await waitForFrame(app, /random words/);
    await press(app, 't');
    await waitForFrame(app, /Passphrase:/);
    await type(app, 'password');
    await waitForFrame(app, /Type it again/);
    await type(app, 'password');
    await waitForFrame(app, /This passphrase is weak/);
    await press(app, ESC); // Esc on the question: choose another, as N
    const again = await waitForFrame(app, /Choose another passphrase/);
    expect(again).not.toMatch(/Something went wrong|What to do/);
    expect(again).not.toContain('•'); // the refused passphrase is not kept
    // Esc, Esc, Esc: back through the passphrase choice to the address, then the name: both kept.
    await press(app, ESC);
    await waitForFrame(app, /random words/);
    await press(app, ESC);
    expect(await waitForFrame(app, /Your address/)).toMatch(/cleo@caliop\.test/);
    await press(app, ESC);
    expect(await waitForFrame(app, /Your name/)).toMatch(/Cleo Back/);
    await press(app, ESC);
    await waitForFrame(app, /Welcome/);
    // Esc on the first screen asks; N stays, and the flow still has what was typed.
    await press(app, ESC);
    await waitForFrame(app, /Quit Caliop\?/);
    await press(app, 'n');
    await waitForFrame(app, /^(?![\s\S]*Quit Caliop)[\s\S]*Welcome/);
    expect(exits).toEqual([]);
    await press(app, start);
    expect(await waitForFrame(app, /Your name/)).toMatch(/Cleo Back/);
    await press(app, ESC);
    await waitForFrame(app, /Welcome/);
    await press(app, ESC);
    await waitForFrame(app, /Quit Caliop\?/);
    await press(app, 'y');
    // The exit is an event: wait for it (a starved machine is slow to get there), never a fixed pause.
    for (let polls = 0; exits.length === 0 && polls < 6000; polls++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(exits).toEqual([0]);
    app.unmount();
  });

  it('the recovery words check of the Keys screen (W): Esc goes back to the Keys screen, nothing recorded', async () => {
    const app = render(<App stick={stickAt(opened, '--stick')} onExit={() => undefined} />);
    await waitForFrame(app, /Open your stick/);
    await type(app, PASSPHRASE);
    await waitForFrame(app, /Inbox/);
    await press(app, 'k');
    await waitForFrame(app, /Stick and keys/);
    await press(app, 'w');
    const check = await waitForFrame(app, /Check your copy/);
    expect(check).toContain('Esc: back');
    app.stdin.write('abandon');
    await waitForFrame(app, /abandon/);
    await press(app, ESC);
    const keys = await waitForFrame(app, /Stick and keys/);
    expect(keys).not.toContain('Check your copy');
    app.unmount();
  });

  it('compose: Esc goes back to the inbox and the draft is still there when coming back', async () => {
    const app = render(<App stick={stickAt(opened, '--stick')} onExit={() => undefined} />);
    await waitForFrame(app, /Open your stick/);
    await type(app, PASSPHRASE);
    await waitForFrame(app, /Inbox/);
    await press(app, 'n');
    await waitForFrame(app, /New message/);
    app.stdin.write('bob@caliop.test\tHalf written');
    await waitForFrame(app, /Half written/);
    await press(app, ESC);
    await waitForFrame(app, /Inbox/);
    await press(app, 'n');
    const back = await waitForFrame(app, /New message/);
    expect(back).toContain('bob@caliop.test');
    expect(back).toContain('Half written');
    // Q in the inbox with a draft not sent: it asks, and says the draft would be lost; N stays.
    let exited: number | undefined;
    app.rerender(<App stick={stickAt(opened, '--stick')} onExit={(code) => (exited = code)} />);
    await press(app, ESC);
    await waitForFrame(app, /Inbox/);
    await press(app, 'q');
    expect(await waitForFrame(app, /Quit Caliop\?/)).toContain('will be lost');
    expect(exited).toBeUndefined();
    await press(app, 'n');
    await waitForFrame(app, /^(?![\s\S]*Quit Caliop\?)[\s\S]*Inbox/);
    expect(exited).toBeUndefined();
    app.unmount();
  });
});
