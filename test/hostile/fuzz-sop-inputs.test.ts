// What `caliop sop` is given (docs/sop.md, docs/fuzzing.md third session): certificates,
// keys, signatures and armour as hostile as their author likes, on stdin, in files, in @FD:
// and @ENV:. The service in process on seeded cases (CALIOP_TEST_SEED=n for another; the seed
// and the case are in every failure), each bounded in CPU time per MiB it reads; the real
// `caliop sop` for a handful of inputs, messages and exit codes. Every failure is one of the
// draft's exit codes (docs/sop.md §3), never a TypeError, RangeError or SyntaxError under it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../../scripts/fuzz/prng.js';
import * as sop from '../../src/service/sop.js';
import { temporaryFolder } from '../helpers/caliop.js';
import { cpuMs } from '../helpers/cpu-time.js';

const SEED = Number(process.env.CALIOP_TEST_SEED ?? 20_261_204);
const CALIOP_SOP = resolve(import.meta.dirname, '../../node_modules/.bin/caliop-sop');
const scratch = temporaryFolder('fuzz-sop-inputs');
afterAll(() => scratch.remove());
const encoder = new TextEncoder();
const EXITS = new Set<number>(Object.values(sop.SOP_EXIT));

/** A CPU bound for reading `bytes` of input: linear work is well under it, the square of 1 MiB far over. */
const boundFor = (bytes: number) => 1_000 + 1_500 * (bytes / (1 << 20));

/**
 * Waits until the process is idle again. openpgp.js can reject while its armour stream still
 * runs: 8 MiB of begin lines reject in 22 ms, then 1.7 s of CPU follow (linear, 0.2 s per MiB,
 * measured 2026-12-01). That work is counted in the case that caused it, not in the next one.
 */
async function untilIdle(): Promise<void> {
  for (let rounds = 0; rounds < 12_000; rounds++) {
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const used = process.cpuUsage(before);
    if (used.user + used.system < 1_000) return;
  }
}

/** Runs work; a failure must map to a draft exit code and hide no programming error. Returns the exit name, or 'ok'. */
async function sopOutcome(label: string, bytes: number, work: () => Promise<unknown>): Promise<string> {
  let outcome = 'ok';
  const spent = await cpuMs(async () => {
    try {
      await work();
    } catch (error) {
      const mapped = sop.asSopError(error);
      expect(EXITS.has(mapped.exitCode), `${label}: exit ${mapped.exitCode}`).toBe(true);
      for (let cause: unknown = error, depth = 0; cause !== undefined && depth < 6; cause = (cause as { cause?: unknown }).cause, depth++) {
        // openpgp.js's one TypeError for data: a partial length on a packet that may not have one (RFC 9580 §4.2.1.4).
        if ((cause as Error)?.message === 'This packet type does not support partial lengths.') break;
        if (cause instanceof TypeError || cause instanceof RangeError || cause instanceof SyntaxError) throw new Error(`${label}: a programming error under ${mapped.exitName}: ${(cause as Error).stack}`);
      }
      outcome = mapped.exitName;
    }
    await untilIdle();
  });
  expect(spent, `${label}: ${spent.toFixed(0)} ms of CPU for ${bytes} bytes`).toBeLessThan(boundFor(bytes));
  return outcome;
}

let key: Uint8Array;
let cert: Uint8Array;
let certs: Awaited<ReturnType<typeof sop.readCertList>>;
let signature: Uint8Array;
let message: Uint8Array;
const data = encoder.encode('signed text\n');

beforeAll(async () => {
  key = await sop.generateKey({ userIds: ['Ana <ana@example.org>'], profile: 'rfc4880', signingOnly: false, armor: true });
  cert = await sop.extractCert(key, true);
  certs = await sop.readCertList([cert]);
  const keys = await sop.unlockKeys([key], []);
  signature = (await sop.signDetached(data, keys, 'binary', true)).signature;
  message = await sop.inlineSign(data, keys, 'binary', true);
});

