// A mailbox in a column (src/core/mailbox-fit.ts, docs/ui.md §4): whole where it fits,
// the display name cut before the address, the address cut last, in its local part.
import { describe, expect, it } from 'vitest';
import { displayMailbox } from '../src/core/mail-content.js';
import { fitAddress, fitAddressList, fitMailbox, splitMailbox } from '../src/core/mailbox-fit.js';
import { cpuMs } from './helpers/cpu-time.js';

const W = 21;
const columns = (text: string) => [...text].length;

describe('fitMailbox', () => {
  it('shows the whole mailbox where it fits, padded to the column', () => {
    expect(fitMailbox('bob@caliop.example', W)).toBe('bob@caliop.example   ');
    expect(fitMailbox('Bo <bob@caliop.example>', 24)).toBe('Bo <bob@caliop.example> ');
  });

  it('cuts the display name first, keeping the whole address', () => {
    expect(fitMailbox('Roberta Example <bob@caliop.example>', 26)).toBe('Robe… <bob@caliop.example>');
  });

  it('drops the name when fewer than two of its letters would fit: the address stays whole (the demo showed "bob@caliop.examp")', () => {
    expect(fitMailbox('bob <bob@caliop.example>', W)).toBe('bob@caliop.example   ');
    expect(fitMailbox('Gina Outside <gina@elsewhere.test>', W)).toBe('gina@elsewhere.test  ');
  });

  it('cuts an address too long for the column in its local part, keeping the domain', () => {
    expect(fitMailbox('alexandra.montgomery@caliop.example', W)).toBe('alexa…@caliop.example');
    expect(fitMailbox('Alexandra <alexandra.montgomery@caliop.example>', W)).toBe('alexa…@caliop.example');
    // The domain too wide to keep whole: the local part and the domain's end.
    expect(fitAddress('bob@caliop.example', 15)).toBe('bob@…op.example');
    // Neither: the start of the local part, the @ and the domain's end (issue 16: it was "…ng-subdomain.example", no @, nobody's).
    expect(fitAddress('alexandra.montgomery@a-very-long-subdomain.example', W)).toBe('alexan…@…main.example');
    expect(fitAddress('jean-baptiste.poquelin@comedie-francaise.example', W)).toBe('jean-b…@…aise.example');
    // Too narrow even for that: the end of the address.
    expect(fitAddress('alexandra.montgomery@a-very-long-subdomain.example', 8)).toBe('…example');
    for (const width of [1, 2, 5, 10, 15, 20, 30]) expect(columns(fitMailbox('Alexandra <alexandra.montgomery@a-very-long-subdomain.example>', width))).toBe(width);
  });

  it('keeps the real address first for a display name that looks like an address (docs/exposure.md §4.1.1)', () => {
    expect(splitMailbox('mallory@evil.test ("bob@caliop.example")')).toEqual({ name: 'bob@caliop.example', address: 'mallory@evil.test', nameAfter: true });
    expect(fitMailbox('mallory@evil.test ("bob@caliop.example")', W)).toBe('mallory@evil.test    ');
    expect(fitMailbox('mallory@evil.test ("bob@caliop.example")', 28)).toBe('mallory@evil.test ("bob@c…")');
  });

  it('counts code points, not UTF-16 units', () => {
    expect(columns(fitMailbox('Zoé Ünïcødé-Ñame 😀 <zoe@caliop.example>', 30))).toBe(30);
  });
});

describe('fitAddressList', () => {
  it('shows the first recipient whole where it fits and counts the others', () => {
    expect(fitAddressList('to ', ['bob@caliop.example'], W)).toBe('to bob@caliop.example');
    expect(fitAddressList('à ', ['bob@caliop.example'], W)).toBe('à bob@caliop.example ');
    expect(fitAddressList('to ', ['bob@caliop.example', 'carol@caliop.example'], W)).toBe('to bob@…op.example +1');
  });
});

// docs/fuzzing.md: the From field is the sender's; a 1 MiB one (docs/limits.md §2.3) with a run
// of spaces in its name held `caliop inbox` for minutes (regular expressions that backtracked in
// the square of the run). Each size runs in its own task, so the test's bound can fire between them.
describe('attack: a From of up to 1 MiB costs time in its length, not in its square', () => {
  const OLD_ANGLE = /^\s*"?(.*?)"?\s*<([^<>]*)>\s*$/u;
  const OLD_AFTER = /^\s*(\S+@\S+)\s+\("(.*)"\)\s*$/u;
  function oldSplit(mailbox: string) {
    const angle = OLD_ANGLE.exec(mailbox);
    if (angle) return { name: angle[1]!.trim(), address: angle[2]!.trim(), nameAfter: false };
    const after = OLD_AFTER.exec(mailbox);
    if (after) return { name: after[2]!, address: after[1]!, nameAfter: true };
    return { name: '', address: mailbox.trim(), nameAfter: false };
  }

  it('reads every short mailbox as the expressions it replaces did', () => {
    // Every string of up to 4 characters from the alphabet that matters (fixed, exhaustive).
    const alphabet = [' ', '"', '<', '>', '@', 'a', '\n', '(', ')'];
    let checked = 0;
    const walk = (prefix: string) => {
      expect(splitMailbox(prefix), JSON.stringify(prefix)).toEqual(oldSplit(prefix));
      checked += 1;
      if (prefix.length < 4) for (const char of alphabet) walk(prefix + char);
    };
    walk('');
    for (const sample of ['Bob <bob@x.test>', '"Bob " <bob@x.test>', ' "bob@x.test" <mallory@evil.test> ', 'a@b ("Name")', 'a@b  ("Na"me")', 'a@@ ("x")', '@x@ ("y")', 'Bo\nb <b@x>', 'a@b ("x\ny")']) {
      expect(splitMailbox(sample), sample).toEqual(oldSplit(sample));
    }
    expect(checked).toBeGreaterThan(7_000);
  });

  it('1 MiB names of spaces, tabs and @', async () => {
    // A bound on CPU time (test/helpers/cpu-time.ts), not the 30 s of wall time it was: a loaded
    // machine (load 20-32 in issue 16's loop) stretched the wall time 7-15x.
    const ms = await cpuMs(async () => {
      for (let size = 32 * 1024; size <= 1024 * 1024; size *= 2) {
        for (const mailbox of [`a${' '.repeat(size)}b <x@y.test>`, `"a${'\t'.repeat(size)}b" <x@y.test>`, `${'a@'.repeat(size / 2)} x`]) {
          const { name, address } = splitMailbox(mailbox);
          expect(name.length + address.length).toBeGreaterThan(0);
          expect(displayMailbox(mailbox).length).toBeGreaterThan(0);
          expect(fitMailbox(mailbox, 30).length).toBe(30);
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    });
    expect(ms).toBeLessThan(15_000);
  });
});
