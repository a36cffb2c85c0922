// The flashing pipeline (docs/flashing-station.md §Pipeline): one source image,
// several destinations written at once. Each destination goes through named
// steps — checking, flashing, verifying, ejecting — and ends 'finished' or
// 'failed'. A failing destination is reported and never stops the others.
// Verification by read-back hash is always on.

import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';

import { CaliopError, ERROR_TABLE, isCaliopError, type ErrorCode } from '../errors.js';
import { deviceNumberOf, dropDeviceCache, ejectDestination, inspectDestination, type DestinationCapabilities, type EjectOutcome } from './destination.js';
import type { TargetIdentity } from './target-identity.js';

export type FlashStep = 'checking' | 'flashing' | 'verifying' | 'ejecting' | 'finished' | 'failed';

/** The source: an image file and its SHA-256, hashed once before any write. */
export interface FlashImage {
  readonly path: string;
  readonly sizeBytes: number;
  readonly sha256: string;
}

/** What is known about a target before writing (a CandidateDrive fits). */
export interface FlashTarget {
  readonly path: string;
  readonly serial?: string;
  readonly vendor?: string;
  readonly model?: string;
  /** What was checked before the question; with FlashOptions.reprove, proved again before the first byte and before verifying. */
  readonly identity?: TargetIdentity;
}

export interface FlashProgress {
  readonly target: string;
  readonly step: FlashStep;
  /** Bytes written (flashing) or read back (verifying) so far. */
  readonly bytesDone: number;
  readonly totalBytes: number;
  /** Average over the current step. */
  readonly bytesPerSecond: number;
}

export interface FlashError {
  readonly code: ErrorCode;
  readonly exit: number;
  readonly message: string;
  readonly hint: string;
}

export interface FlashResult {
  readonly target: string;
  readonly serial: string;
  readonly vendor: string;
  readonly model: string;
  readonly sizeBytes: number;
  readonly result: 'ok' | 'failed';
  /** 'finished' when ok; otherwise the step that failed. */
  readonly step: FlashStep;
  readonly error?: FlashError;
  readonly bytesWritten: number;
  readonly writeSeconds: number;
  readonly verifySeconds: number;
  /** SHA-256 of the image-length prefix read back from the target; '' when not read back. */
  readonly sha256: string;
  readonly imageSha256: string;
  readonly ejected: EjectOutcome;
  readonly startedAt: string;
  readonly finishedAt: string;
}

export interface FlashOptions {
  /** Bytes per write(2) and read(2); default 4 MiB. */
  readonly chunkBytes?: number;
  /** fdatasync(2) after every this many bytes so progress follows the device, not the page cache; default 32 MiB. */
  readonly syncEveryBytes?: number;
  /** Power the stick off when done (default true; loop devices are always left alone). */
  readonly eject?: boolean;
  readonly onProgress?: (progress: FlashProgress) => void;
  /** Called as soon as one target is done, before the others finish. */
  readonly onResult?: (result: FlashResult) => void;
  /** Least milliseconds between two progress events of one target within a step (default 200). */
  readonly progressIntervalMs?: number;
  /**
   * Proves the target is still the one checked before the question
   * (docs/flashing-station.md §Re-proving the target): undefined when it is,
   * else what changed. Called after the exclusive open, before the first byte,
   * and again before the verify pass.
   */
  readonly reprove?: (target: FlashTarget, moment: 'before-write' | 'before-verify') => Promise<string | undefined>;
  /** Tests only: runs between the end of the write and the read-back. */
  readonly afterWrite?: (target: FlashTarget) => Promise<void>;
}

export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
export const DEFAULT_SYNC_EVERY_BYTES = 32 * 1024 * 1024;

async function _hashRange(handle: FileHandle, length: number, chunkBytes: number, onChunk?: (done: number) => void): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(chunkBytes);
  let position = 0;
  while (position < length) {
    const wanted = Math.min(chunkBytes, length - position);
    const { bytesRead } = await handle.read(buffer, 0, wanted, position);
    if (bytesRead === 0) throw new Error(`unexpected end of data at byte ${position} of ${length}`);
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
    onChunk?.(position);
  }
  return hash.digest('hex');
}

/** Opens the source image and hashes it once. */
export async function openImage(path: string, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<FlashImage> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new CaliopError('file_unreadable', `cannot open the image ${path}`, { cause, hint: 'build it with "npm run build:image" or pass --image FILE' });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size === 0) throw new CaliopError('file_unreadable', `${path} is not a non-empty image file`);
    const sha256 = await _hashRange(handle, info.size, chunkBytes);
    return { path, sizeBytes: info.size, sha256 };
  } finally {
    await handle.close();
  }
}

function _flashError(code: ErrorCode, detail: string, cause?: unknown, hint?: string): FlashError {
  const causeText = cause instanceof Error ? `: ${cause.message}` : '';
  return { code, exit: ERROR_TABLE[code].exit, message: detail + causeText, hint: hint ?? ERROR_TABLE[code].hint };
}