describe('hostile armour and packets to the SOP service (docs/sop.md §2-§3)', () => {
  it('armour with absurd lines: one base64 line of 4 MiB, a header line of 4 MiB, 4 MiB of blanks, headers or begin lines, CR only', async () => {
    const text = new TextDecoder().decode(cert);
    const body = text.split('\n').filter((line) => /^[A-Za-z0-9+/]+=*$/.test(line)).join('');
    const size = 4 << 20;
    const cases: Array<[string, string]> = [
      ['one base64 line', `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n${'A'.repeat(size)}\n-----END PGP PUBLIC KEY BLOCK-----\n`],
      ['a header line', `-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: ${'x'.repeat(size)}\n\n${body}\n-----END PGP PUBLIC KEY BLOCK-----\n`],
      ['blanks in a line', `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n${body.slice(0, 40)}${' '.repeat(size)}${body.slice(40)}\n-----END PGP PUBLIC KEY BLOCK-----\n`],
      ['header lines', `-----BEGIN PGP PUBLIC KEY BLOCK-----\n${'Comment: x\n'.repeat(size / 11)}\n${body}\n-----END PGP PUBLIC KEY BLOCK-----\n`],
      ['begin lines', '-----BEGIN PGP PUBLIC KEY BLOCK-----\n'.repeat(size / 37)],
      ['CR line ends', text.replace(/\n/g, '\r').padEnd(size, '\r')],
      ['a dash line', `${'-'.repeat(size)}\n`],
    ];
    for (const [label, armour] of cases) {
      const input = encoder.encode(armour);
      for (const [what, work] of [
        ['certs', () => sop.readCertList([input])],
        ['keys', () => sop.unlockKeys([input], [])],
        ['dearmor', () => sop.dearmor(input)],
        ['verify', () => sop.verifySignatures(data, certs, { detached: input })],
      ] as const) {
        await sopOutcome(`${label} (${input.length} bytes) as ${what}`, input.length, work as () => Promise<unknown>);
      }
    }
  }, 300_000);

  it(`seeded hostile certificates, keys, signatures and messages (CALIOP_TEST_SEED=${SEED}) end in a result or a draft exit code`, async () => {
    const random = prng(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const seeds = () => [cert, key, signature, message, sop.dearmor(cert), sop.dearmor(signature)];
    const bases = await Promise.all(seeds());
    const edits: Array<(bytes: Uint8Array) => Uint8Array> = [
      (bytes) => bytes.slice(0, Math.floor(random() * bytes.length)),
      (bytes) => {
        const copy = bytes.slice();
        for (let n = 0; n < 1 + Math.floor(random() * 4); n++) copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
        return copy;
      },
      (bytes) => {
        // A packet length of 2^32-1 (a five-octet length, RFC 9580 §4.2.1.3) at a random place.
        const at = Math.floor(random() * bytes.length);
        return Uint8Array.from([...bytes.subarray(0, at), 0xff, 0xff, 0xff, 0xff, 0xff, ...bytes.subarray(at)]);
      },
      (bytes) => {
        const at = Math.floor(random() * bytes.length);
        const run = new Uint8Array(Math.floor(random() * 200_000)).fill(pick([0x20, 0x0a, 0x0d, 0x41, 0x3d, 0x2d, 0x00]));
        return Uint8Array.from([...bytes.subarray(0, at), ...run, ...bytes.subarray(at)]);
      },
      (bytes) => {
        const piece = bytes.subarray(Math.floor(random() * bytes.length));
        const times = 1 + Math.floor(random() * 200);
        const out = new Uint8Array(bytes.length + piece.length * times);
        out.set(bytes);
        for (let n = 0; n < times; n++) out.set(piece, bytes.length + n * piece.length);
        return out;
      },
      (bytes) => Uint8Array.from([...pick(bases), ...bytes]),
    ];
    const counts = new Map<string, number>();
    for (let round = 0; round < 400; round++) {
      let input = pick(bases);
      for (let step = 0, steps = 1 + Math.floor(random() * 3); step < steps; step++) input = edits[Math.floor(random() * edits.length)]!(input);
      const which = pick(['certs', 'keys', 'dearmor', 'armor', 'verify', 'inline-detach', 'extract-cert'] as const);
      const work = {
        certs: () => sop.readCertList([input]),
        keys: () => sop.unlockKeys([input], ['a password']),
        dearmor: () => sop.dearmor(input),
        armor: () => sop.armor(input),
        verify: () => sop.verifySignatures(data, certs, { detached: input }),
        'inline-detach': () => sop.inlineDetach(input, true),
        'extract-cert': () => sop.extractCert(input, true),
      }[which];
      const outcome = await sopOutcome(`seed ${SEED} (CALIOP_TEST_SEED), round ${round}, ${which}, ${input.length} bytes`, input.length, work);
      counts.set(`${which} ${outcome}`, (counts.get(`${which} ${outcome}`) ?? 0) + 1);
    }
    process.stdout.write(`hostile SOP inputs, seed ${SEED}: ${[...counts].sort().map(([outcome, n]) => `${outcome} ${n}`).join(', ')}\n`);
  }, 300_000);
});

describe('caliop sop on hostile inputs: the draft exit codes, one line, no stack trace (docs/sop.md §3)', () => {
  const run = (args: string[], input: string | Uint8Array = '', env: NodeJS.ProcessEnv = {}) => {
    const result = spawnSync(process.execPath, [CALIOP_SOP, ...args], { input, cwd: scratch.path, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    return { status: result.status ?? -1, stderr: result.stderr.toString(), stdout: result.stdout };
  };

  it('a missing @ENV:, a folder or a missing file for a cert, malformed @FD:, garbage and absurd armour on stdin', () => {
    writeFileSync(join(scratch.path, 'ana.cert'), cert);
    writeFileSync(join(scratch.path, 'sig'), signature);
    writeFileSync(join(scratch.path, 'long-line.cert'), `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n${'A'.repeat(8 << 20)}\n-----END PGP PUBLIC KEY BLOCK-----\n`);
    mkdirSync(join(scratch.path, 'a-folder'), { recursive: true });
    const cases: Array<[string, string[], string | Uint8Array, number, RegExp]> = [
      ['@ENV: not set', ['verify', 'sig', '@ENV:CALIOP_NO_SUCH_VARIABLE'], data, 61, /CALIOP_NO_SUCH_VARIABLE is not set/],
      ['a folder as certs', ['verify', 'sig', 'a-folder'], data, 61, /could not read a-folder/],
      ['a missing file', ['encrypt', 'no-such.cert'], data, 61, /could not read no-such\.cert/],
      // Before: "@FD:" read file descriptor 0 (stdin, the data) as the certificates; " 3", "0x3", "1e1" were taken too.
      ['@FD: without a number', ['verify', 'sig', '@FD:'], data, 71, /@FD: is not a file descriptor/],
      ['@FD: in hexadecimal', ['verify', 'sig', '@FD:0x0'], data, 71, /is not a file descriptor/],
      ['@FD: not open', ['verify', 'sig', '@FD:987'], data, 61, /could not read file descriptor 987/],
      ['another @ prefix', ['verify', 'sig', '@FILE:ana.cert'], data, 71, /unsupported special prefix/],
      ['garbage keys on stdin', ['extract-cert'], new Uint8Array(4096).fill(0xa5), 41, /./],
      ['an 8 MiB base64 line as certs', ['verify', 'sig', 'long-line.cert'], data, 41, /./],
      ['a 16 MiB header line of escapes as certs', ['encrypt', '@FD:0'], `-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: ${'\u001b[2J'.repeat(4 << 20)}\n\n@@@@\n-----END PGP PUBLIC KEY BLOCK-----\n`, 41, /./],
      // Before: openpgp.js skipped what is not base64, and dearmor gave nothing with exit 0.
      ['armour whose body is not base64', ['dearmor'], '-----BEGIN PGP MESSAGE-----\n\n@@@@\n-----END PGP MESSAGE-----\n', 41, /holds no OpenPGP packet/],
      ['16 MiB of begin lines on stdin', ['extract-cert'], '-----BEGIN PGP PRIVATE KEY BLOCK-----\n'.repeat((16 << 20) / 38), 41, /./],
    ];
    for (const [label, args, input, status, message] of cases) {
      const result = run(args, input);
      expect(result.status, `${label}: ${result.stderr}`).toBe(status);
      expect(result.stderr, label).toMatch(/^caliop sop: error: /);
      expect(result.stderr, label).toMatch(message);
      expect(result.stderr, label).not.toMatch(/\u001b|\n\s+at /);
      expect(result.stderr.split('\n').length, label).toBeLessThanOrEqual(3);
      expect(result.stdout.length, label).toBe(0);
    }
  }, 120_000);
});
