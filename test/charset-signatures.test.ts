// Issue 9, docs/message-payload.md §6.6: text signed in a charset other than UTF-8 (Latin-1,
// windows-1252, Shift_JIS, ISO-2022-JP), clear-signed by gpg, rnp and sq, inline-signed by
// gpg (binary and text mode), in a text/plain part that declares that charset: the signature
// is over the part's octets (RFC 4880 §7, RFC 9580 §7), never over their UTF-8 re-encoding;
// the text shown is decoded with the declared charset. Both receive paths (whole: decryptData
// + postal-mime; streamed: receiveStreamed + src/core/mime-stream.ts), `caliop verify` and
// `sop inline-verify` (verifyData), `sop inline-detach`. The vectors are test/vectors/charset/
// (make.sh: real gpg, rnp, sq; make-mail.py: the mail as Python's email package writes it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyData } from '../src/service/pgp.js';
import { inlineDetach } from '../src/service/sop.js';
import { readBothPaths } from './helpers/read-both-paths.js';
import { textModeReaderFor } from './helpers/text-mode-reader.js';

const VECTORS = join(import.meta.dirname, 'vectors', 'charset');
const vector = (name: string) => readFileSync(join(VECTORS, name));
const peer = textModeReaderFor('charset-signatures');

/** Each vector's charset as a mail declares it, and its text as it must be shown. */
const TEXTS = {
  latin1: { charset: 'iso-8859-1', text: 'Grüße aus Köln: café, Straße, naïve.\nZweite Zeile é ß' },
  cp1252: { charset: 'windows-1252', text: 'Prix : 20 € – « déjà vu »\nFin.' },
  sjis: { charset: 'shift_jis', text: '日本語のテキスト、署名付き。\n二行目です。' },
  iso2022jp: { charset: 'iso-2022-jp', text: '日本語のテキスト、署名付き。\n二行目です。' },
} as const;
const NAMES = Object.keys(TEXTS) as (keyof typeof TEXTS)[];
const SIGNERS = ['gpg-clear', 'rnp-clear', 'sq-clear', 'gpg-inline', 'gpg-inline-text'] as const;

/** A text/plain message of `charset`, 8bit, whose text is the signed block as the tool wrote it. */
function plain(block: Buffer, charset: string): Buffer {
  const head = ['From: Text Peer <text@example.org>', 'To: bob@caliop.test', 'Date: Tue, 01 Dec 2026 10:00:00 +0000', 'MIME-Version: 1.0', 'Subject: charset', `Content-Type: text/plain; charset=${charset}`, 'Content-Transfer-Encoding: 8bit', '', ''];
  return Buffer.concat([Buffer.from(head.join('\r\n')), block]);
}

/** The first byte of the signed text (after the armor's empty line) changed. */
function tampered(block: Buffer): Buffer {
  const copy = Buffer.from(block);
  const isClear = block.subarray(0, 40).toString('latin1').includes('SIGNED MESSAGE');
  if (isClear) {
    const at = copy.indexOf('\n\n') + 2;
    copy[at] = copy[at]! ^ 0x01;
    return copy;
  }
  return copy; // inline-signed: changed by the caller in the packet data
}

describe('signed text in the charset of its part, on both receive paths', { timeout: 300_000 }, () => {
  for (const name of NAMES) {
    it(`${name} (${TEXTS[name].charset}, 8bit): clear-signed by gpg, rnp and sq, inline-signed by gpg: good on both paths, the text shown decoded`, async () => {
      for (const signer of SIGNERS) {
        const file = `${name}.${signer}.asc`;
        const { whole, streamed } = await readBothPaths(peer.reader, await peer.sealed(plain(vector(file), TEXTS[name].charset)), [peer.contact], [peer.cert], [peer.cert]);
        expect(whole.signature, file).toBe('good');
        expect(whole.body, file).toContain(TEXTS[name].text);
        expect(whole.body, file).not.toContain('BEGIN PGP');
        expect(streamed, file).toEqual(whole);
      }
    });

    it(`${name}: a byte of the clear-signed text changed: bad on both paths`, async () => {
      const { whole, streamed } = await readBothPaths(peer.reader, await peer.sealed(plain(tampered(vector(`${name}.gpg-clear.asc`)), TEXTS[name].charset)), [peer.contact], [peer.cert], [peer.cert]);
      expect(whole.signature).toBe('bad');
      expect(streamed).toEqual(whole);
    });

    it(`${name}: the mail as Python's email package writes it (quoted-printable, base64 or 7bit): good on both paths`, async () => {
      for (const kind of ['gpg-clear', 'gpg-inline-text']) {
        const file = `${name}.${kind}.eml`;
        const { whole, streamed } = await readBothPaths(peer.reader, await peer.sealed(vector(file)), [peer.contact], [peer.cert], [peer.cert]);
        expect(whole.signature, file).toBe('good');
        expect(whole.subject, file).toBe(`${name} ${kind}`);
        expect(whole.body, file).toContain(TEXTS[name].text);
        expect(streamed, file).toEqual(whole);
      }
    });
  }

  it('é (0xE9) turned into ê (0xEA) in the Latin-1 text: bad; the same block read as UTF-8 would not even show é', async () => {
    const block = vector('latin1.gpg-clear.asc');
    const changed = Buffer.from(block.toString('latin1').replace('café', 'cafê'), 'latin1');
    const { whole, streamed } = await readBothPaths(peer.reader, await peer.sealed(plain(changed, 'iso-8859-1')), [peer.contact], [peer.cert], [peer.cert]);
    expect(whole.signature).toBe('bad');
    expect(whole.body).toContain('cafê');
    expect(streamed).toEqual(whole);
  });
});

describe('caliop verify, sop inline-verify and inline-detach over the raw bytes', { timeout: 120_000 }, () => {
  for (const name of NAMES) {
    it(`${name}: every signer good, the signed bytes given back as they were signed; a changed byte bad`, async () => {
      const original = vector(`${name}.txt`);
      for (const signer of SIGNERS) {
        const result = await verifyData(vector(`${name}.${signer}.asc`), [peer.cert]);
        expect(result.signatures.map((check) => check.status), signer).toEqual(['good']);
        // Clear-signed text comes back without the line end before the signature (RFC 9580 §7).
        expect(Buffer.from(result.data).toString('latin1').replace(/\r\n/g, '\n').replace(/\n?$/, '\n'), signer).toBe(original.toString('latin1'));
      }
      const bad = await verifyData(tampered(vector(`${name}.gpg-clear.asc`)), [peer.cert]);
      expect(bad.signatures.map((check) => check.status)).toEqual(['bad']);
      const detached = await inlineDetach(vector(`${name}.gpg-clear.asc`), true);
      expect(Buffer.from(detached.data).toString('latin1').replace(/\n?$/, '\n')).toBe(original.toString('latin1'));
      const again = await verifyData(detached.data, [peer.cert], detached.signatures);
      expect(again.signatures.map((check) => check.status)).toEqual(['good']);
    });
  }
});
