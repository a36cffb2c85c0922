// A fresh folder under os.tmpdir() for one test file: sticks, relay data, GnuPG homes,
// messages to deliver. The test removes it in afterAll (remove() never throws).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TemporaryFolder {
  readonly path: string;
  remove(): void;
}

/** `caliop-test-PREFIX-XXXXXX` under `parent` (default os.tmpdir()). */
export function temporaryFolder(prefix: string, parent = tmpdir()): TemporaryFolder {
  const path = mkdtempSync(join(parent, `caliop-test-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
