// Issue 12, "Hostile input": the decoders a hostile party reaches besides OpenPGP
// (test/pgp-fuzz.test.ts covers those), each fed 10,000 mutated or generated inputs in
// process: the vault container (docs/vault-format.md §6, parse and open with a fixed key,
// so no Argon2id runs per case), the recovery sheet and share sheets (docs/ceremony.md
// §7-§8), the stick MANIFEST (docs/manifest.md §2) and config.json (docs/stick-layout.md
// §3), the relay's answers as the real RelayClient reads them over loopback HTTP
// (docs/api.md §5-§6), and inbound mail: readMailContent (docs/message-payload.md) and the
// gateway's pure inbound parser (docs/gateway.md §3.5). Each input ends in a result or in
// a CaliopError with a row in the error table (the decoder's documented refusal):
// never another exception. A hang fails the run: each case has fast-check's per-case
// timeout, far above what one case takes even on a starved machine (a limit on the whole
// run's wall time failed under load: 10,000 loopback requests took 40 s at load 30).
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_TABLE, isCaliopError, type ErrorCode } from '../../src/errors.js';
import { parseHeaderFields, splitHeaderAndBody, headerValue } from '../../src/api/mime-fields.js';
import { findArrivedCiphertext, outerHeadersOf, receivedClaims, removeHeaderFields } from '../../src/relay/gateway/inbound-mime.js';
import { readMailContent } from '../../src/core/mail-content.js';
import { MESSAGE_LIMITS } from '../../src/core/message-limits.js';
import { formatRecoverySheet, formatShareSheet, parseRecoverySheet, phraseFromSeed } from '../../src/core/recovery-sheet.js';
import { combineShares, splitSeed } from '../../src/core/seed-shares.js';
import { formatManifest, parseManifest } from '../../src/core/stick-manifest.js';
import { KDF_CEILING, kdfParamsProblem, openParsedVault, parseVault, sealVault, UNSAFE_TEST_KDF } from '../../src/core/vault-format.js';
import { RelayClient } from '../../src/edges/relay-client.js';
import { readStickConfig } from '../../src/edges/stick-config.js';
import { stickAt } from '../../src/edges/stick-locator.js';

const RUNS = 10_000;
/** Per case: far above what one cheap case takes (ms even under load), so reaching it means a hang. */
const CASE_LIMIT_MS = 30_000;
/** Per decoder, the test's budget: 10,000 cases on a machine whose two cores are shared with a load of 30+. */
const BUDGET_MS = 600_000;
const encoder = new TextEncoder();
const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

/** Mutations of a seed: flip, overwrite, insert, delete, truncate, duplicate a slice. */
function mutated(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      seed: fc.nat(),
      edits: fc.array(
        fc.record({ kind: fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate', 'repeat'), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
        { minLength: 1, maxLength: 4 },
      ),
    })
    .map(({ seed, edits }) => {
      let bytes = Array.from(seeds[seed % seeds.length]!);
      for (const edit of edits) {
        const at = bytes.length === 0 ? 0 : edit.at % bytes.length;
        if (edit.kind === 'flip') bytes[at] = (bytes[at] ?? 0) ^ (1 << (edit.value % 8));
        else if (edit.kind === 'set') bytes[at] = edit.value;
        else if (edit.kind === 'insert') bytes.splice(at, 0, edit.value);
        else if (edit.kind === 'delete') bytes.splice(at, 1);
        else if (edit.kind === 'truncate') bytes = bytes.slice(0, at);
        else bytes.splice(at, 0, ...bytes.slice(at, at + 1 + edit.value));
      }
      return Uint8Array.from(bytes);
    });
}

/** Mutated seeds mostly; now and then arbitrary bytes, or arbitrary text. */
function hostile(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 8, arbitrary: mutated(seeds) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }).map((text) => encoder.encode(text)) },
  );
}

const counts: string[] = [];

/**
 * Runs decoder over RUNS hostile inputs. `refusal` lists the error codes the decoder
 * documents; anything else (another code, a TypeError, a RangeError) fails the run.
 */
