// A fuzzer for the decoders hostile input reaches (docs/fuzzing.md): mutated seeds fed to one
// target for N minutes, each case in a child process watched by this one. A case that takes
// longer than --case-seconds (a hang, or unbounded CPU), that kills the child (a crash, memory
// past --max-mib), or that ends in anything but a result or a documented error (a CaliopError
// with a row in src/errors.ts) is saved under --out with its case number, to be replayed:
//
//   npm run -s build && node build/scripts/fuzz/fuzz.js decrypt --minutes 5 [--seed 7] [--out DIR]
//   node build/scripts/fuzz/fuzz.js decrypt --replay DIR/hang-decrypt-7-1234.bin
//
// Targets: decrypt (decryptStream, the fast path and openpgp.js, every vector of
// test/vectors/streamed-decryption and messages made by openpgp.js), whole (decryptData and
// decryptWholeFast, as sync reads a small message), armor (the streamed armor reader), mime
// (the streamed MIME splitter, then readMailContent and the attachment names, as sync reads a
// large message, and readMailContent of the whole as it reads a small one), cert (contacts
// import's readCerts and checkCertSignatures, Autocrypt headers). Not a test: CI never runs it.
import { fork, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { ERROR_TABLE, isCaliopError } from '../../src/errors.js';
import { prng } from './prng.js';
import { gatewayTarget, relayTarget, sopTarget } from './outside-targets.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const VECTORS = join(ROOT, 'test', 'vectors', 'streamed-decryption');
const PGP_FIXTURES = join(ROOT, 'test', 'fixtures', 'pgp');

interface Target {
  /** The seeds, made once per run into the output folder (openpgp.js's messages use fresh randomness). */
  prepare(folder: string): Promise<void>;
  load(folder: string): Promise<Uint8Array[]>;
  /** Tokens worth inserting (boundaries, armor lines, MIME fields). */
  readonly tokens: readonly string[];
  run(input: Uint8Array, random: () => number): Promise<unknown>;
}

const encoder = new TextEncoder();

/** Mutations: flip, set, insert, delete, truncate, splice another seed, repeat a chunk, insert a token. */
export function mutate(seeds: readonly Uint8Array[], tokens: readonly string[], random: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(random() * n);
  let bytes = Buffer.from(seeds[pick(seeds.length)]!);
  for (let edits = 1 + pick(random() < 0.2 ? 12 : 4); edits > 0; edits--) {
    const at = bytes.length === 0 ? 0 : pick(bytes.length);
    const kind = pick(9);
    if (kind === 0 && bytes.length > 0) bytes[at] = bytes[at]! ^ (1 << pick(8));
    else if (kind === 1 && bytes.length > 0) bytes[at] = random() < 0.3 ? [0, 0xff, 0x0a, 0x0d, 0x2d, 0x3d, 0x20, 0x80][pick(8)]! : pick(256);
    else if (kind === 2) bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([pick(256)]), bytes.subarray(at)]);
    else if (kind === 3) bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + pick(random() < 0.1 ? 4096 : 4))]);
    else if (kind === 4 && random() < 0.5) bytes = bytes.subarray(0, at);
    else if (kind === 5) {
      const other = seeds[pick(seeds.length)]!;
      const from = pick(other.length + 1);
      bytes = Buffer.concat([bytes.subarray(0, at), other.subarray(from, from + pick(random() < 0.2 ? other.length : 512))]);
    } else if (kind === 6) {
      const length = 1 + pick(random() < 0.2 ? 4096 : 64);
      const chunk = bytes.subarray(at, at + length);
      const times = 1 + pick(random() < 0.1 ? 2000 : 16);
      bytes = Buffer.concat([bytes.subarray(0, at), ...Array<Buffer>(times).fill(chunk), bytes.subarray(at)]);
    } else if (kind === 7 && tokens.length > 0) {
      bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(tokens[pick(tokens.length)]!, 'latin1'), bytes.subarray(at)]);
    } else if (kind === 8 && bytes.length > 1) {
      // Overwrite a 32-bit length-like value.
      const value = [0, 1, 0x7f, 0xff, 0xffff, 0x7fffffff, 0xffffffff, pick(2 ** 32)][pick(8)]!;
      bytes = Buffer.from(bytes);
      for (let i = 0; i < 4 && at + i < bytes.length; i++) bytes[at + i] = (value >>> (8 * (3 - i))) & 0xff;
    }
  }
  return new Uint8Array(bytes);
}

