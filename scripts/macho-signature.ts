// Reads a thin 64-bit Mach-O executable and checks its embedded code signature as far
// as a machine without macOS can: the load commands, the signature superblob, its
// CodeDirectory, and every page hash recomputed from the file's own bytes
// (docs/decisions/executables.md §Apple silicon). Pure: bytes in, facts out.
//
// Formats (Apple's xnu sources, osfmk/kern/cs_blobs.h and EXTERNAL_HEADERS/mach-o/loader.h):
//   - mach_header_64 and load commands are little-endian on arm64 and x86-64;
//   - the signature (LC_CODE_SIGNATURE's dataoff/datasize) is big-endian: a SuperBlob
//     (magic 0xfade0cc0, length, count, then count × {type, offset}) whose slot of
//     type 0 is the CodeDirectory (magic 0xfade0c02).
//   - The CodeDirectory lists nCodeSlots hashes at hashOffset: hash i covers the file's
//     bytes [i × pageSize, min((i + 1) × pageSize, codeLimit)). nSpecialSlots hashes
//     precede hashOffset, slot −k for the blob of type k in the same superblob.

import { createHash } from 'node:crypto';

export const MH_MAGIC_64 = 0xfeedfacf;
export const CPU_TYPE_ARM64 = 0x0100000c;
export const CPU_TYPE_X86_64 = 0x01000007;
export const MH_EXECUTE = 2;
export const LC_SEGMENT_64 = 0x19;
export const LC_CODE_SIGNATURE = 0x1d;
export const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
export const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
export const CSSLOT_CODEDIRECTORY = 0;
export const CS_ADHOC = 0x2;
export const CS_RUNTIME = 0x10000;
export const CS_LINKER_SIGNED = 0x20000;
export const CS_HASHTYPE_SHA256 = 2;
export const CS_EXECSEG_MAIN_BINARY = 0x1;
/** Special slots whose blob, when present, sits in the same superblob (requirements, entitlements, DER entitlements). */
const SPECIAL_SLOTS_IN_SUPERBLOB = [2, 5, 7];

export interface MachOSegment {
  readonly name: string;
  readonly fileOffset: number;
  readonly fileSize: number;
}

export interface CodeDirectoryFacts {
  readonly version: number;
  readonly flags: number;
  readonly identifier: string;
  readonly hashType: number;
  readonly hashSize: number;
  /** Bytes per page (the CodeDirectory stores log2). */
  readonly pageSize: number;
  readonly codeLimit: number;
  readonly nCodeSlots: number;
  readonly nSpecialSlots: number;
  readonly execSegBase?: number;
  readonly execSegLimit?: number;
  readonly execSegFlags?: number;
  /** SHA-256 of the CodeDirectory blob; its first 20 bytes are what `codesign -dvvv` prints as CDHash. */
  readonly cdHashSha256: string;
  /** Indexes of code pages whose recomputed hash differs from the stored one (empty when all match). */
  readonly mismatchedPages: readonly number[];
  /** Special slots (−k) whose stored hash differs from the blob of type k (or is non-zero with no blob). */
  readonly mismatchedSpecialSlots: readonly number[];
}

export interface MachOSignatureFacts {
  readonly cpuType: number;
  readonly fileType: number;
  readonly segments: readonly MachOSegment[];
  readonly signatureOffset: number;
  readonly signatureSize: number;
  /** Blob types found in the superblob, in order. */
  readonly blobTypes: readonly number[];
  readonly codeDirectory: CodeDirectoryFacts;
}

export class MachOError extends Error {}

function need(condition: boolean, message: string): asserts condition {
  if (!condition) throw new MachOError(message);
}

function hashOf(hashType: number, bytes: Uint8Array): Buffer {
  if (hashType === CS_HASHTYPE_SHA256) return createHash('sha256').update(bytes).digest();
  if (hashType === 1) return createHash('sha1').update(bytes).digest();
  throw new MachOError(`CodeDirectory hashType ${hashType} is not SHA-256 (2) or SHA-1 (1)`);
}

/**
 * Parses the Mach-O header, load commands and embedded signature of `file`, and recomputes
 * every page hash. Throws MachOError on anything malformed; reports hash mismatches in the facts.
 */