async function fuzz(
  name: string,
  seeds: readonly Uint8Array[],
  refusal: readonly ErrorCode[],
  decoder: (input: Uint8Array) => unknown,
  options: { mustRefuseSome?: boolean } = {},
): Promise<void> {
  let accepted = 0;
  let refused = 0;
  const byCode = new Map<string, number>();
  const result = await fc.check(
    fc.asyncProperty(hostile(seeds), async (input) => {
      try {
        await decoder(input);
        accepted += 1;
      } catch (error) {
        if (!isCaliopError(error) || !(error.code in ERROR_TABLE) || !refusal.includes(error.code)) throw error;
        refused += 1;
        byCode.set(error.code, (byCode.get(error.code) ?? 0) + 1);
      }
    }),
    { numRuns: RUNS, seed: 12, timeout: CASE_LIMIT_MS },
  );
  if (result.failed) throw new Error(`${name}: ${fc.defaultReportMessage(result) ?? 'interrupted'}`);
  const codes = [...byCode].map(([code, n]) => `${code} ${n}`).join(', ');
  counts.push(`${name}: ${accepted + refused} cases, ${accepted} accepted, ${refused} refused (${codes})`);
  process.stdout.write(`fuzz ${counts.at(-1)}\n`);
  expect(accepted + refused).toBe(RUNS);
  // A strict format refuses most mutations: the refusal path ran, not only the happy one.
  if (options.mustRefuseSome ?? true) expect(refused).toBeGreaterThan(0);
}

afterAll(() => {
  console.log(`hostile formats fuzz:\n  ${counts.join('\n  ')}`);
});

describe('hostile input to the vault container (docs/vault-format.md §6)', () => {
  it('parseVault and openParsedVault end in a vault or a documented refusal, absurd KDF parameters refused before any work', async () => {
    const key = new Uint8Array(32).fill(7);
    const seeds = [1, 100, 2000].map((size) => {
      const header = { version: 1 as const, kdf: { ...UNSAFE_TEST_KDF }, salt: new Uint8Array(16).fill(size & 0xff) };
      return sealVault(header, key, randomBytes(24), randomBytes(size));
    });
    // A header whose parameters are past the ceiling, with a valid checksum: refused at parse.
    // (encodeVaultHeader refuses to write one, so the bytes are set by hand: §2 offsets 11-22.)
    const absurd = sealVault({ version: 1, kdf: { ...UNSAFE_TEST_KDF }, salt: new Uint8Array(16) }, key, new Uint8Array(24), new Uint8Array(5));
    const headerEnd = 24 + 16 + 4;
    absurd.fill(0xff, 11, 23);
    absurd.set(sha256(absurd.subarray(0, headerEnd)), headerEnd);
    expect(() => parseVault(absurd)).toThrow(/memory|passes|parallelism|lane/);
    await fuzz('vault file', [...seeds, absurd], ['vault_truncated', 'vault_unsupported_version', 'vault_tampered', 'wrong_passphrase'], (input) => {
      const parsed = parseVault(input);
      // Whatever a header passing §6 says, Argon2id would run within the ceiling.
      expect(kdfParamsProblem(parsed.header.kdf)).toBeUndefined();
      expect(parsed.header.kdf.memoryKiB).toBeLessThanOrEqual(KDF_CEILING.memoryKiB);
      expect(parsed.header.kdf.passes).toBeLessThanOrEqual(KDF_CEILING.passes);
      return openParsedVault(parsed, key);
    });
  }, BUDGET_MS);
});