/** What a case chose (piece size, key, options), printed by --replay. */
const chosen: unknown[] = [];

async function* pieces(bytes: Uint8Array, random: () => number): AsyncGenerator<Uint8Array> {
  const size = random() < 0.3 ? 1 + Math.floor(random() * 16) : 1 + Math.floor(random() * 70_000);
  chosen.push({ pieces: size });
  for (let at = 0; at < bytes.length; at += size) yield bytes.slice(at, at + size);
}

async function pgpKeys(folder: string) {
  const stored = await openpgp.readPrivateKey({ armoredKey: readFileSync(join(VECTORS, 'key.asc'), 'utf8') });
  const key = stored.isDecrypted() ? stored : await openpgp.decryptKey({ privateKey: stored, passphrase: '' });
  const v6 = await openpgp.readPrivateKey({ armoredKey: readFileSync(join(folder, 'v6.key.asc'), 'utf8') });
  return { key, cert: key.toPublic(), v6 };
}

async function preparePgp(folder: string): Promise<void> {
  if (existsSync(join(folder, 'v6.key.asc'))) return;
  const stored = await openpgp.readPrivateKey({ armoredKey: readFileSync(join(VECTORS, 'key.asc'), 'utf8') });
  const key = stored.isDecrypted() ? stored : await openpgp.decryptKey({ privateKey: stored, passphrase: '' });
  const cert = key.toPublic();
  const v6 = (await openpgp.generateKey({ type: 'curve25519', userIDs: [{ email: 'v6@example.org' }], format: 'object', config: { v6Keys: true, aeadProtect: true } })).privateKey;
  writeFileSync(join(folder, 'v6.key.asc'), v6.armor());
  // Small plaintexts: a case must be cheap; the vectors hold the large ones.
  const plain = readFileSync(join(VECTORS, 'plain-text.bin')).subarray(0, 20_000);
  const v1 = { aeadProtect: false };
  const made: Record<string, Uint8Array | string> = {};
  const message = () => openpgp.createMessage({ binary: new Uint8Array(plain), format: 'binary' });
  made['made-signed.gpg'] = await openpgp.encrypt({ message: await message(), encryptionKeys: cert, signingKeys: key, format: 'binary', config: v1 });
  made['made-signed.asc'] = await openpgp.encrypt({ message: await message(), encryptionKeys: cert, signingKeys: key, config: v1 });
  made['made-zlib.gpg'] = await openpgp.encrypt({ message: await message(), encryptionKeys: cert, signingKeys: key, format: 'binary', config: { ...v1, preferredCompressionAlgorithm: openpgp.enums.compression.zlib } });
  made['made-zip.gpg'] = await openpgp.encrypt({ message: await message(), encryptionKeys: cert, format: 'binary', config: { ...v1, preferredCompressionAlgorithm: openpgp.enums.compression.zip } });
  made['made-text.gpg'] = await openpgp.encrypt({ message: await openpgp.createMessage({ text: plain.toString('latin1') }), encryptionKeys: cert, signingKeys: key, format: 'binary', config: v1 });
  made['made-seipdv2.gpg'] = await openpgp.encrypt({ message: await message(), encryptionKeys: v6.toPublic(), signingKeys: key, format: 'binary', config: { aeadProtect: true } });
  made['made-seipdv2-zlib.gpg'] = await openpgp.encrypt({ message: await message(), encryptionKeys: v6.toPublic(), format: 'binary', config: { aeadProtect: true, preferredCompressionAlgorithm: openpgp.enums.compression.zlib } });
  made['made-password.gpg'] = await openpgp.encrypt({ message: await message(), encryptionKeys: cert, passwords: ['x'], format: 'binary', config: v1 });
  mkdirSync(join(folder, 'seeds'), { recursive: true });
  for (const [name, bytes] of Object.entries(made)) writeFileSync(join(folder, 'seeds', name), bytes);
  for (const name of readdirSync(VECTORS)) if (/\.(gpg|pgp|asc)$/.test(name) && name !== 'key.asc') copyFileSync(join(VECTORS, name), join(folder, 'seeds', name));
}

