// Reads the stick's config.json (docs/stick-layout.md §3). Not secret; written only
// by the image build and covered by the signed MANIFEST, so caliop never rewrites it.
import { CaliopError } from '../errors.js';
import { FileTooLargeError, readRegularTextFileSync } from './plain-files.js';
import type { Stick } from './stick-locator.js';

/**
 * docs/stick-layout.md §3: the largest config.json read. Its largest field is the release
 * certificate (a few KiB armored); 1 MiB is also the most caliop takes of any certificate it
 * fetches (WKD, src/edges/wkd-client.ts).
 */
export const CONFIG_MAX_BYTES = 1024 * 1024;

export interface StickConfig {
  relay?: { url: string; pin?: string };
  releaseCert?: string;
  [field: string]: unknown;
}

export function readStickConfig(stick: Stick): StickConfig {
  let text: string;
  try {
    text = readRegularTextFileSync(stick.configPath, CONFIG_MAX_BYTES); // docs/stick-layout.md §2.1, §3
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CaliopError('file_unreadable', error instanceof FileTooLargeError ? error.message : `could not read ${stick.configPath}`, { cause: error });
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as StickConfig;
  } catch (error) {
    throw new CaliopError('file_unreadable', `${stick.configPath} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
      hint: 'fix the file by hand, or remove it and run "caliop init --server URL" again',
    });
  }
}