const CHANGED_HINT = 'the drive changed since it was checked (another stick plugged in, resized, or in use elsewhere); check which drive is which and start again';

class _StepFailure extends Error {
  constructor(readonly step: FlashStep, readonly flashError: FlashError) {
    super(flashError.message);
  }
}

function _progressReporter(target: string, totalBytes: number, options: FlashOptions) {
  const interval = options.progressIntervalMs ?? 200;
  let step: FlashStep = 'checking';
  let stepStart = performance.now();
  let lastEmit = -Infinity;
  return {
    begin(next: FlashStep): void {
      step = next;
      stepStart = performance.now();
      lastEmit = -Infinity;
      options.onProgress?.({ target, step, bytesDone: 0, totalBytes, bytesPerSecond: 0 });
      lastEmit = performance.now();
    },
    update(bytesDone: number): void {
      const now = performance.now();
      if (now - lastEmit < interval && bytesDone < totalBytes) return;
      lastEmit = now;
      const seconds = (now - stepStart) / 1000;
      options.onProgress?.({ target, step, bytesDone, totalBytes, bytesPerSecond: seconds > 0 ? bytesDone / seconds : 0 });
    },
  };
}

/** Thrown by the pre-write proof: refuses the target, not a write failure. */
class _TargetChanged extends Error {}

async function _writeImage(
  image: FlashImage,
  capabilities: DestinationCapabilities,
  options: FlashOptions,
  beforeFirstByte: (destination: FileHandle) => Promise<void>,
  onWritten: (bytes: number) => void,
): Promise<void> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const syncEvery = options.syncEveryBytes ?? DEFAULT_SYNC_EVERY_BYTES;
  const source = await open(image.path, 'r');
  let destination: FileHandle | undefined;
  try {
    // O_EXCL on a block device: the kernel refuses (EBUSY) while it is mounted or held by someone else.
    destination = await open(capabilities.path, fsConstants.O_WRONLY | fsConstants.O_EXCL);
    await beforeFirstByte(destination);
    const buffer = Buffer.allocUnsafe(chunkBytes);
    let position = 0;
    let sinceSync = 0;
    while (position < image.sizeBytes) {
      const wanted = Math.min(chunkBytes, image.sizeBytes - position);
      const { bytesRead } = await source.read(buffer, 0, wanted, position);
      if (bytesRead === 0) throw new Error(`the image ended early at byte ${position}`);
      let offset = 0;
      while (offset < bytesRead) {
        const { bytesWritten } = await destination.write(buffer, offset, bytesRead - offset, position + offset);
        if (bytesWritten === 0) throw new Error(`the drive accepted no more bytes at ${position + offset}`);
        offset += bytesWritten;
      }
      position += bytesRead;
      sinceSync += bytesRead;
      if (sinceSync >= syncEvery) {
        await destination.datasync();
        sinceSync = 0;
      }
      onWritten(position);
    }
    await destination.datasync();
  } finally {
    await source.close();
    // close(2) can report a deferred write error: let it fail the step.
    await destination?.close();
  }
}

async function _readBackHash(path: string, length: number, chunkBytes: number, onRead: (bytes: number) => void): Promise<string> {
  await dropDeviceCache(path);
  const handle = await open(path, 'r');
  try {
    return await _hashRange(handle, length, chunkBytes, onRead);
  } finally {
    await handle.close();
  }
}