function loadSeeds(folder: string, filter: (name: string) => boolean = () => true, cap = 200_000): Uint8Array[] {
  return readdirSync(join(folder, 'seeds'))
    .filter(filter)
    .sort()
    .map((name) => new Uint8Array(readFileSync(join(folder, 'seeds', name))))
    .filter((bytes) => bytes.length <= cap);
}

const ARMOR_TOKENS = ['-----BEGIN PGP MESSAGE-----\n', '-----END PGP MESSAGE-----\n', '\n=', '\r\n', 'Version: x\n', '\n\n', '-----BEGIN PGP SIGNATURE-----\n', '====', '-----'];

let pgpKeysOnce: ReturnType<typeof pgpKeys> | undefined;

const TARGETS: Record<string, Target> = {
  decrypt: {
    prepare: preparePgp,
    load: async (folder) => {
      pgpKeysOnce = pgpKeys(folder);
      await pgpKeysOnce;
      return loadSeeds(folder);
    },
    tokens: ARMOR_TOKENS,
    async run(input, random) {
      const { decryptStream } = await import('../../src/service/pgp-stream.js');
      const { MESSAGE_LIMITS } = await import('../../src/core/message-limits.js');
      const { key, cert, v6 } = await pgpKeysOnce!;
      let given = 0;
      const options = {
        decryptionKey: random() < 0.8 ? 'gpg' : 'v6',
        ...(random() < 0.5 ? { maxDecompressedBytes: MESSAGE_LIMITS.maxDecompressedBytes } : {}),
        ...(random() < 0.3 ? { chunkBytes: 65_536, holdBackBytes: 0 } : {}),
      };
      chosen.push(options);
      await decryptStream({
        ...options,
        input: pieces(input, random),
        decryptionKey: options.decryptionKey === 'gpg' ? key : v6,
        verificationKeys: [cert],
        destination: { sink: async (chunk) => void (given += chunk.byteLength) },
      });
      return given;
    },
  },
  whole: {
    prepare: preparePgp,
    load: async (folder) => {
      pgpKeysOnce = pgpKeys(folder);
      await pgpKeysOnce;
      return loadSeeds(folder, () => true, 400_000);
    },
    tokens: ARMOR_TOKENS,
    async run(input, random) {
      const { decryptData, decryptWholeFast } = await import('../../src/service/pgp.js');
      const { key, cert, v6 } = await pgpKeysOnce!;
      const which = random() < 0.8 ? key : v6;
      const fast = random() < 0.5;
      chosen.push({ key: which === key ? 'gpg' : 'v6', fast });
      if (fast) return decryptWholeFast(input, which);
      return decryptData(input, which, [cert]);
    },
  },
  armor: {
    prepare: preparePgp,
    load: async (folder) => loadSeeds(folder, (name) => name.endsWith('.asc')),
    tokens: ARMOR_TOKENS,
    async run(input, random) {
      const { dearmored } = await import('../../src/core/openpgp-armor-stream.js');
      let total = 0;
      for await (const chunk of dearmored(pieces(input, random))) total += chunk.byteLength;
      return total;
    },
  },
  mime: {
    async prepare(folder) {
      mkdirSync(join(folder, 'seeds'), { recursive: true });
      for (const [name, text] of Object.entries(mimeSeeds())) writeFileSync(join(folder, 'seeds', name), Buffer.from(text, 'latin1'));
    },
    load: async (folder) => loadSeeds(folder),
    tokens: ['\r\n', '\n', '--b1', '--b1--', '--b2\r\n', '\r\n\r\n', 'Content-Type: multipart/mixed; boundary=b1\r\n', 'Content-Type: message/rfc822\r\n', 'Content-Transfer-Encoding: base64\r\n', 'Content-Transfer-Encoding: quoted-printable\r\n', "filename*0*=utf-8''a%", 'filename*1=b', '=?utf-8?b?', '=?utf-8?q?', '?=', '=\r\n', '=3D', '\t', ' ', '"', ';', 'boundary="', 'Content-Disposition: attachment\r\n', 'Content-Type: multipart/signed; protocol="application/pgp-signature"; micalg=pgp-sha256; boundary=b1\r\n'],
    async run(input, random) {
      const { MimeStreamSplitter } = await import('../../src/core/mime-stream.js');
      const { readMailContent, listStreamedAttachments, attachmentNameIn } = await import('../../src/core/mail-content.js');
      if (random() < 0.3) return readMailContent(input);
      const names: Promise<string>[] = [];
      let stored = 0;
      const hashed = { update: (bytes: Uint8Array) => void (stored += bytes.byteLength) };
      const splitter = new MimeStreamSplitter({
        openAttachment: async (head) => ({ write: async (decoded) => void (stored += decoded.byteLength), end: async () => void names.push(attachmentNameIn(head.headerText)) }),
        openSignedData: () => hashed,
        ...(random() < 0.3 ? { maxTextBytes: 1 + Math.floor(random() * 4096) } : {}),
      });
      for await (const chunk of pieces(input, random)) await splitter.write(chunk);
      const split = await splitter.finish();
      const content = await readMailContent(split.kept);
      const listed = await listStreamedAttachments(split.scope);
      await Promise.all(names);
      return { content, listed, stored };
    },
  },
  cert: {
    async prepare(folder) {
      mkdirSync(join(folder, 'seeds'), { recursive: true });
      for (const name of readdirSync(PGP_FIXTURES)) if (name.endsWith('.cert.asc')) {
        const armored = readFileSync(join(PGP_FIXTURES, name), 'utf8');
        writeFileSync(join(folder, 'seeds', name), armored);
        const key = await openpgp.readKey({ armoredKey: armored });
        writeFileSync(join(folder, 'seeds', name.replace('.asc', '.bin')), key.write());
        // An Autocrypt header carrying it (Autocrypt Level 1 §2.1).
        const keydata = Buffer.from(key.write()).toString('base64').replace(/(.{76})/g, '$1\r\n ');
        writeFileSync(join(folder, 'seeds', name.replace('.cert.asc', '.autocrypt')), `addr=a@example.org; prefer-encrypt=mutual; keydata=${keydata}`);
      }
    },
    load: async (folder) => loadSeeds(folder),
    tokens: ARMOR_TOKENS.concat(['-----BEGIN PGP PUBLIC KEY BLOCK-----\n', '-----END PGP PUBLIC KEY BLOCK-----\n', '; keydata=', 'addr=', '_x=']),
    async run(input) {
      const { readCerts, checkCertSignatures } = await import('../../src/service/pgp.js');
      const { parseAutocryptHeader } = await import('../../src/core/autocrypt.js');
      const text = Buffer.from(input).toString('latin1');
      if (text.startsWith('addr=') || text.includes('keydata=')) {
        const header = parseAutocryptHeader(text);
        if (header === null) return null;
        for (const parsed of await readCerts(header.keydata)) await checkCertSignatures(parsed);
        return header;
      }
      const out = [];
      for (const parsed of await readCerts(input)) out.push(await checkCertSignatures(parsed));
      return out;
    },
  },
  gateway: gatewayTarget(mimeSeeds()),
  relay: relayTarget(),
  sop: sopTarget(PGP_FIXTURES),
};

