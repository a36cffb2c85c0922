// scripts/pe-clean.ts on made-up PE headers (PE Format: MS-DOS stub, COFF header,
// optional header, data directory 4). The real node.exe case is in test/exe.test.ts.
import { describe, expect, it } from 'vitest';
import { cleanPe, peChecksum, readPeLayout } from '../scripts/pe-clean.js';

/** A minimal PE32+ file: MZ, e_lfanew 0x80, "PE\0\0", COFF header, optional header with 16 directories, then `body`. */
function fakePe(body: Uint8Array, certificate?: { offset: number; size: number }, checksum = 0x1234): Uint8Array {
  const header = 0x80 + 24 + 240;
  const bytes = new Uint8Array(header + body.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0x5a4d, true);
  view.setUint32(0x3c, 0x80, true);
  view.setUint32(0x80, 0x00004550, true);
  view.setUint16(0x80 + 20, 240, true); // SizeOfOptionalHeader
  const optional = 0x80 + 24;
  view.setUint16(optional, 0x20b, true);
  view.setUint32(optional + 64, checksum, true);
  view.setUint32(optional + 108, 16, true); // NumberOfRvaAndSizes
  if (certificate !== undefined) {
    view.setUint32(optional + 112 + 32, certificate.offset, true);
    view.setUint32(optional + 112 + 36, certificate.size, true);
  }
  bytes.set(body, header);
  return bytes;
}

describe('pe-clean', () => {
  it('drops a certificate-table entry that points into the file, keeps every byte, and writes the checksum', () => {
    const body = new Uint8Array(1001).map((_, i) => (i * 37) & 0xff);
    const input = fakePe(body, { offset: 400, size: 64 });
    const { bytes, cleaning } = cleanPe(input);
    expect(bytes.length).toBe(input.length);
    expect(cleaning).toMatchObject({ removedEntry: { offset: 400, size: 64 }, truncatedBytes: 0, oldChecksum: 0x1234 });
    const layout = readPeLayout(bytes);
    expect(layout.certificateTable).toEqual({ offset: 0, size: 0 });
    expect(layout.checksum).toBe(cleaning.newChecksum);
    expect(peChecksum(bytes, layout.checksumOffset)).toBe(layout.checksum);
  });

  it('cuts an old signature that is still the end of the file', () => {
    const body = new Uint8Array(512).fill(7);
    const input = fakePe(body, { offset: 0x80 + 24 + 240 + 256, size: 256 });
    const { bytes, cleaning } = cleanPe(input);
    expect(cleaning.truncatedBytes).toBe(256);
    expect(bytes.length).toBe(input.length - 256);
  });

  it('the checksum ignores the CheckSum field itself and adds the length (odd length padded with a zero byte)', () => {
    const a = fakePe(new Uint8Array([1, 2, 3]), undefined, 0);
    const b = fakePe(new Uint8Array([1, 2, 3]), undefined, 0xdeadbeef);
    const layout = readPeLayout(a);
    expect(peChecksum(a, layout.checksumOffset)).toBe(peChecksum(b, layout.checksumOffset));
    // By hand: the words are 0x5a4d, 0x80 at 0x3c, 0x4550, 240, 0x20b, 16, 0x0201, 0x0003.
    const words = 0x5a4d + 0x80 + 0x4550 + 240 + 0x20b + 16 + 0x0201 + 0x0003;
    expect(peChecksum(a, layout.checksumOffset)).toBe(((words & 0xffff) + (words >>> 16)) + a.length);
  });

  it('refuses what is not a PE file', () => {
    expect(() => readPeLayout(new Uint8Array(100))).toThrow(/no "MZ" header/);
    const noPe = fakePe(new Uint8Array(8));
    new DataView(noPe.buffer).setUint32(0x80, 0, true);
    expect(() => readPeLayout(noPe)).toThrow(/no "PE\\0\\0" signature/);
  });
});
