// The two Argon2id engines (docs/decisions/kdf.md, docs/vault-format.md §4): node:crypto's
// argon2 (OpenSSL, the Node 26 of the executables) and the wasm (Node 20 where the tests
// run, Bun) derive the same bytes, so a vault sealed by one opens with the other.
// The tests run under Node 20, which has no crypto.argon2: the node:crypto side runs in the
// executables' Node 26 (.cache/, present once an executable was built here), spawned on the
// TypeScript sources (test/helpers/ts-source-hooks.mjs). Without that binary, and without
// crypto.argon2 in this process, the comparison is skipped (said by the skip).
import { spawnSync } from 'node:child_process';
import * as nodeCrypto from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedNodeBinary, hostTarget } from '../scripts/build-exe.js';
import { UNSAFE_TEST_KDF, type KdfParams } from '../src/core/vault-format.js';
import { defaultArgon2Engine, deriveArgon2id } from '../src/edges/argon2id.js';
import { createVault, unlockVault } from '../src/edges/vault-file.js';

const REPO = join(import.meta.dirname, '..');
const hasNodeArgon2 = typeof (nodeCrypto as unknown as { argon2?: unknown }).argon2 === 'function';
const target = hostTarget();
/** A Node whose node:crypto has argon2: this one, or the executables' Node 26 when cached. */
const nativeNode = hasNodeArgon2 ? process.execPath : target === undefined ? undefined : cachedNodeBinary(target);