function mimeSeeds(): Record<string, string> {
  const b64 = (text: string) => Buffer.from(text).toString('base64').replace(/(.{76})/g, '$1\r\n');
  const head = 'From: Ana <ana@example.org>\r\nTo: bob@example.org\r\nSubject: =?UTF-8?Q?r=C3=A9sum=C3=A9?=\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.org>\r\nMIME-Version: 1.0\r\n';
  const attachment = Buffer.alloc(3000, 'pdf data ').toString();
  const mixed = [
    head + 'Content-Type: multipart/mixed; boundary="b1"',
    '',
    'preamble',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Bonjour =C3=A0 toi, une ligne tr=\r\nop longue.',
    '--b1',
    'Content-Type: application/pdf; name="a.pdf"',
    "Content-Disposition: attachment; filename*0*=utf-8''r%C3%A9sum; filename*1=\"e.pdf\"",
    'Content-Transfer-Encoding: base64',
    '',
    b64(attachment),
    '--b1',
    'Content-Type: message/rfc822',
    '',
    head + 'Content-Type: multipart/alternative; boundary=b2',
    '',
    '--b2',
    'Content-Type: text/plain',
    '',
    'inner text',
    '--b2',
    'Content-Type: text/html',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    '<p>inner =3D html</p>',
    '--b2--',
    '--b1',
    'Content-Type: text/plain; name=notes.txt',
    'Content-Disposition: attachment; filename="notes.txt"',
    '',
    'an attached text',
    '--b1--',
    'epilogue',
    '',
  ].join('\r\n');
  const signed = [
    head + 'Content-Type: multipart/signed; protocol="application/pgp-signature"; micalg=pgp-sha256; boundary="s1"',
    '',
    '--s1',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain',
    '',
    'signed text',
    '--b1',
    'Content-Type: application/octet-stream',
    'Content-Disposition: attachment; filename=data.bin',
    'Content-Transfer-Encoding: base64',
    '',
    b64('0123456789'.repeat(200)),
    '--b1--',
    '',
    '--s1',
    'Content-Type: application/pgp-signature',
    '',
    '-----BEGIN PGP SIGNATURE-----',
    '',
    'iHUEARYKAB0WIQQAAAAAAAAAAAAAAAAAAAAAAAAAAAUCZ2g0AAAKCRAAAAAAAAAAAA==',
    '=AAAA',
    '-----END PGP SIGNATURE-----',
    '--s1--',
    '',
  ].join('\r\n');
  const report = [
    head + 'Content-Type: multipart/report; report-type=delivery-status; boundary=r1',
    '',
    '--r1',
    'Content-Type: text/plain',
    '',
    'not delivered',
    '--r1',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.org',
    '',
    'Final-Recipient: rfc822; x@example.org',
    'Action: failed',
    '--r1',
    'Content-Type: message/rfc822',
    '',
    head + '\r\nthe original',
    '--r1--',
    '',
  ].join('\r\n');
  const plain = head + 'Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nR=E9sum=E9\r\n';
  return { 'mixed.eml': mixed, 'mixed-lf.eml': mixed.replace(/\r\n/g, '\n'), 'signed.eml': signed, 'report.eml': report, 'plain.eml': plain, 'nohead.eml': 'just a body\r\n' };
}

