// The inbox with 200 messages in a real store (docs/ui.md §4, issue 16): it scrolls by
// line, page and to either end, comes back where it was after reading, shows whole addresses
// where they fit and cuts display names before addresses; every frame fits 80×24, in
// English and in French.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stickAt } from '../../src/edges/stick-locator.js';
import { StickSession } from '../../src/service/stick-session.js';
import { App } from '../../src/ui/App.js';
import { initStick, PASSPHRASE, temporaryFolder } from '../helpers/caliop.js';
import { ENTER, ESC, press, type, waitForFrame, type Rendered } from './frames.js';

const COUNT = 200;
const scratch = temporaryFolder('ui-inbox-scroll');
let stick: string;

/** Who wrote message n: plain addresses, names that fit, names that do not, a too-long address, a name that looks like an address. */
function senderOf(n: number): string {
  switch (n % 5) {
    case 0: return 'bob@caliop.example';
    case 1: return 'bob <bob@caliop.example>';
    case 2: return 'Caroline Example-Longname <carol@caliop.example>';
    case 3: return 'alexandra.montgomery@caliop.example';
    default: return '"bob@caliop.example" <mallory@evil.test>';
  }
}

const subjectOf = (n: number) => `Message ${String(n).padStart(3, '0')}`;

beforeAll(async () => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1';
  stick = join(scratch.path, 'ana');
  mkdirSync(stick);
  const ana = await initStick(stick, 'ana', 'ana@caliop.example');
  // 200 stored messages, as sync stores them (one put, one journal record): one real
  // ciphertext to ana, each with its own sender, subject and date in the store.
  const armoredMessage = await openpgp.encrypt({
    message: await openpgp.createMessage({ text: 'Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n' }),
    encryptionKeys: await openpgp.readKey({ armoredKey: ana.cert }),
  });
  const session = await StickSession.unlock(stickAt(stick, '--stick'), PASSPHRASE);
  const today = new Date().toISOString().slice(0, 10);
  await session.store.put(
    Array.from({ length: COUNT }, (_, index) => {
      const n = index + 1;
      // Message 200 is today's (its time is shown); the others are older (their day is shown).
      const date = n === COUNT ? `${today}T08:30:00.000Z` : new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString();
      return { message: { id: '', direction: 'in' as const, from: senderOf(n), to: ['ana@caliop.example'], subject: subjectOf(n), date, storedAt: date, unread: n % 2 === 0, armoredMessage } };
    }),
  );
}, 300_000);

afterAll(() => scratch.remove());

function checkFits(frame: string): void {
  const lines = frame.split('\n');
  expect(lines.length, frame).toBeLessThanOrEqual(24);
  for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(80);
}

/** The subjects on screen, top to bottom, and the selected one. */
function rows(frame: string): { subjects: string[]; selected: string | undefined } {
  const lines = frame.split('\n').filter((line) => /Message \d{3}/.test(line));
  return {
    subjects: lines.map((line) => /Message \d{3}/.exec(line)![0]),
    selected: lines.find((line) => line.startsWith('›')) ? /Message \d{3}/.exec(lines.find((line) => line.startsWith('›'))!)![0] : undefined,
  };
}

async function openInbox(language: 'en' | 'fr'): Promise<Rendered> {
  const app = render(<App stick={stickAt(stick, '--stick')} language={language} onExit={() => undefined} />);
  await waitForFrame(app, /Open your stick|Ouvrir/);
  await type(app, PASSPHRASE);
  await waitForFrame(app, /Message 200/);
  return app;
}

const END = '\x1b[F';
const HOME = '\x1b[H';
const PAGE_DOWN = '\x1b[6~';
const PAGE_UP = '\x1b[5~';
const UP = '\x1b[A';
const DOWN = '\x1b[B';

describe('inbox with 200 messages', { timeout: 300_000 }, () => {
  for (const language of ['en', 'fr'] as const) {
    it(`${language}: scrolls by line, page and to the ends; whole addresses, names cut first; 80×24`, async () => {
      const app = await openInbox(language);
      const of = language === 'en' ? (a: number, b: number) => `messages ${a}–${b} of ${COUNT}` : (a: number, b: number) => `messages ${a} à ${b} sur ${COUNT}`;
      let frame = app.lastFrame()!;
      checkFits(frame);
      expect(rows(frame)).toEqual({ subjects: Array.from({ length: 14 }, (_, i) => subjectOf(COUNT - i)), selected: subjectOf(COUNT) });
      expect(frame).toContain(of(1, 14));
      // Today's message shows its time, older ones their day.
      expect(frame.split('\n').find((line) => line.includes('Message 200'))).toMatch(/^›\* 08:30 /);
      expect(frame.split('\n').find((line) => line.includes('Message 199'))).toMatch(/^   01-01 /);

      // The senders: whole addresses where they fit, the name dropped before the address is cut.
      const line = (n: number) => frame.split('\n').find((row) => row.includes(subjectOf(n)))!;
      expect(line(200)).toContain(' bob@caliop.example ');                   // a bare address
      expect(line(196)).toContain(' bob@caliop.example ');                   // "bob <bob@…>": the name goes first
      expect(line(197)).toContain(' carol@caliop.example ');               // a long name: the whole address
      expect(line(198)).toContain(' alexa…@caliop.example ');                // too long: the local part is cut, the domain kept
      expect(line(199)).toContain(' mallory@evil.test ');                    // the real address first (docs/exposure.md §4.1.1)
      expect(frame).not.toContain('bob@caliop.examp…');
      // The level's list name is whole: no cut words.
      expect(frame).not.toMatch(/\S…\s*$/m);

      // Down past the last row: the list moves one line.
      await press(app, DOWN.repeat(14));
      frame = await waitForFrame(app, new RegExp(of(2, 15)));
      checkFits(frame);
      expect(rows(frame).selected).toBe(subjectOf(COUNT - 14));
      expect(rows(frame).subjects[0]).toBe(subjectOf(COUNT - 1));

      // Page down, to the end, page up, up past the top row, home.
      await press(app, PAGE_DOWN);
      frame = await waitForFrame(app, new RegExp(of(16, 29)));
      expect(rows(frame).selected).toBe(subjectOf(COUNT - 28));
      await press(app, END);
      frame = await waitForFrame(app, new RegExp(of(187, 200)));
      checkFits(frame);
      expect(rows(frame)).toEqual({ subjects: Array.from({ length: 14 }, (_, i) => subjectOf(14 - i)), selected: subjectOf(1) });
      await press(app, PAGE_UP);
      frame = await waitForFrame(app, new RegExp(`› .*${subjectOf(15)}`));
      expect(frame).toContain(of(186, 199));
      await press(app, UP.repeat(14)); // a burst: each key moves one line, none is lost
      frame = await waitForFrame(app, new RegExp(of(172, 185)));
      expect(rows(frame).selected).toBe(subjectOf(29));
      expect(rows(frame).subjects[0]).toBe(subjectOf(29));

      // Enter reads the selected message; Esc comes back to the inbox where it was.
      await press(app, ENTER);
      await waitForFrame(app, new RegExp(`^${subjectOf(29)}`, 'm'));
      await press(app, ESC);
      frame = await waitForFrame(app, new RegExp(`^›.*${subjectOf(29)}`, 'm'));
      expect(frame).toContain(of(172, 185));
      await press(app, END + HOME);
      frame = await waitForFrame(app, new RegExp(`^›.*${subjectOf(COUNT)}`, 'm'));
      expect(frame).toContain(of(1, 14));
      checkFits(frame);
      app.unmount();
    });
  }
});
