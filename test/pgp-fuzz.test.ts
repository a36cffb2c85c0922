// Issue 10, "Fuzz and property tests": every decoder a hostile peer reaches, fed 10,000
// mutated or generated inputs each, in process (cheap): armored and binary messages
// (decrypt), signatures (verify: detached, inline, clear-signed), certificates (contacts
// import's check), and the SOP inputs (armor, dearmor, inline-detach, verify). Each input
// ends in a result or in a documented error (a CaliopError of src/errors.ts, or a SopError
// with one of the draft's exit codes): never another exception, never a hang. Each
// decoder's run is time-bounded by vitest's timeout, and prints its count.
import fc from 'fast-check';
import * as openpgp from 'openpgp';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ERROR_TABLE, isCaliopError } from '../src/errors.js';
import { checkCertSignatures, decryptData, readCerts, verifyData } from '../src/service/pgp.js';
import { armor, dearmor, inlineDetach, SOP_EXIT, SopError, verifySignatures } from '../src/service/sop.js';

const RUNS = 10_000;
const FIXTURES = join(import.meta.dirname, 'fixtures', 'pgp');
const seeds: Record<string, Uint8Array[]> = {};
let key: openpgp.PrivateKey;
let cert: openpgp.PublicKey;
const counts: string[] = [];

/** A documented outcome: a CaliopError with a row in the error table, or a SopError with a draft exit code. */
function documented(error: unknown): boolean {
  if (isCaliopError(error)) return error.code in ERROR_TABLE;
  if (error instanceof SopError) return Object.values(SOP_EXIT).includes(error.exitCode as never);
  return false;
}

/** Mutations of a seed: flip, overwrite, insert, delete, truncate, splice bytes. */
function mutated(pool: () => Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      seed: fc.nat(),
      edits: fc.array(
        fc.record({ kind: fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate'), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
        { minLength: 1, maxLength: 4 },
      ),
    })
    .map(({ seed, edits }) => {
      const seedsNow = pool();
      let bytes = Array.from(seedsNow[seed % seedsNow.length]!);
      for (const edit of edits) {
        const at = bytes.length === 0 ? 0 : edit.at % bytes.length;
        if (edit.kind === 'flip') bytes[at] = (bytes[at] ?? 0) ^ (1 << (edit.value % 8));
        else if (edit.kind === 'set') bytes[at] = edit.value;
        else if (edit.kind === 'insert') bytes.splice(at, 0, edit.value);
        else if (edit.kind === 'delete') bytes.splice(at, 1);
        else bytes = bytes.slice(0, at);
      }
      return Uint8Array.from(bytes);
    });
}

/** Mutated seeds, and now and then raw random bytes. */
function hostile(name: string): fc.Arbitrary<Uint8Array> {
  return fc.oneof({ weight: 9, arbitrary: mutated(() => seeds[name]!) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) });
}

/** Per case: far above what one case takes (ms even under load), so reaching it means a hang. */
const CASE_LIMIT_MS = 30_000;

async function fuzz(name: string, decoder: (input: Uint8Array) => Promise<unknown>): Promise<void> {
  let ok = 0;
  let refused = 0;
  try {
    await fc.assert(
      fc.asyncProperty(hostile(name), async (input) => {
        try {
          await decoder(input);
          ok += 1;
        } catch (error) {
          if (!documented(error)) throw error;
          refused += 1;
        }
      }),
      { numRuns: RUNS, seed: 42, timeout: CASE_LIMIT_MS },
    );
  } catch (error) {
    // The seeds are made here with fresh randomness (session keys, signatures): fast-check's
    // counterexample names a seed by its index and its edits, so the seeds are kept to replay it.
    const folder = mkdtempSync(join(tmpdir(), `pgp-fuzz-${name}-`));
    seeds[name]!.forEach((seed, index) => writeFileSync(join(folder, `seed-${index}.bin`), seed));
    throw new Error(`${name}: the seeds of this run are in ${folder}\n${(error as Error).message}`, { cause: error });
  }
  counts.push(`${name}: ${ok + refused} cases, ${ok} read, ${refused} refused with a documented error`);
  process.stdout.write(`fuzz ${counts.at(-1)}\n`);
  expect(ok + refused).toBe(RUNS);
}

beforeAll(async () => {
  key = await openpgp.readPrivateKey({ armoredKey: readFileSync(join(FIXTURES, 'ed25519.key.asc'), 'utf8') });
  cert = key.toPublic();
  const text = 'fuzzing, line one\r\nline two\n';
  const message = await openpgp.createMessage({ text });
  const encrypted = await openpgp.encrypt({ message, encryptionKeys: cert, signingKeys: key, format: 'binary' });
  const armoredEncrypted = new TextEncoder().encode(await openpgp.encrypt({ message, encryptionKeys: cert, signingKeys: key }));
  const detached = await openpgp.sign({ message, signingKeys: key, detached: true, format: 'binary' });
  const inline = await openpgp.sign({ message, signingKeys: key, format: 'binary' });
  const clear = new TextEncoder().encode(await openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: key }));
  seeds.message = [encrypted, armoredEncrypted];
  seeds.signature = [detached, new TextEncoder().encode(openpgp.armor(openpgp.enums.armor.signature, detached))];
  seeds.signed = [inline, clear, new TextEncoder().encode(openpgp.armor(openpgp.enums.armor.message, inline))];
  seeds.cert = ['ed25519', 'rsa2048', 'nistp256', 'brainpoolP256r1'].map((family) => readFileSync(join(FIXTURES, `${family}.cert.asc`))).flatMap((armored) => [
    new Uint8Array(armored),
  ]);
  seeds.cert.push((await openpgp.readKey({ armoredKey: readFileSync(join(FIXTURES, 'ed25519.cert.asc'), 'utf8') })).write());
  seeds.sop = [...seeds.signed, ...seeds.signature, ...seeds.cert];
});

describe(`fuzzing every hostile decoder (${RUNS} cases each)`, { timeout: 600_000 }, () => {
  it('decrypt: armored and binary messages', async () => {
    await fuzz('message', (input) => decryptData(input, key, [cert]));
  });

  it('verify: detached signatures over fixed data', async () => {
    const data = new TextEncoder().encode('fuzzing, line one\r\nline two\n');
    await fuzz('signature', (input) => verifyData(data, [cert], input));
  });

  it('verify: inline-signed and clear-signed messages', async () => {
    await fuzz('signed', (input) => verifyData(input, [cert]));
  });

  it('contacts import: certificates, read and checked', async () => {
    await fuzz('cert', async (input) => {
      for (const parsed of await readCerts(input)) await checkCertSignatures(parsed);
    });
  });

  it('sop: armor, dearmor, inline-detach and inline-verify inputs', async () => {
    await fuzz('sop', async (input) => {
      const results = await Promise.allSettled([armor(input), dearmor(input), inlineDetach(input, true), verifySignatures(input, [cert], {})]);
      for (const result of results) if (result.status === 'rejected' && !documented(result.reason)) throw result.reason;
    });
  });
});
