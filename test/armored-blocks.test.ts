// Certificate files with several armored blocks (src/service/pgp.ts armoredBlocks, read by
// `contacts import`, sop and the published-cert checks): the blocks the old expression found,
// in time linear in the text whatever a hostile file holds (docs/fuzzing.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCaliopError } from '../src/errors.js';
import { armoredBlocks, readCerts } from '../src/service/pgp.js';
import { cpuMs } from './helpers/cpu-time.js';

/** The expression armoredBlocks replaced: the reference for what a block is. */
function byExpression(text: string): string[] {
  const blocks = text.match(/-----BEGIN PGP [A-Z ]+-----[\s\S]*?-----END PGP [A-Z ]+-----/g);
  return blocks && blocks.length > 0 ? blocks : [text];
}

describe('armored blocks of a certificate file', () => {
  it('the same blocks as the expression, on texts made of armor lines, labels and noise', () => {
    const piece = fc.constantFrom('-----BEGIN PGP ', '-----END PGP ', 'PUBLIC KEY BLOCK', 'A', ' ', '-----', '----', '\n', 'x', 'mQINBF');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const text = pieces.join('');
        expect(armoredBlocks(text)).toEqual(byExpression(text));
      }),
      { numRuns: 5000, seed: 16 },
    );
  });

  it('two blocks one after the other, with text around them', () => {
    const block = (label: string) => `-----BEGIN PGP ${label}-----\n\nmQ==\n-----END PGP ${label}-----`;
    const text = `intro\n${block('PUBLIC KEY BLOCK')}\nbetween\n${block('PUBLIC KEY BLOCK')}\n`;
    expect(armoredBlocks(text)).toEqual([block('PUBLIC KEY BLOCK'), block('PUBLIC KEY BLOCK')]);
  });

  it('attack: a certificate file of 20,000 begin lines and no end line is refused at a cost in its length, not its square', async () => {
    // 740 KB; the expression cost 5.6 s of CPU (1.25 s for 10,000 lines), growing with the square.
    const text = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n'.repeat(20_000);
    let refused: unknown;
    const used = await cpuMs(async () => {
      await readCerts(new TextEncoder().encode(text)).catch((error: unknown) => (refused = error));
    });
    expect(isCaliopError(refused) && refused.code).toBe('bad_input');
    expect(used).toBeLessThan(1500);
  });
});