export function readMachOSignature(file: Uint8Array): MachOSignatureFacts {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  need(file.byteLength >= 32, 'shorter than a mach_header_64');
  const magic = view.getUint32(0, true);
  need(magic === MH_MAGIC_64, `not a thin 64-bit little-endian Mach-O (magic 0x${magic.toString(16)})`);
  const cpuType = view.getUint32(4, true);
  const fileType = view.getUint32(12, true);
  const ncmds = view.getUint32(16, true);
  const sizeofcmds = view.getUint32(20, true);
  need(32 + sizeofcmds <= file.byteLength, 'load commands run past the end of the file');

  const segments: MachOSegment[] = [];
  const signatures: { offset: number; size: number }[] = [];
  let at = 32;
  for (let i = 0; i < ncmds; i++) {
    need(at + 8 <= 32 + sizeofcmds, `load command ${i} starts past sizeofcmds`);
    const cmd = view.getUint32(at, true);
    const cmdsize = view.getUint32(at + 4, true);
    need(cmdsize >= 8 && cmdsize % 8 === 0 && at + cmdsize <= 32 + sizeofcmds, `load command ${i} has a bad size ${cmdsize}`);
    if (cmd === LC_SEGMENT_64) {
      need(cmdsize >= 72, 'LC_SEGMENT_64 too short');
      const name = Buffer.from(file.subarray(at + 8, at + 24)).toString('latin1').replace(/\0.*$/s, '');
      segments.push({ name, fileOffset: Number(view.getBigUint64(at + 40, true)), fileSize: Number(view.getBigUint64(at + 48, true)) });
    } else if (cmd === LC_CODE_SIGNATURE) {
      need(cmdsize === 16, 'LC_CODE_SIGNATURE must be 16 bytes');
      signatures.push({ offset: view.getUint32(at + 8, true), size: view.getUint32(at + 12, true) });
    }
    at += cmdsize;
  }
  need(signatures.length === 1, `expected one LC_CODE_SIGNATURE, found ${signatures.length}`);
  const signature = signatures[0]!;
  need(signature.offset + signature.size <= file.byteLength, 'the signature runs past the end of the file');
  const linkedit = segments.find((segment) => segment.name === '__LINKEDIT');
  need(linkedit !== undefined, 'no __LINKEDIT segment');
  need(
    signature.offset >= linkedit.fileOffset && signature.offset + signature.size <= linkedit.fileOffset + linkedit.fileSize,
    'the signature is not inside __LINKEDIT',
  );

  // The superblob (big-endian from here on).
  const sb = signature.offset;
  need(signature.size >= 12, 'signature shorter than a SuperBlob header');
  const sbMagic = view.getUint32(sb, false);
  need(sbMagic === CSMAGIC_EMBEDDED_SIGNATURE, `superblob magic 0x${sbMagic.toString(16)}, not 0xfade0cc0`);
  const sbLength = view.getUint32(sb + 4, false);
  const count = view.getUint32(sb + 8, false);
  need(sbLength <= signature.size && 12 + count * 8 <= sbLength, 'superblob length or count out of range');
  const blobs = new Map<number, { offset: number; length: number }>();
  const blobTypes: number[] = [];
  for (let i = 0; i < count; i++) {
    const type = view.getUint32(sb + 12 + i * 8, false);
    const offset = view.getUint32(sb + 16 + i * 8, false);
    need(offset + 8 <= sbLength, `blob ${i} offset out of range`);
    const length = view.getUint32(sb + offset + 4, false);
    need(length >= 8 && offset + length <= sbLength, `blob ${i} length out of range`);
    blobs.set(type, { offset: sb + offset, length });
    blobTypes.push(type);
  }
  const cdBlob = blobs.get(CSSLOT_CODEDIRECTORY);
  need(cdBlob !== undefined, 'no CodeDirectory slot (type 0) in the superblob');
  const cd = cdBlob.offset;
  const cdMagic = view.getUint32(cd, false);
  need(cdMagic === CSMAGIC_CODEDIRECTORY, `CodeDirectory magic 0x${cdMagic.toString(16)}, not 0xfade0c02`);
  need(cdBlob.length >= 44, 'CodeDirectory too short');
  const version = view.getUint32(cd + 8, false);
  const flags = view.getUint32(cd + 12, false);
  const hashOffset = view.getUint32(cd + 16, false);
  const identOffset = view.getUint32(cd + 20, false);
  const nSpecialSlots = view.getUint32(cd + 24, false);
  const nCodeSlots = view.getUint32(cd + 28, false);
  const codeLimit = view.getUint32(cd + 32, false);
  const hashSize = view.getUint8(cd + 36);
  const hashType = view.getUint8(cd + 37);
  const pageSizeLog2 = view.getUint8(cd + 39);
  need(pageSizeLog2 >= 12 && pageSizeLog2 <= 16, `CodeDirectory pageSize 2^${pageSizeLog2} is not 4 KiB to 64 KiB`);
  const pageSize = 2 ** pageSizeLog2;
  need(hashType === CS_HASHTYPE_SHA256 ? hashSize === 32 : hashSize === 20, `hashSize ${hashSize} does not fit hashType ${hashType}`);
  need(hashOffset >= nSpecialSlots * hashSize && hashOffset + nCodeSlots * hashSize <= cdBlob.length, 'hash slots run outside the CodeDirectory');
  need(identOffset < cdBlob.length, 'identifier outside the CodeDirectory');
  const identifierEnd = file.indexOf(0, cd + identOffset);
  need(identifierEnd >= 0 && identifierEnd < cd + cdBlob.length, 'identifier not NUL-terminated');
  const identifier = Buffer.from(file.subarray(cd + identOffset, identifierEnd)).toString('utf8');
  need(codeLimit <= file.byteLength, 'codeLimit past the end of the file');
  need(nCodeSlots === Math.ceil(codeLimit / pageSize), `nCodeSlots ${nCodeSlots} does not cover codeLimit ${codeLimit} in pages of ${pageSize}`);

  const mismatchedPages: number[] = [];
  for (let page = 0; page < nCodeSlots; page++) {
    const start = page * pageSize;
    const computed = hashOf(hashType, file.subarray(start, Math.min(start + pageSize, codeLimit)));
    const stored = file.subarray(cd + hashOffset + page * hashSize, cd + hashOffset + (page + 1) * hashSize);
    if (!computed.subarray(0, hashSize).equals(stored)) mismatchedPages.push(page);
  }
  const mismatchedSpecialSlots: number[] = [];
  for (const slot of SPECIAL_SLOTS_IN_SUPERBLOB) {
    if (slot > nSpecialSlots) continue;
    const stored = file.subarray(cd + hashOffset - slot * hashSize, cd + hashOffset - (slot - 1) * hashSize);
    const blob = blobs.get(slot);
    const expected = blob === undefined ? Buffer.alloc(hashSize) : hashOf(hashType, file.subarray(blob.offset, blob.offset + blob.length)).subarray(0, hashSize);
    if (!expected.equals(stored)) mismatchedSpecialSlots.push(-slot);
  }

  const withExecSeg = version >= 0x20400 && cdBlob.length >= 88;
  return {
    cpuType,
    fileType,
    segments,
    signatureOffset: signature.offset,
    signatureSize: signature.size,
    blobTypes,
    codeDirectory: {
      version,
      flags,
      identifier,
      hashType,
      hashSize,
      pageSize,
      codeLimit,
      nCodeSlots,
      nSpecialSlots,
      ...(withExecSeg
        ? {
            execSegBase: Number(view.getBigUint64(cd + 64, false)),
            execSegLimit: Number(view.getBigUint64(cd + 72, false)),
            execSegFlags: Number(view.getBigUint64(cd + 80, false)),
          }
        : {}),
      cdHashSha256: createHash('sha256').update(file.subarray(cd, cd + cdBlob.length)).digest('hex'),
      mismatchedPages,
      mismatchedSpecialSlots,
    },
  };
}