/** Writes, verifies and ejects one target; never throws: failures end in a 'failed' result. */
export async function flashTarget(image: FlashImage, target: FlashTarget, options: FlashOptions = {}): Promise<FlashResult> {
  const startedAt = new Date();
  const progress = _progressReporter(target.path, image.sizeBytes, options);
  let step: FlashStep = 'checking';
  let sizeBytes = 0;
  let bytesWritten = 0;
  let writeSeconds = 0;
  let verifySeconds = 0;
  let readBackSha256 = '';
  let ejected: EjectOutcome = 'skipped';
  let failure: FlashError | undefined;
  try {
    progress.begin('checking');
    const capabilities = await inspectDestination(target.path).catch((cause: unknown) => {
      throw new _StepFailure('checking', _flashError('flash_target_refused', `cannot inspect ${target.path}`, cause));
    });
    sizeBytes = capabilities.sizeBytes;
    if (!capabilities.isBlockDevice) throw new _StepFailure('checking', _flashError('flash_target_refused', `${target.path} is not a block device`));
    if (!capabilities.canWrite) throw new _StepFailure('checking', _flashError('flash_target_refused', `${target.path} is read-only or has no medium`));
    if (capabilities.sizeBytes < image.sizeBytes) {
      throw new _StepFailure('checking', _flashError('flash_target_refused', `${target.path} holds ${capabilities.sizeBytes} bytes, the image needs ${image.sizeBytes}`));
    }

    step = 'flashing';
    progress.begin('flashing');
    const writeStart = performance.now();
    // docs/flashing-station.md §Re-proving the target: the device now held open exclusively is
    // the one checked before the question, or not one byte is written to it.
    const proveBeforeFirstByte = async (destination: FileHandle) => {
      const held = deviceNumberOf((await destination.stat()).rdev);
      const changes: string[] = [];
      if (target.identity !== undefined && target.identity.deviceNumber !== '' && held !== target.identity.deviceNumber) {
        changes.push(`device number was ${target.identity.deviceNumber}, the opened device is ${held}`);
      }
      const changed = await options.reprove?.(target, 'before-write');
      if (changed !== undefined) changes.push(changed);
      if (changes.length > 0) throw new _TargetChanged(`${target.path} is not the drive that was checked: ${changes.join('; ')}; nothing was written to it`);
    };
    try {
      await _writeImage(image, capabilities, options, proveBeforeFirstByte, (bytes) => {
        bytesWritten = bytes;
        progress.update(bytes);
      });
    } catch (cause) {
      if (cause instanceof _TargetChanged) throw new _StepFailure('checking', _flashError('flash_target_refused', cause.message, undefined, CHANGED_HINT));
      throw new _StepFailure('flashing', _flashError('flash_failed', `writing ${target.path} failed after ${bytesWritten} bytes`, cause));
    } finally {
      writeSeconds = (performance.now() - writeStart) / 1000;
    }

    await options.afterWrite?.(target);

    // Again before the verify pass: a drive that changed is not read back and nothing more is written to it.
    const changedAfterWrite = await options.reprove?.(target, 'before-verify');
    if (changedAfterWrite !== undefined) {
      throw new _StepFailure('verifying', _flashError('flash_target_refused', `${target.path} changed while it was written: ${changedAfterWrite}; it was not verified and nothing more is written to it`, undefined, CHANGED_HINT));
    }

    step = 'verifying';
    progress.begin('verifying');
    const verifyStart = performance.now();
    try {
      readBackSha256 = await _readBackHash(target.path, image.sizeBytes, options.chunkBytes ?? DEFAULT_CHUNK_BYTES, (bytes) => progress.update(bytes));
    } catch (cause) {
      throw new _StepFailure('verifying', _flashError('flash_verify_failed', `reading ${target.path} back failed`, cause));
    } finally {
      verifySeconds = (performance.now() - verifyStart) / 1000;
    }
    if (readBackSha256 !== image.sha256) {
      throw new _StepFailure('verifying', _flashError('flash_verify_failed', `${target.path} read back SHA-256 ${readBackSha256}, the image is ${image.sha256}`));
    }

    if (options.eject !== false) {
      step = 'ejecting';
      progress.begin('ejecting');
      ejected = await ejectDestination(capabilities);
    }
    step = 'finished';
    progress.begin('finished');
  } catch (error) {
    if (error instanceof _StepFailure) {
      step = error.step;
      failure = error.flashError;
    } else if (isCaliopError(error)) {
      failure = _flashError(error.code, error.message);
    } else {
      failure = _flashError('flash_failed', `${target.path}: ${step} failed`, error);
    }
    progress.begin('failed');
  }
  const result: FlashResult = {
    target: target.path,
    serial: target.serial ?? '',
    vendor: target.vendor ?? '',
    model: target.model ?? '',
    sizeBytes,
    result: failure === undefined ? 'ok' : 'failed',
    step,
    ...(failure === undefined ? {} : { error: failure }),
    bytesWritten,
    writeSeconds: Math.round(writeSeconds * 1000) / 1000,
    verifySeconds: Math.round(verifySeconds * 1000) / 1000,
    sha256: readBackSha256,
    imageSha256: image.sha256,
    ejected,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
  };
  options.onResult?.(result);
  return result;
}

/** Flashes every target at once; one failing target never stops the others. Results come in the targets' order. */
export async function flashTargets(image: FlashImage, targets: readonly FlashTarget[], options: FlashOptions = {}): Promise<FlashResult[]> {
  const seen = new Set<string>();
  for (const target of targets) {
    if (seen.has(target.path)) throw new CaliopError('usage', `${target.path} is named twice`);
    seen.add(target.path);
  }
  return Promise.all(targets.map((target) => flashTarget(image, target, options)));
}

/** The exit code of a finished run: 0, or the worst failure (a verify failure before a write failure). */
export function exitCodeOf(results: readonly FlashResult[]): number {
  const failed = results.filter((result) => result.result === 'failed');
  if (failed.length === 0) return 0;
  for (const code of ['flash_verify_failed', 'flash_failed', 'flash_target_refused'] as const) {
    if (failed.some((result) => result.error?.code === code)) return ERROR_TABLE[code].exit;
  }
  return ERROR_TABLE.flash_failed.exit;
}

/** True when `path` exists and is a block device (for the faces' early checks). */
export async function isBlockDevice(path: string): Promise<boolean> {
  return stat(path).then((info) => info.isBlockDevice(), () => false);
}