/** A documented outcome: a CaliopError with a row in the error table. */
function documented(error: unknown): boolean {
  return isCaliopError(error) && error.code in ERROR_TABLE;
}

function caseRandom(seed: number, index: number): () => number {
  return prng(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
}

function option(args: string[], name: string, fallback: string): string {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1]!;
}

async function child(): Promise<void> {
  const [, , , name, folder, seedText, startText] = process.argv;
  const target = TARGETS[name!]!;
  const seeds = await target.load(folder!);
  const seed = Number(seedText);
  for (let index = Number(startText); ; index++) {
    const random = caseRandom(seed, index);
    const input = mutate(seeds, target.tokens, random);
    writeFileSync(join(folder!, `current-${name}.bin`), input);
    process.send!({ start: index, bytes: input.length });
    let outcome = 'ok';
    let stack = '';
    try {
      await target.run(input, random);
    } catch (error) {
      if (documented(error)) outcome = `refused ${(error as { code: string }).code}`;
      else {
        outcome = 'unexpected';
        stack = error instanceof Error ? (error.stack ?? String(error)) : String(error);
      }
    }
    await new Promise<void>((done) => process.send!({ end: index, outcome, stack, rss: process.memoryUsage().rss }, () => done()));
  }
}

/** Replays a saved input (`file`, random choices of its own each round) or a case exactly (`seed:index`). */
async function replay(name: string, folder: string, file: string, times: number): Promise<void> {
  const target = TARGETS[name]!;
  const seeds = await target.load(folder);
  const exact = /^(\d+):(\d+)$/.exec(file);
  for (let round = 0; round < times; round++) {
    let random = prng(round + 1);
    let input: Uint8Array;
    if (exact === null) input = new Uint8Array(readFileSync(file));
    else {
      random = caseRandom(Number(exact[1]), Number(exact[2]));
      input = mutate(seeds, target.tokens, random);
    }
    chosen.length = 0;
    // The event loop emptied with the case unsettled: a promise nothing will ever settle.
    const drained = () => process.stdout.write(`round ${round}: NEVER SETTLED (the event loop emptied), ${input.length} bytes, chosen: ${JSON.stringify(chosen)}\n`);
    process.once('exit', drained);
    const started = process.cpuUsage();
    try {
      const result = await target.run(input, random);
      process.stdout.write(`round ${round}: ok ${JSON.stringify(result)?.slice(0, 200)}\n`);
    } catch (error) {
      process.stdout.write(`round ${round}: ${documented(error) ? 'refused' : 'UNEXPECTED'} ${error instanceof Error ? error.stack : String(error)}\n`);
    }
    process.removeListener('exit', drained);
    const used = process.cpuUsage(started);
    process.stdout.write(`  ${input.length} bytes, chosen: ${JSON.stringify(chosen)}\n`);
    process.stdout.write(`  cpu ${Math.round((used.user + used.system) / 1000)} ms, rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB\n`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child();
  const name = args[0] ?? '';
  const target = TARGETS[name];
  if (target === undefined) {
    process.stderr.write(`usage: fuzz.js ${Object.keys(TARGETS).join('|')} [--minutes N] [--seed S] [--out DIR] [--case-seconds 20] [--max-mib 1024] [--replay FILE]\n`);
    process.exit(2);
  }
  const folder = resolve(option(args, '--out', join('/tmp', 'caliop-fuzz', name)));
  mkdirSync(folder, { recursive: true });
  await target.prepare(folder);
  if (args.includes('--replay')) return replay(name, folder, option(args, '--replay', ''), Number(option(args, '--times', '1')));
  const minutes = Number(option(args, '--minutes', '5'));
  const seed = Number(option(args, '--seed', String(Date.now() % 1_000_000)));
  const caseMs = Number(option(args, '--case-seconds', '20')) * 1000;
  const maxMib = Number(option(args, '--max-mib', '1024'));
  const until = Date.now() + minutes * 60_000;
  process.stdout.write(`fuzz ${name}: seed ${seed}, ${minutes} min, ${caseMs / 1000} s a case, ${maxMib} MiB, into ${folder}\n`);
  const counts = new Map<string, number>();
  const found: string[] = [];
  let next = 0;
  let cases = 0;
  const save = (kind: string, index: number, detail: string) => {
    const file = join(folder, `${kind}-${name}-${seed}-${index}.bin`);
    copyFileSync(join(folder, `current-${name}.bin`), file);
    if (detail !== '') writeFileSync(`${file}.txt`, detail);
    found.push(file);
    process.stdout.write(`FOUND ${kind}: case ${index} -> ${file}\n${detail.split('\n').slice(0, 6).join('\n')}\n`);
  };
  while (Date.now() < until) {
    const worker: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child', name, folder, String(seed), String(next)], {
      execArgv: [`--max-old-space-size=${maxMib}`],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    worker.stderr!.on('data', (data: Buffer) => void (stderr = (stderr + data.toString()).slice(-4000)));
    let running: { index: number; since: number } | undefined;
    const ended = new Promise<string>((done) => {
      worker.on('message', (message: { start?: number; end?: number; outcome?: string; stack?: string; rss?: number }) => {
        if (message.start !== undefined) running = { index: message.start, since: Date.now() };
        else if (message.end !== undefined) {
          cases++;
          const kind = message.outcome!.split(' ')[0]!;
          counts.set(message.outcome!, (counts.get(message.outcome!) ?? 0) + 1);
          if (kind === 'unexpected') save('unexpected', message.end, message.stack!);
          else if (message.rss! > maxMib * 2 ** 20) save('memory', message.end, `rss ${message.rss}`);
          running = undefined;
          next = message.end + 1;
          if (Date.now() >= until) worker.kill('SIGKILL');
        }
      });
      worker.on('exit', (code, signal) => done(`${code ?? ''}${signal ?? ''}`));
    });
    const watch = setInterval(() => {
      if (running !== undefined && Date.now() - running.since > caseMs) {
        save('hang', running.index, `no end after ${caseMs} ms`);
        next = running.index + 1;
        running = undefined;
        worker.kill('SIGKILL');
      }
    }, 250);
    const how = await ended;
    clearInterval(watch);
    if (running !== undefined && Date.now() < until) {
      // The child died during a case: a crash, or memory past --max-mib.
      save('crash', running.index, `exit ${how}\n${stderr}`);
      next = running.index + 1;
    }
  }
  process.stdout.write(`fuzz ${name}: ${cases} cases, seed ${seed}\n`);
  for (const [outcome, count] of [...counts].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${count} ${outcome}\n`);
  process.stdout.write(found.length === 0 ? '  nothing found\n' : `  found ${found.length}:\n${found.map((file) => `  ${file}`).join('\n')}\n`);
  process.exit(found.length === 0 ? 0 : 1);
}

void main();