/**
 * The checks an arm64 macOS kernel makes of an ad-hoc signed main executable that can be
 * made without a Mac; returns the problems found (empty: none).
 */
export function adHocArm64Problems(facts: MachOSignatureFacts, fileSize: number): string[] {
  const problems: string[] = [];
  const cd = facts.codeDirectory;
  if (facts.cpuType !== CPU_TYPE_ARM64) problems.push(`cputype 0x${facts.cpuType.toString(16)} is not arm64`);
  if (facts.fileType !== MH_EXECUTE) problems.push(`filetype ${facts.fileType} is not MH_EXECUTE`);
  if ((cd.flags & CS_ADHOC) === 0) problems.push('the CodeDirectory is not flagged ad hoc');
  if (cd.hashType !== CS_HASHTYPE_SHA256) problems.push(`hashType ${cd.hashType} is not SHA-256`);
  if (cd.codeLimit !== facts.signatureOffset) problems.push(`codeLimit ${cd.codeLimit} does not reach the signature at ${facts.signatureOffset}`);
  const linkedit = facts.segments.find((segment) => segment.name === '__LINKEDIT');
  if (linkedit === undefined || linkedit.fileOffset + linkedit.fileSize !== fileSize) problems.push('__LINKEDIT does not end at the end of the file');
  const text = facts.segments.find((segment) => segment.name === '__TEXT');
  if (cd.execSegLimit !== undefined && text !== undefined && (cd.execSegBase !== text.fileOffset || cd.execSegLimit !== text.fileSize)) {
    problems.push(`the CodeDirectory's executable segment (${cd.execSegBase}+${cd.execSegLimit}) is not __TEXT (${text.fileOffset}+${text.fileSize})`);
  }
  if (cd.mismatchedPages.length > 0) problems.push(`${cd.mismatchedPages.length} page hash(es) do not match the file, first page ${cd.mismatchedPages[0]}`);
  if (cd.mismatchedSpecialSlots.length > 0) problems.push(`special slot(s) ${cd.mismatchedSpecialSlots.join(', ')} do not match their blobs`);
  return problems;
}
