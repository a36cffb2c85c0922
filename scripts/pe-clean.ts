// A clean, unsigned Windows executable after SEA injection (docs/decisions/executables.md
// §Signing). Node's node.exe is Authenticode-signed; `node --build-sea` adds the NODE_SEA
// blob as a new section and rewrites the file, but keeps the optional header's
// certificate-table entry (data directory 4) and its CheckSum. The entry then points
// into the injected section and the checksum is stale: `osslsigncode verify` reports
// "PE signature not at the end of the file", and signing tools refuse or misplace the
// signature. We drop the entry (and the old signature bytes when they are still the
// file's tail) and write the right checksum.
//
// PE format: Microsoft "PE Format" (learn.microsoft.com/windows/win32/debug/pe-format):
// §MS-DOS stub (e_lfanew at 0x3C), §COFF File Header (20 bytes after "PE\0\0"),
// §Optional Header (magic 0x10B PE32 / 0x20B PE32+; CheckSum at offset 64; data
// directories at 96 / 112; index 4 is the Certificate Table, whose "address" is a
// file offset, not an RVA).

import { readFileSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';

export interface PeLayout {
  /** File offset of the optional header's CheckSum field. */
  readonly checksumOffset: number;
  /** File offset of data directory 4 (Certificate Table): 4 bytes offset, 4 bytes size. */
  readonly certificateEntryOffset: number;
  readonly certificateTable: { readonly offset: number; readonly size: number };
  readonly checksum: number;
}

function fail(detail: string): never {
  throw new Error(`pe-clean: not a PE file this tool understands: ${detail}`);
}

/** Reads the fields we change (PE Format §MS-DOS stub, §COFF File Header, §Optional Header). */
export function readPeLayout(bytes: Uint8Array): PeLayout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 0x40 || view.getUint16(0, true) !== 0x5a4d) fail('no "MZ" header');
  const peOffset = view.getUint32(0x3c, true);
  if (peOffset + 24 > bytes.length || view.getUint32(peOffset, true) !== 0x00004550) fail('no "PE\\0\\0" signature');
  const optionalHeaderSize = view.getUint16(peOffset + 20, true);
  const optional = peOffset + 24;
  if (optional + optionalHeaderSize > bytes.length) fail('optional header past the end of the file');
  const magic = view.getUint16(optional, true);
  const directories = magic === 0x20b ? optional + 112 : magic === 0x10b ? optional + 96 : fail(`optional header magic 0x${magic.toString(16)}`);
  const directoryCount = view.getUint32(directories - 4, true);
  if (directoryCount < 5 || directories + 5 * 8 > optional + optionalHeaderSize) fail('no certificate table entry');
  const certificateEntryOffset = directories + 4 * 8;
  return {
    checksumOffset: optional + 64,
    certificateEntryOffset,
    certificateTable: { offset: view.getUint32(certificateEntryOffset, true), size: view.getUint32(certificateEntryOffset + 4, true) },
    checksum: view.getUint32(optional + 64, true),
  };
}

/**
 * The PE image checksum (the algorithm of imagehlp's CheckSumMappedFile): the
 * 16-bit one's-complement-style sum of the file's little-endian words, the
 * CheckSum field counted as zero, carries folded in, plus the file length.
 */
export function peChecksum(bytes: Uint8Array, checksumOffset: number): number {
  const length = bytes.length;
  // The plain sum of all words fits a double exactly (2^31 words * 0xffff < 2^53), and folding
  // it at the end gives what folding after every addition gives: both are the one's-complement
  // sum (congruent modulo 0xffff, in 1..0xffff unless every word is 0).
  let total = 0;
  const whole = length - (length % 2);
  if (bytes.byteOffset % 2 === 0 && endianness() === 'LE') {
    const words = new Uint16Array(bytes.buffer, bytes.byteOffset, whole / 2);
    for (let i = 0; i < words.length; i++) total += words[i]!;
  } else {
    for (let i = 0; i < whole; i += 2) total += bytes[i]! | (bytes[i + 1]! << 8);
  }
  if (whole < length) total += bytes[length - 1]!; // an odd last byte, padded with a zero byte
  // The CheckSum field counts as zero.
  total -= bytes[checksumOffset]! | (bytes[checksumOffset + 1]! << 8);
  total -= bytes[checksumOffset + 2]! | (bytes[checksumOffset + 3]! << 8);
  while (total > 0xffff) total = (total % 0x10000) + Math.floor(total / 0x10000);
  return (total + length) >>> 0;
}

export interface PeCleaning {
  /** The certificate-table entry found (0, 0 when none). */
  readonly removedEntry: { readonly offset: number; readonly size: number };
  /** Bytes cut from the end of the file (an old signature that was still its tail). */
  readonly truncatedBytes: number;
  readonly oldChecksum: number;
  readonly newChecksum: number;
}

/** The executable's bytes without a certificate-table entry and with the right checksum. */
export function cleanPe(input: Uint8Array): { bytes: Uint8Array; cleaning: PeCleaning } {
  const layout = readPeLayout(input);
  const { offset, size } = layout.certificateTable;
  // An old signature still at the very end of the file goes with its entry; anywhere
  // else the entry points into other data (the injected section) and only the entry goes.
  const atTail = size > 0 && offset > 0 && offset + size === input.length;
  const bytes = new Uint8Array(atTail ? input.subarray(0, offset) : input);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(layout.certificateEntryOffset, 0, true);
  view.setUint32(layout.certificateEntryOffset + 4, 0, true);
  const newChecksum = peChecksum(bytes, layout.checksumOffset);
  view.setUint32(layout.checksumOffset, newChecksum, true);
  return { bytes, cleaning: { removedEntry: { offset, size }, truncatedBytes: atTail ? size : 0, oldChecksum: layout.checksum, newChecksum } };
}

/** Cleans the executable at `path` in place. */
export function cleanPeFile(path: string): PeCleaning {
  const { bytes, cleaning } = cleanPe(readFileSync(path));
  writeFileSync(path, bytes);
  return cleaning;
}
