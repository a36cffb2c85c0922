// Reads the stick's config.json (docs/stick-layout.md §3). Not secret; written only
// by the image build and covered by the signed MANIFEST, so caliop never rewrites it.
import { CaliopError } from '../errors.js';
import { readRegularTextFileSync } from './plain-files.js';
import type { Stick } from './stick-locator.js';

export interface StickConfig {
  relay?: { url: string; pin?: string };
  releaseCert?: string;
  [field: string]: unknown;
}

export function readStickConfig(stick: Stick): StickConfig {
  let text: string;
  try {
    text = readRegularTextFileSync(stick.configPath); // docs/stick-layout.md §2.1
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CaliopError('file_unreadable', `could not read ${stick.configPath}`, { cause: error });
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
