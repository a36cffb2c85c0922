// The floor under a large message's sync (issue 9, docs/benchmarks.md): the same bytes as the
// sync of a `mib` MiB attachment, through node's own primitives in one plain script, none of
// Caliop's code: the armored ciphertext received over HTTPS on loopback (from a server in
// another process, as the relay is), sealed in 64 KiB chunks (ChaCha20-Poly1305), written and
// fsynced; its armor decoded, AES-256-CFB decrypted natively, SHA-1 (the MDC) and SHA-512 (a
// signature) over the plaintext; the MIME base64 decoded, SHA-256 of the attachment, sealed,
// written and fsynced. The sizes are the sync's (25 MiB: 34 MiB of MIME base64, 46 MiB of
// armor); the bytes are random (cost does not depend on them). Prints the CPU (user + system)
// and wall of that work in this process, start-up and set-up excluded.
//
//   node build/scripts/bench/large-sync-floor.js [MiB]
import { spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

const MIB = 1024 * 1024;
const CHUNK = 64 * 1024;

/** A file written as the store writes an object: 64 KiB chunks sealed, a writev per MiB, fsynced. */
async function sealedFile(path: string) {
  const handle = await open(path, 'wx', 0o600);
  const key = randomBytes(32);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let index = 0;
  const seal = (piece: Buffer) => {
    const nonce = Buffer.alloc(12);
    nonce.writeUInt32BE(index++, 8);
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    batch.push(cipher.update(piece), cipher.final(), cipher.getAuthTag());
    batchBytes += piece.length + 16;
  };
  const flush = async (last: boolean) => {
    while (pendingBytes >= CHUNK || (last && pendingBytes > 0)) {
      const joined = Buffer.concat(pending, pendingBytes);
      seal(joined.subarray(0, Math.min(CHUNK, joined.length)));
      pending = joined.length > CHUNK ? [joined.subarray(CHUNK)] : [];
      pendingBytes = Math.max(0, joined.length - CHUNK);
    }
    if (batchBytes >= MIB || last) {
      await handle.writev(batch);
      batch = [];
      batchBytes = 0;
    }
  };
  return {
    async write(bytes: Buffer) {
      pending.push(bytes);
      pendingBytes += bytes.length;
      await flush(false);
    },
    async close() {
      await flush(true);
      await handle.sync();
      await handle.close();
    },
  };
}

/** Base64 text arriving in pieces, line ends and all: decoded a piece at a time. */
function base64Pieces() {
  let carry = '';
  return (bytes: Buffer): Buffer => {
    const text = carry + bytes.toString('latin1').replace(/[\r\n]/g, '');
    const whole = text.length - (text.length % 4);
    carry = text.slice(whole);
    return Buffer.from(text.slice(0, whole), 'base64');
  };
}

export async function syncFloor(mib = 25): Promise<{ cpuMs: number; userMs: number; systemMs: number; wallMs: number; armoredMiB: number }> {
  const attachment = randomBytes(mib * MIB);
  const mime = Buffer.from(attachment.toString('base64').replace(/.{76}/g, '$&\r\n'), 'latin1');
  const aesKey = randomBytes(32);
  const encrypt = createCipheriv('aes-256-cfb', aesKey, Buffer.alloc(16));
  const binary = Buffer.concat([encrypt.update(mime), encrypt.final()]);
  const armored = Buffer.from(binary.toString('base64').replace(/.{60}/g, '$&\n'), 'latin1');
  const dir = await mkdtemp(join(tmpdir(), 'caliop-sync-floor-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  writeFileSync(join(dir, 'body'), armored);
  const server = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import https from 'node:https'; import { readFileSync } from 'node:fs';
       const body = readFileSync(${JSON.stringify(join(dir, 'body'))});
       https.createServer({ key: readFileSync(${JSON.stringify(join(dir, 'key.pem'))}), cert: readFileSync(${JSON.stringify(join(dir, 'cert.pem'))}) }, (request, response) => {
         response.writeHead(200, { 'content-length': body.length });
         let at = 0;
         const more = () => { while (at < body.length) { const go = response.write(body.subarray(at, at + ${MIB})); at += ${MIB}; if (!go) return response.once('drain', more); } response.end(); };
         more();
       }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const port = await new Promise<number>((done) => server.stdout!.once('data', (data) => done(Number(String(data)))));
    const before = process.cpuUsage();
    const started = performance.now();
    const blob = await sealedFile(join(dir, 'ciphertext'));
    const saved = await sealedFile(join(dir, 'attachment'));
    const armor = base64Pieces();
    const base64 = base64Pieces();
    const decipher = createDecipheriv('aes-256-cfb', aesKey, Buffer.alloc(16));
    const [mdc, signed, digest] = [createHash('sha1'), createHash('sha512'), createHash('sha256')];
    await new Promise<void>((done, fail) => {
      https
        .get({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false }, (response) => {
          (async () => {
            for await (const chunk of response as AsyncIterable<Buffer>) {
              await blob.write(chunk);
              const plain = decipher.update(armor(chunk));
              mdc.update(plain);
              signed.update(plain);
              const decoded = base64(plain);
              digest.update(decoded);
              await saved.write(decoded);
            }
            await blob.close();
            await saved.close();
            digest.digest();
          })().then(done, fail);
        })
        .on('error', fail);
    });
    const used = process.cpuUsage(before);
    return { cpuMs: (used.user + used.system) / 1000, userMs: used.user / 1000, systemMs: used.system / 1000, wallMs: performance.now() - started, armoredMiB: armored.length / MIB };
  } finally {
    server.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await syncFloor(Number(process.argv[2] ?? 25))));
}
