// docs/gateway.md §4.6: relay processes that share a store sign with one DKIM key per selector
// (a process with another key refuses to start). Tests that start several give each these flags.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** An Ed25519 DKIM key written in `folder` (fast to make), as the flags every process of one store takes. */
export function sharedDkimArgs(folder: string, selector = 'shared'): string[] {
  const file = join(folder, `dkim-${selector}.pem`);
  writeFileSync(file, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  return ['--dkim-key', file, '--dkim-selector', selector];
}
