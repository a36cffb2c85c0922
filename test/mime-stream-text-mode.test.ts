// Issue 9, docs/message-payload.md §6.4-§6.5: mail signed in text mode by gpg and rnp over line
// ends on which they and openpgp.js disagree (CR CR LF, a CR at the end, a CR inside a line),
// read by both receive paths (whole: decryptData + postal-mime; streamed: receiveStreamed +
// src/core/mime-stream.ts, the PGP/MIME part hashed as it streams). The signatures are the
// vectors of test/vectors/text-mode/ (make.sh); only the encryption to Bob is made here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { readBothPaths } from './helpers/read-both-paths.js';
import { textModeReaderFor } from './helpers/text-mode-reader.js';

const VECTORS = join(import.meta.dirname, 'vectors', 'text-mode');
const vector = (name: string) => readFileSync(join(VECTORS, name));
const peer = textModeReaderFor('mime-stream-text-mode');

const HEAD = ['From: Text Peer <text@example.org>', 'To: bob@caliop.test', 'Date: Tue, 01 Dec 2026 10:00:00 +0000', 'MIME-Version: 1.0'];

/** RFC 3156 §5: the vector's part as mutt sends it, gpg's detached text-mode signature after. */
function pgpMime(part: Buffer, signature: string): Buffer {
  return Buffer.concat([
    Buffer.from([...HEAD, 'Subject: signed', 'Content-Type: multipart/signed; micalg=pgp-sha512; protocol="application/pgp-signature"; boundary="sig"', '', '--sig', ''].join('\r\n')),
    part,
    Buffer.from(['', '--sig', 'Content-Type: application/pgp-signature; name="signature.asc"', '', signature.replace(/\r?\n/g, '\r\n'), '--sig--', ''].join('\r\n')),
  ]);
}

/** A text/plain message whose text is a clear-signed or inline-signed block, as the tool wrote it. */
function plain(block: Buffer): Buffer {
  return Buffer.concat([Buffer.from([...HEAD, 'Subject: clear', 'Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 8bit', '', ''].join('\r\n')), block]);
}

describe('text-mode signatures over CR CR LF and lone CRs, on both receive paths', { timeout: 180_000 }, () => {
  it("PGP/MIME signed by gpg --textmode over a part whose lines end in CR CR LF: good on both paths (GnuPG's form recorded at arrival); a letter changed: bad", async () => {
    const part = vector('pgpmime-part.eml');
    const signature = vector('pgpmime-part.gpg.sig').toString();
    const { whole, streamed, arrival } = await readBothPaths(peer.reader, await peer.sealed(pgpMime(part, signature)), [peer.contact], [peer.cert], [peer.cert]);
    expect(whole.signature).toBe('good');
    expect(whole.body).toContain('second line');
    expect(streamed).toEqual(whole);
    const recorded = arrival.openedAtArrival as { pgpMimeSigned?: { gnupgDigests?: string[] } };
    expect(recorded.pgpMimeSigned?.gnupgDigests?.[0]).toMatch(/^[0-9a-f]{40,128}$/);
    const changed = Buffer.from(part.toString('latin1').replace('second', 'sekond'), 'latin1');
    const modified = await readBothPaths(peer.reader, await peer.sealed(pgpMime(changed, signature)), [peer.contact], [peer.cert], [peer.cert]);
    expect(modified.whole.signature).toBe('bad');
    expect(modified.streamed).toEqual(modified.whole);
  });

  it('PGP/MIME over a part where the forms agree: nothing recorded beside the digests', async () => {
    const part = Buffer.from('Content-Type: text/plain\r\n\r\nplain\r\nlines\r\n');
    const other = await readBothPaths(peer.reader, await peer.sealed(pgpMime(part, vector('pgpmime-part.gpg.sig').toString())), [peer.contact], [peer.cert], [peer.cert]);
    expect(other.whole.signature).toBe('bad');
    expect(other.streamed).toEqual(other.whole);
    expect((other.arrival.openedAtArrival as { pgpMimeSigned?: { gnupgDigests?: string[] } }).pgpMimeSigned?.gnupgDigests).toBeUndefined();
  });

  for (const name of ['crcrlf', 'lonecr', 'mixed']) {
    it(`${name}: clear-signed by gpg and by rnp, inline-signed by gpg, in a mail's text: good on both paths, the text shown`, async () => {
      for (const file of [`${name}.gpg-clear.asc`, `${name}.rnp-clear.asc`, `${name}.gpg-inline.asc`]) {
        const { whole, streamed } = await readBothPaths(peer.reader, await peer.sealed(plain(vector(file))), [peer.contact], [peer.cert], [peer.cert]);
        expect(whole.signature, file).toBe('good');
        expect(whole.body, file).not.toContain('BEGIN PGP');
        expect(streamed, file).toEqual(whole);
      }
      // The clear-signed text changed by one letter: bad on both paths.
      const block = vector(`${name}.gpg-clear.asc`).toString('latin1').replace(/\n\n([a-z])/, (_all, first: string) => `\n\n${first === 'x' ? 'y' : 'x'}`);
      const modified = await readBothPaths(peer.reader, await peer.sealed(plain(Buffer.from(block, 'latin1'))), [peer.contact], [peer.cert], [peer.cert]);
      expect(modified.whole.signature).toBe('bad');
      expect(modified.streamed).toEqual(modified.whole);
    });
  }
});