interface Case {
  readonly label: string;
  readonly passphraseHex: string;
  readonly saltHex: string;
  readonly kdf: KdfParams;
  /** Known from elsewhere (the Debian CLI, a vault vector), when there is one. */
  readonly expected?: string;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const utf8Hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');
const kdf = (memoryKiB: number, passes: number, parallelism: number): KdfParams => ({ algorithm: 'argon2id', memoryKiB, passes, parallelism });

interface VaultVector {
  readonly description: string;
  readonly expect: string;
  readonly passphrase: string;
  readonly file: string;
  readonly kdf: KdfParams;
  readonly salt: string;
  readonly argon2Output: string;
  readonly plaintext: string;
}
const VECTOR_DIR = join(REPO, 'test', 'vectors', 'vault');
const openingVectors = readdirSync(VECTOR_DIR)
  .filter((name) => name.startsWith('opens-'))
  .map((name) => ({ name, ...(JSON.parse(readFileSync(join(VECTOR_DIR, name), 'utf8')) as VaultVector) }));

const CASES: Case[] = [
  // echo -n password | argon2 somesalt -id -k 64 -t 2 -p 1 -l 32 -r (test/vault-argon2-wasm.test.ts)
  { label: 'Debian CLI answer', passphraseHex: utf8Hex('password'), saltHex: utf8Hex('somesalt'), kdf: kdf(64, 2, 1), expected: '16a1a498734609dd01456da406de9f3d9da93e6c86c300a12fc1465214ce4922' },
  ...openingVectors.map((vector) => ({ label: vector.name, passphraseHex: vector.passphrase, saltHex: vector.salt, kdf: vector.kdf, expected: vector.argon2Output })),
  { label: 'the test parameters, a non-ASCII passphrase', passphraseHex: utf8Hex('pâté 🔑 ünïcode'), saltHex: '07'.repeat(16), kdf: { ...UNSAFE_TEST_KDF } },
  { label: 'one-byte passphrase, shortest salt', passphraseHex: '61', saltHex: '00'.repeat(8), kdf: kdf(256, 2, 1) },
  { label: 'parallelism 2, 64-byte salt', passphraseHex: utf8Hex('two lanes'), saltHex: 'a5'.repeat(64), kdf: kdf(1024, 3, 2) },
  { label: 'parallelism 4 (the ceiling), 32 MiB', passphraseHex: utf8Hex('four lanes, four OpenSSL threads'), saltHex: '5a'.repeat(16), kdf: kdf(32 * 1024, 1, 4) },
];

const PLAINTEXT = 'sealed by one engine, opened by the other';
const PASSPHRASE = 'correct horse battery staple, two engines';

/** What the Node-with-argon2 side reports (the script below). */
interface NativeReport {
  readonly engine: string;
  readonly node: string[];
  readonly wasm: string[];
  readonly rfc9106: string;
  readonly callerBytesKept: boolean;
  readonly turnsWhileDeriving: number;
  readonly openedVectors: string[];
  readonly openedFromWasm: string;
}

// Runs under the Node with argon2, on src/ (test/helpers/ts-source-hooks.mjs).
const NATIVE_SCRIPT = `
import { readFileSync } from 'node:fs';
import * as crypto from 'node:crypto';
const [inputPath] = process.argv.slice(1);
const input = JSON.parse(readFileSync(inputPath, 'utf8'));
const { defaultArgon2Engine, deriveArgon2id, startArgon2id } = await import(input.src + '/edges/argon2id.ts');
const { createVault, unlockVault } = await import(input.src + '/edges/vault-file.ts');
const bytes = (h) => new Uint8Array(Buffer.from(h, 'hex'));
const hex = (b) => Buffer.from(b).toString('hex');
const report = { engine: defaultArgon2Engine(), node: [], wasm: [] };
for (const c of input.cases) {
  report.node.push(hex(await deriveArgon2id(bytes(c.passphraseHex), bytes(c.saltHex), c.kdf, { engine: 'node' })));
  report.wasm.push(hex(await deriveArgon2id(bytes(c.passphraseHex), bytes(c.saltHex), c.kdf, { engine: 'wasm' })));
}
// RFC 9106 §5.3 (Argon2id with a secret and associated data, which a vault never uses): node:crypto itself.
report.rfc9106 = crypto.argon2Sync('argon2id', { message: Buffer.alloc(32, 1), nonce: Buffer.alloc(16, 2), secret: Buffer.alloc(8, 3), associatedData: Buffer.alloc(12, 4), parallelism: 4, tagLength: 32, memory: 32, passes: 3 }).toString('hex');
// The default engine runs off the event loop: turns of the loop go by before its answer.
const passphrase = new TextEncoder().encode('the loop keeps turning');
const run = await startArgon2id(passphrase, new Uint8Array(16), { algorithm: 'argon2id', memoryKiB: 65536, passes: 1, parallelism: 1 });
let settled = false;
void run.output.then(() => { settled = true; });
for (let tick = 0; tick < 10; tick += 1) await null; // microtasks only: an answer already there shows now
let turns = 0;
while (!settled) { await new Promise((resolve) => setImmediate(resolve)); turns += 1; }
report.turnsWhileDeriving = turns;
report.callerBytesKept = hex(passphrase) === Buffer.from('the loop keeps turning').toString('hex');
// Vaults sealed by the wasm (the vectors, and one made by the test under Node 20) open here.
report.openedVectors = [];
for (const v of input.vectors) {
  const { plaintext, handle } = await unlockVault(v.path, bytes(v.passphrase));
  handle.close();
  report.openedVectors.push(hex(plaintext));
}
const fromWasm = await unlockVault(input.wasmVault, new TextEncoder().encode(input.passphrase));
fromWasm.handle.close();
report.openedFromWasm = new TextDecoder().decode(fromWasm.plaintext);
// And one sealed here, for the test to open with the wasm.
(await createVault(input.nodeVault, new TextEncoder().encode(input.passphrase), new TextEncoder().encode(input.plaintext), input.kdf)).close();
process.stdout.write(JSON.stringify(report));
`;

describe.skipIf(nativeNode === undefined)(`node:crypto's argon2 and the wasm agree (${nativeNode ?? 'no Node with crypto.argon2 here: build an executable first'})`, () => {
  let work: string;
  let report: NativeReport;
  const savedEnv = process.env.CALIOP_UNSAFE_TEST_KDF;

  beforeAll(async () => {
    process.env.CALIOP_UNSAFE_TEST_KDF = '1'; // §5.4: the vaults of this test use the test parameters
    work = mkdtempSync(join(tmpdir(), 'caliop-argon2-engines-'));
    const vectors = openingVectors.map((vector) => {
      const path = join(work, `${vector.name}.caliop`);
      writeFileSync(path, Buffer.from(vector.file, 'base64'));
      return { path, passphrase: vector.passphrase };
    });
    const wasmVault = join(work, 'wasm.caliop');
    (await createVault(wasmVault, new TextEncoder().encode(PASSPHRASE), new TextEncoder().encode(PLAINTEXT), { ...UNSAFE_TEST_KDF })).close();
    const input = join(work, 'input.json');
    const nodeVault = join(work, 'node.caliop');
    writeFileSync(input, JSON.stringify({ src: join(REPO, 'src'), cases: CASES, vectors, wasmVault, nodeVault, passphrase: PASSPHRASE, plaintext: PLAINTEXT, kdf: { ...UNSAFE_TEST_KDF, parallelism: 2 } }));
    const child = spawnSync(nativeNode!, ['--no-warnings', '--import', join(REPO, 'test', 'helpers', 'ts-source-hooks.mjs'), '--input-type=module', '-e', NATIVE_SCRIPT, input], {
      cwd: REPO,
      env: { ...process.env, CALIOP_UNSAFE_TEST_KDF: '1' },
      encoding: 'utf8',
      timeout: 240_000,
    });
    if (child.status !== 0) throw new Error(`the Node with argon2 failed (${child.status}): ${child.stderr}`);
    report = JSON.parse(child.stdout) as NativeReport;
  }, 300_000);

  afterAll(() => {
    if (savedEnv === undefined) delete process.env.CALIOP_UNSAFE_TEST_KDF;
    else process.env.CALIOP_UNSAFE_TEST_KDF = savedEnv;
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('a Node with crypto.argon2 uses it by default; this one uses it only if it has it', () => {
    expect(report.engine).toBe('node');
    expect(defaultArgon2Engine()).toBe(hasNodeArgon2 ? 'node' : 'wasm');
  });

  it('the same 32 bytes from both engines, and from the wasm here, for every case', async () => {
    const here: string[] = [];
    for (const c of CASES) {
      here.push(hex(await deriveArgon2id(Buffer.from(c.passphraseHex, 'hex'), Buffer.from(c.saltHex, 'hex'), c.kdf, { engine: 'wasm' })));
    }
    const expected = CASES.map((c, index) => c.expected ?? here[index]);
    expect(report.node).toEqual(expected);
    expect(report.wasm).toEqual(expected);
    expect(here).toEqual(expected);
  }, 120_000);

  it("node:crypto's argon2 gives RFC 9106 §5.3's Argon2id tag", () => {
    expect(report.rfc9106).toBe('0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659');
  });

  it('derives off the event loop (the interface keeps drawing, issue 13) and leaves the caller\'s bytes alone', () => {
    expect(report.turnsWhileDeriving).toBeGreaterThan(0);
    expect(report.callerBytesKept).toBe(true);
  });

  it('vaults sealed by the wasm open with node:crypto, and one sealed with node:crypto opens with the wasm', async () => {
    expect(report.openedVectors).toEqual(openingVectors.map((vector) => vector.plaintext));
    expect(report.openedFromWasm).toBe(PLAINTEXT);
    const { plaintext, handle } = await unlockVault(join(work, 'node.caliop'), new TextEncoder().encode(PASSPHRASE));
    handle.close();
    expect(new TextDecoder().decode(plaintext)).toBe(PLAINTEXT);
  });
});
