// The station's log: one JSON line per stick (docs/flashing-station.md §Log).
// Appended, never rewritten, so a crash loses at most the line being written.

import { appendFile } from 'node:fs/promises';

import type { CandidateDrive } from './drive-list.js';
import type { FlashImage, FlashResult } from './pipeline.js';

export interface FlashLogLine {
  readonly time: string;
  readonly serial: string;
  /** 'refused': the station saw the stick and did not touch it (error says why). */
  readonly result: 'ok' | 'failed' | 'refused';
  readonly target: string;
  readonly vendor: string;
  readonly model: string;
  readonly sizeBytes: number;
  readonly step: string;
  readonly error?: string;
  readonly image: string;
  readonly imageSha256: string;
  readonly writeSeconds: number;
  readonly verifySeconds: number;
}

export function flashLogLine(image: FlashImage, result: FlashResult): FlashLogLine {
  return {
    time: result.finishedAt,
    serial: result.serial,
    result: result.result,
    target: result.target,
    vendor: result.vendor,
    model: result.model,
    sizeBytes: result.sizeBytes,
    step: result.step,
    ...(result.error === undefined ? {} : { error: result.error.code }),
    image: image.path,
    imageSha256: image.sha256,
    writeSeconds: result.writeSeconds,
    verifySeconds: result.verifySeconds,
  };
}

/** Appends one line for this stick to the log file. */
export async function appendFlashLog(logPath: string, image: FlashImage, result: FlashResult): Promise<void> {
  await appendFlashLogLine(logPath, flashLogLine(image, result));
}

/** The line for a stick the station refused (never written). */
export function refusedLogLine(image: FlashImage, drive: CandidateDrive, time: Date): FlashLogLine {
  return {
    time: time.toISOString(),
    serial: drive.serial,
    result: 'refused',
    target: drive.path,
    vendor: drive.vendor,
    model: drive.model,
    sizeBytes: drive.sizeBytes,
    step: 'checking',
    error: drive.refusal?.reason ?? 'refused',
    image: image.path,
    imageSha256: image.sha256,
    writeSeconds: 0,
    verifySeconds: 0,
  };
}

/** Appends one line to the log file. */
export async function appendFlashLogLine(logPath: string, line: FlashLogLine): Promise<void> {
  await appendFile(logPath, JSON.stringify(line) + '\n', { encoding: 'utf8', mode: 0o644 });
}
