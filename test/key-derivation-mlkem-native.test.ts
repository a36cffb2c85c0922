// docs/ceremony.md §4.3: the post-quantum subkey's ML-KEM-768 encapsulation key comes from
// node:crypto where it has ML-KEM (OpenSSL 3.5: the executables' Node 26), else from openpgp.js's
// expansion of the seed (Node 20, where the suite runs): the same key either way (issue 13).
// The node:crypto side runs in the executables' Node 26 (.cache/, present once an executable was
// built here) on the TypeScript sources (test/helpers/ts-source-hooks.mjs); skipped without it.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cachedNodeBinary, hostTarget } from '../scripts/build-exe.js';
import { deriveIdentity, mlkemEncapsulationKey } from '../src/core/key-derivation.js';

const REPO = join(import.meta.dirname, '..');
const target = hostTarget();
const node26 = target === undefined ? undefined : cachedNodeBinary(target);
const VECTOR_DIR = join(REPO, 'test', 'vectors', 'ceremony');
const vectors = readdirSync(VECTOR_DIR)
  .filter((file) => file.startsWith('derive-'))
  .map((file) => JSON.parse(readFileSync(join(VECTOR_DIR, file), 'utf8')) as { input: { seedHex: string; creationDate: string; name: string; email: string }; certSha256: string; secretKeySha256: string });
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

// Under Node 26, on src/: which way the key came, the vectors' digests, and random seeds checked by validate().
const SCRIPT = `
const { deriveIdentity, mlkemEncapsulationKey } = await import(process.argv[1] + '/core/key-derivation.ts');
const { createHash } = await import('node:crypto');
const input = JSON.parse(process.argv[2]);
const sha256 = (text) => createHash('sha256').update(text, 'utf8').digest('hex');
const derive = (v, validate) => deriveIdentity({ seed: Buffer.from(v.seedHex, 'hex'), name: v.name, email: v.email, creationDate: new Date(v.creationDate), validate });
const vectors = [];
for (const v of input.vectors) {
  const identity = await derive(v, false);
  vectors.push({ cert: sha256(identity.armoredCert), secret: sha256(identity.armoredSecretKey) });
}
let validated = 0;
for (const seedHex of input.seeds) {
  await derive({ seedHex, name: 'Random', email: 'random@example.org', creationDate: '2026-01-02T03:04:05Z' }, true); // throws when ek is not openpgp.js's
  validated += 1;
}
const native = mlkemEncapsulationKey(new Uint8Array(64));
process.stdout.write(JSON.stringify({ native: native !== undefined, nativeLength: native?.length ?? 0, vectors, validated }));
`;

describe('ML-KEM-768 encapsulation key: node:crypto or openpgp.js, the same key', () => {
  it('in this Node (20: no ML-KEM in node:crypto) openpgp.js expands the seed; a wrong-length seed is refused', async () => {
    expect(mlkemEncapsulationKey(new Uint8Array(64))).toBeUndefined();
    expect(() => mlkemEncapsulationKey(new Uint8Array(32))).toThrow(/64-byte seed/);
    const identity = await deriveIdentity({ seed: randomBytes(32), name: 'Here', email: 'here@example.org', creationDate: new Date('2026-01-02T03:04:05Z'), validate: true });
    expect(identity.publicKey.subkeys).toHaveLength(4);
  });

  it.skipIf(node26 === undefined)('in the executables\' Node 26 node:crypto gives it: the ceremony vectors\' bytes, and validate() accepts 8 random seeds', () => {
    const seeds = Array.from({ length: 8 }, () => randomBytes(32).toString('hex'));
    const input = { vectors: vectors.map((vector) => vector.input), seeds };
    const child = spawnSync(node26!, ['--no-warnings', '--import', join(REPO, 'test', 'helpers', 'ts-source-hooks.mjs'), '--input-type=module', '-e', SCRIPT, join(REPO, 'src'), JSON.stringify(input)], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 240_000,
    });
    if (child.status !== 0) throw new Error(`Node 26 failed (${child.status}): ${child.stderr}`);
    const report = JSON.parse(child.stdout) as { native: boolean; nativeLength: number; vectors: Array<{ cert: string; secret: string }>; validated: number };
    expect(report.native).toBe(true);
    expect(report.nativeLength).toBe(1184);
    expect(report.vectors).toEqual(vectors.map((vector) => ({ cert: vector.certSha256, secret: vector.secretKeySha256 })));
    expect(report.validated).toBe(seeds.length);
  }, 300_000);
});
