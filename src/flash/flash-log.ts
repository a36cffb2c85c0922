// The station's log: one JSON line per stick (docs/flashing-station.md §Log).
// Appended, never rewritten, so a crash loses at most the line being written.

import { appendFile } from 'node:fs/promises';

import type { FlashImage, FlashResult } from './pipeline.js';

export interface FlashLogLine {
  readonly time: string;
  readonly serial: string;
  readonly result: 'ok' | 'failed';
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
  await appendFile(logPath, JSON.stringify(flashLogLine(image, result)) + '\n', { encoding: 'utf8', mode: 0o644 });
}
