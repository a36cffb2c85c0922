// docs/decisions/mime.md, "A part's lines, gathered": an unencoded part's lines are gathered in
// pieces (src/core/postal-mime-lines.ts) instead of postal-mime's two Blob parts per line. The
// bytes must be postal-mime's own; the cost must not be ~15 µs a line.
import { describe, expect, it } from 'vitest';
import { GatheredLines, LINES_GATHERED, postalMimePassThrough } from '../src/core/postal-mime-lines.js';
import { readMailContent } from '../src/core/mail-content.js';
import { prng } from '../scripts/fuzz/prng.js';
import { cpuMs } from './helpers/cpu-time.js';

describe('an unencoded part gathered in pieces gives postal-mime\'s bytes', () => {
  it('the replacement is in place once mail-content is loaded', () => {
    expect(LINES_GATHERED).toBe(true);
  });

  it('40 seeded sets of lines (empty, short, long, crossing the 1 MiB piece) give the same bytes as postal-mime\'s PassThroughDecoder', async () => {
    for (let seed = 1; seed <= 40; seed += 1) {
      const random = prng(seed);
      const ours = new GatheredLines();
      const theirs = postalMimePassThrough();
      const count = Math.floor(random() * 400);
      for (let index = 0; index < count; index += 1) {
        const kind = random();
        const length = kind < 0.3 ? 0 : kind < 0.9 ? Math.floor(random() * 100) : Math.floor(random() * 64 * 1024);
        const line = new Uint8Array(length);
        line.fill(Math.floor(random() * 256));
        for (let at = 0; at < Math.min(length, 64); at += 1) line[Math.floor(random() * length)] = Math.floor(random() * 256);
        ours.update(line);
        theirs.update(line);
      }
      const [a, b] = await Promise.all([ours.finalize(), theirs.finalize()]);
      expect(Buffer.from(a).equals(Buffer.from(b)), `seed ${seed}, ${count} lines`).toBe(true);
    }
  });
});

describe('attack: a text of empty lines costs time in its size, not 15 µs a line', () => {
  // 4 MiB of CRLF: 2 Mi lines. postal-mime's own decoder took ~17 µs a line (36 s for these);
  // gathered, ~1.5 µs (about 3 s on a quiet machine). The bound fails the first, not the second.
  // It is CPU time (test/helpers/cpu-time.ts): the 30 s of wall time it was could pass at load 20+.
  it('4 MiB of empty lines in a 7bit text part are read within the bound', async () => {
    const lines = 2 * 1024 * 1024;
    const raw = `From: a@x.test\r\nSubject: s\r\nContent-Type: text/plain\r\n\r\na${'\r\n'.repeat(lines)}b\r\n`;
    let body = '';
    const ms = await cpuMs(async () => (body = (await readMailContent(new TextEncoder().encode(raw))).body));
    // As postal-mime gives it: the part's last line end kept (docs/message-payload.md §5.1).
    expect(body === `a${'\n'.repeat(lines)}b\n`, `${body.length} characters`).toBe(true);
    expect(ms).toBeLessThan(15_000);
  });
});
