// Benchmark: the ceremony's key generation (seed from the CSPRNG, then the whole
// v4 OpenPGP key derived: docs/ceremony.md §3-§6) against GnuPG 2.2 making an
// Ed25519 key with `gpg --quick-gen-key`, measured in the same run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ceremonyCreationDate, deriveIdentity } from '../../src/core/key-derivation.js';
import { randomBytes } from '../../src/edges/random.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timeDerivation(): Promise<number> {
  const started = process.hrtime.bigint();
  await deriveIdentity({ seed: randomBytes(32), name: 'Bench User', email: 'bench@example.org', creationDate: ceremonyCreationDate(new Date()) });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function timeGpg(home: string, index: number): number {
  const started = process.hrtime.bigint();
  const result = spawnSync('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', `Bench ${index} <bench${index}@example.org>`, 'ed25519', 'default', 'never'], {
    env: { ...process.env, HOME: home },
  });
  if (result.status !== 0) throw new Error(`gpg --quick-gen-key failed: ${result.stderr.toString()}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export async function benchKeyGeneration(rounds = 7): Promise<{ name: string; lines: string[] }> {
  await timeDerivation(); // load openpgp.js once, as a running caliop has
  const ours: number[] = [];
  for (let round = 0; round < rounds; round += 1) ours.push(await timeDerivation());
  const home = mkdtempSync(join(tmpdir(), 'caliop-bench-gpg-'));
  try {
    timeGpg(home, 0); // start gpg-agent once
    const theirs: number[] = [];
    for (let round = 1; round <= rounds; round += 1) theirs.push(timeGpg(home, round));
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
    const ourMedian = median(ours);
    const gpgMedian = median(theirs);
    return {
      name: 'key generation (ceremony derivation vs gpg --quick-gen-key ed25519)',
      lines: [
        `caliop deriveIdentity (4 keys, 5 self-signatures + revocation), median of ${rounds}: ${ourMedian.toFixed(1)} ms`,
        `gpg --quick-gen-key ed25519 default (primary + cv25519 subkey, warm agent), median of ${rounds}: ${gpgMedian.toFixed(1)} ms`,
        `ratio caliop / gpg: ${(ourMedian / gpgMedian).toFixed(2)}x`,
      ],
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
