// docs/gateway.md §4.3.1 (issue 9/13): the fast path of SMTP DATA's transparency gives the
// bytes nodemailer's DataStream gives, piece by piece, and it is the one SMTPConnection runs.
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverToSmarthost } from '../../src/relay/gateway/smarthost.js';
import { dataReadyPiece, fastDataPieces, fastDataTransform, originalDataTransform } from '../../src/relay/gateway/smtp-dot-stuffing.js';
import { startSink, type Sink } from '../helpers/smtp.js';
import { prng } from '../../scripts/fuzz/prng.js';

type Transform = typeof originalDataTransform;

/** Runs a DataStream transform over the pieces as SMTPConnection would (then DataStream's flush, the same for both). */
function encode(transform: Transform, pieces: readonly Buffer[]): { bytes: Buffer; inBytes: number; outBytes: number } {
  const out: Buffer[] = [];
  const state = { inByteCount: 0, outByteCount: 0, lastByte: false as number | false, push: (piece: Buffer) => out.push(Buffer.from(piece)) };
  for (const piece of pieces) {
    let called = false;
    transform.call(state as never, piece, 'latin1', () => (called = true));
    if (!called) throw new Error('the transform did not call back');
  }
  const tail = state.lastByte === 0x0a ? '.\r\n' : state.lastByte === 0x0d ? '\n.\r\n' : '\r\n.\r\n';
  return { bytes: Buffer.concat([...out, Buffer.from(tail)]), inBytes: state.inByteCount, outBytes: state.outByteCount };
}

describe('SMTP DATA transparency, fast path (docs/gateway.md §4.3.1)', () => {
  it('judges the pieces that need nothing done', () => {
    expect(dataReadyPiece(Buffer.from('abc\r\ndef\r\n'), -1)).toBe(true);
    expect(dataReadyPiece(Buffer.from('\nabc'), 0x0d)).toBe(true);
    expect(dataReadyPiece(Buffer.from('abc\r'), -1)).toBe(true); // the CR's follower is judged with the next piece
    expect(dataReadyPiece(Buffer.from('.abc'), -1)).toBe(false);
    expect(dataReadyPiece(Buffer.from('.abc'), 0x0a)).toBe(false);
    expect(dataReadyPiece(Buffer.from('x\r\n.y'), -1)).toBe(false);
    expect(dataReadyPiece(Buffer.from('x\ny'), -1)).toBe(false);
    expect(dataReadyPiece(Buffer.from('\ny'), 0x61)).toBe(false);
    expect(dataReadyPiece(Buffer.from('x\ry'), -1)).toBe(false);
    expect(dataReadyPiece(Buffer.from('y'), 0x0d)).toBe(false);
    expect(dataReadyPiece(Buffer.from('\n.'), 0x0d)).toBe(false);
  });

  it('gives the bytes and counts DataStream gives, for 3000 random messages cut at random (seeded)', () => {
    // A fixed seed (another with CALIOP_TEST_SEED=n), as in text-signature-forms.
    const seed = Number(process.env.CALIOP_TEST_SEED ?? 20_261_201);
    const random = prng(seed);
    const atoms = ['\r\n', '\r\n', '\r\n.', '\r', '\n', '.', 'a', 'abc', '..', '\r\n\r\n', 'xyz\r\n'];
    for (let round = 0; round < 3000; round++) {
      let text = '';
      const atomCount = Math.floor(random() * 40);
      for (let i = 0; i < atomCount; i++) text += atoms[Math.floor(random() * atoms.length)];
      const bytes = Buffer.from(text, 'latin1');
      const pieces: Buffer[] = [];
      for (let start = 0; start < bytes.length; ) {
        const end = Math.min(bytes.length, start + 1 + Math.floor(random() * 12));
        pieces.push(bytes.subarray(start, end));
        start = end;
      }
      const expected = encode(originalDataTransform, pieces);
      const got = encode(fastDataTransform, pieces);
      if (!got.bytes.equals(expected.bytes) || got.inBytes !== expected.inBytes || got.outBytes !== expected.outBytes) {
        throw new Error(`seed ${seed}, round ${round}: ${JSON.stringify(pieces.map((piece) => piece.toString('latin1')))} gave ${JSON.stringify(got.bytes.toString('latin1'))}, DataStream ${JSON.stringify(expected.bytes.toString('latin1'))}`);
      }
    }
  });

  describe('through SMTPConnection to a real SMTP server', () => {
    let sink: Sink;
    beforeAll(async () => {
      sink = await startSink(null);
    });
    afterAll(async () => {
      await sink.close();
    });

    it('a 4 MiB message in SMTP form goes by the fast path, and arrives as it was; one with dots and bare line ends arrives as it was too', async () => {
      const line = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3\r\n';
      const clean = Buffer.from(`From: a@example.test\r\nTo: b@example.test\r\nSubject: big\r\n\r\n${line.repeat(Math.ceil((4 << 20) / line.length))}`, 'latin1');
      const config = { host: '127.0.0.1', port: sink.port, tlsMode: 'none' as const, ca: null, clientName: 'relay.test', timeoutMs: 60_000 };
      const pieces = (bytes: Buffer, size: number) => ({ size: bytes.length, open: () => Readable.from((function* () { for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size); })()) });
      const before = fastDataPieces.count;
      await deliverToSmarthost(config, { from: 'a@example.test', to: ['b@example.test'] }, pieces(clean, 64 * 1024));
      expect(fastDataPieces.count - before).toBeGreaterThanOrEqual(60);
      expect(sink.received.at(-1)?.raw).toBe(clean.toString('latin1'));
      const dotted = Buffer.from('From: a@example.test\r\nTo: b@example.test\r\n\r\n.one\r\n..two\r\nthree\n.four\r\n.\r\nend\r\n', 'latin1');
      await deliverToSmarthost(config, { from: 'a@example.test', to: ['b@example.test'] }, pieces(dotted, 5));
      // bare LF becomes CRLF on the wire (RFC 5321 §2.3.8), dots come back undoubled
      expect(sink.received.at(-1)?.raw).toBe(dotted.toString('latin1').replace('three\n', 'three\r\n'));
    });
  });
});