describe('hostile recovery sheets and shares (docs/ceremony.md §7-§8)', () => {
  const facts = { creationDate: new Date('2026-03-01T10:00:00Z'), name: 'Ana Example', email: 'ana@example.org', fingerprint: '0123456789ABCDEF0123456789ABCDEF01234567' };
  let sheets: Uint8Array[] = [];
  let shareWords: string[][] = [];

  beforeAll(async () => {
    const seed = new Uint8Array(32).map((_, i) => i * 7);
    shareWords = await splitSeed(seed, 3, 2);
    const shareSheets = shareWords.map((words, index) => formatShareSheet({ ...facts, words, shareNumber: index + 1, shareCount: 3, threshold: 2 }));
    sheets = [
      formatRecoverySheet({ ...facts, words: phraseFromSeed(seed) }),
      `created: 2026-03-01\n${phraseFromSeed(seed).map((word, i) => `${i + 1}. ${word}`).join('\n')}\n`,
      shareSheets[0]! + shareSheets[2]!,
      shareSheets.join('\n'),
    ].map((text) => encoder.encode(text));
  });

  it('parseRecoverySheet ends in a seed or recovery_invalid', async () => {
    await fuzz('recovery sheet', sheets, ['recovery_invalid'], (input) => parseRecoverySheet(utf8(input)));
  }, BUDGET_MS);

  it('combineShares ends in a seed or recovery_invalid', async () => {
    // The words of two shares, one per line; mutations cut, join, swap and misspell words.
    const seeds = [encoder.encode(`${shareWords[0]!.join(' ')}\n${shareWords[1]!.join(' ')}`), encoder.encode(`${shareWords[2]!.join(' ')}\n${shareWords[0]!.join(' ')}\n${shareWords[1]!.join(' ')}`)];
    await fuzz('seed shares', seeds, ['recovery_invalid'], (input) =>
      combineShares(utf8(input).split('\n').map((line) => line.split(' ').filter((word) => word !== ''))),
    );
  }, BUDGET_MS);
});

describe('hostile stick files (docs/manifest.md §2, docs/stick-layout.md §3)', () => {
  it('parseManifest ends in entries or manifest_invalid', async () => {
    const hash = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
    const seeds = [
      formatManifest([
        { path: 'README.txt', size: 120, sha256: hash(1) },
        { path: 'caliop-linux-x64', size: 98_000_000, sha256: hash(2) },
        { path: 'config.json', size: 64, sha256: hash(3) },
      ]),
      formatManifest([]),
    ].map((text) => encoder.encode(text));
    await fuzz('stick MANIFEST', seeds, ['manifest_invalid'], (input) => parseManifest(utf8(input)));
  }, BUDGET_MS);

  it('readStickConfig ends in an object or file_unreadable', async () => {
    // In memory when the machine has /dev/shm: 10,000 rewrites of a file on a shared disk are slow.
    const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'caliop-fuzz-config-'));
    try {
      const stick = stickAt(root, '--stick');
      const seeds = [
        { relay: { url: 'https://relay.example.org', pin: `sha256/${'A'.repeat(43)}=` }, releaseCert: '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjME\n-----END PGP PUBLIC KEY BLOCK-----\n' },
        { relay: { url: 'https://relay.example.org:8443' } },
        {},
      ].map((config) => encoder.encode(JSON.stringify(config, null, 2)));
      await fuzz('stick config.json', seeds, ['file_unreadable'], (input) => {
        writeFileSync(stick.configPath, input);
        const config = readStickConfig(stick);
        expect(typeof config === 'object' && config !== null && !Array.isArray(config)).toBe(true);
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, BUDGET_MS);
});

describe("hostile relay answers, as the client reads them (docs/api.md §5-§6)", () => {
  let server: http.Server;
  let client: RelayClient;
  let answer = { status: 200, body: Buffer.alloc(0) };

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(answer.status, { 'content-type': 'application/json' });
        response.end(answer.body);
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    // The client plans its requests from the limits an answer publishes (docs/api.md §4.4);
    // what is fuzzed here is the reading of answers, so its clock runs a minute per reading and
    // the planned bucket is always full (pacing has its own tests in relay/rate-limit).
    let clock = Date.now();
    const now = (): Date => new Date((clock += 60_000));
    client = new RelayClient({ url: `http://127.0.0.1:${port}`, deviceSecretKey: new Uint8Array(32).fill(3), domain: 'example.org', timeoutMs: 20_000, now });
  });

  afterAll(async () => {
    client?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('RelayClient.info and .list end in a parsed answer or a documented relay error', async () => {
    const seeds = [
      { apiVersion: 1, domain: 'example.org', inviteRequired: false, limits: { maxMessageBytes: 26_214_400, maxRecipients: 50, maxPageSize: 100, maxBatchBytes: 8_388_608, rateBurst: 60, ratePerMinute: 120 } },
      { messages: [], nextCursor: null },
      { error: { code: 'unknown_recipients', message: 'no such mailbox' } },
    ].map((value) => encoder.encode(JSON.stringify(value)));
    // No 429: a hostile Retry-After is bounded (MAX_RATE_WAIT_S) but would only make the run slow.
    const statuses = [200, 200, 200, 200, 400, 401, 403, 404, 413, 422, 500, 502];
    let call = 0;
    await fuzz('relay answers', seeds, ['relay_bad_request', 'relay_refused', 'relay_too_large', 'relay_unreachable', 'message_refused', 'unknown_recipient', 'message_not_found'], async (input) => {
      call += 1;
      answer = { status: statuses[(input.length + call) % statuses.length]!, body: Buffer.from(input) };
      if (call % 2 === 0) return client.info();
      return client.list({ limit: 10 });
    });
  }, BUDGET_MS);
});

describe('hostile inbound mail (docs/message-payload.md, docs/gateway.md §3.5)', () => {
  const armored = '-----BEGIN PGP MESSAGE-----\n\nwV4DAAAAAAAAAAASAQdA\n=abcd\n-----END PGP MESSAGE-----\n';
  const mails = [
    'From: Ana <ana@example.org>\r\nTo: bo@example.net\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <1@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello =C3=A9\r\n',
    'From: ana@example.org\r\nReceived: from mx.example.org (mx.example.org [192.0.2.1]) by relay.example.net with ESMTPS; Mon, 2 Mar 2026 10:00:00 +0000\r\nContent-Type: multipart/alternative; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b1\r\nContent-Type: text/html\r\n\r\n<p>html &amp; <b>bold</b></p>\r\n--b1--\r\n',
    'From: ana@example.org\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--outer\r\nContent-Type: application/octet-stream; name="a.bin"\r\nContent-Disposition: attachment; filename*=utf-8\'\'r%C3%A9sum%C3%A9.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgc=\r\n--outer\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@example.com\r\nSubject: inner\r\n\r\ninner body\r\n--outer--\r\n',
    `From: ana@example.org\r\nContent-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="enc"\r\n\r\n--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--enc\r\nContent-Type: application/octet-stream\r\n\r\n${armored}\r\n--enc--\r\n`,
    'From: ana@example.org\r\nContent-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="s"\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n--s\r\nContent-Type: application/pgp-signature\r\n\r\n-----BEGIN PGP SIGNATURE-----\r\n\r\nwnUE\r\n-----END PGP SIGNATURE-----\r\n--s--\r\n',
    `From: ana@example.org\r\nAutocrypt: addr=ana@example.org; keydata=xjME\r\nContent-Type: text/plain\r\n\r\n${armored}`,
  ].map((text) => encoder.encode(text));

  it('readMailContent ends in content or a documented refusal', async () => {
    // A lenient reader (docs/message-payload.md): damaged mail is shown as well as it can be; it
    // refuses only headers past the limit (docs/limits.md §2.3), which small cases never reach,
    // so that refusal is checked once here with headers past MESSAGE_LIMITS.maxHeaderBytes (counted without line ends).
    const longHeaders = encoder.encode(`From: ana@example.org\r\n${'X-Padding: 0123456789abcdef0123456789abcdef\r\n'.repeat(Math.ceil(MESSAGE_LIMITS.maxHeaderBytes / 40))}\r\nbody\r\n`);
    await expect(readMailContent(longHeaders)).rejects.toMatchObject({ code: 'message_over_limit' });
    await fuzz('readMailContent', mails, ['message_over_limit'], (input) => readMailContent(input), { mustRefuseSome: false });
  }, BUDGET_MS);

  it("the gateway's inbound parser (as smtp-gateway.ts calls it) never throws", async () => {
    await fuzz('gateway inbound MIME', mails, [], (input) => {
      const asText = latin1(input);
      const fields = parseHeaderFields(splitHeaderAndBody(asText).headerText);
      headerValue(fields, 'From');
      findArrivedCiphertext(asText);
      receivedClaims(fields);
      outerHeadersOf(fields);
      const cleaned = removeHeaderFields(asText, (field) => field.name.toLowerCase() === 'received');
      expect(cleaned.length).toBeLessThanOrEqual(asText.length);
    }, { mustRefuseSome: false });
  }, BUDGET_MS);
});
