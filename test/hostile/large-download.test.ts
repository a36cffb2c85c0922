// Issue 9, "Large messages, in bounded memory", the receiving side (docs/store.md §5.2,
// docs/api.md §8.5.1): a message with a multi-MiB attachment, made by Python's `email`
// and encrypted and signed by real gpg, delivered by swaks to the real relay's gateway,
// then fetched by real `caliop sync` processes through a fake relay on loopback that holds
// the real relay's TLS key (the stick's pin matches) and passes everything through until
// a scenario makes it misbehave:
// - a sync killed in the middle of the download stores nothing, and the next one stores
//   the message once;
// - a relay whose body is longer than the size it announced is refused, nothing stored;
// - an honest sync stores it with a bounded peak RSS (the process's own getrusage, at
//   exit), `read --json` lists it without decrypting it again, and the attachment is
//   saved byte for byte;
// - a ciphertext that fails its integrity check is kept as a message that cannot be
//   opened: no text, no attachment, nothing of it shown as whole.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_TABLE } from '../../src/errors.js';
import { initEnrolled, CALIOP_ENTRY, onStick, temporaryFolder, testEnv, type InitResult } from '../helpers/caliop.js';
import { makeGpg } from '../helpers/gpg.js';
import { deliverBySwaks } from '../helpers/smtp.js';
import { rfc5322, writeJson } from '../gateway/helpers.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';

const DOMAIN = 'caliop.example';
const MIB = 1024 * 1024;
/** Just large enough that holding it whole (as before: +191 MiB at 8 MiB) breaks the bound. */
const ATTACHMENT_BYTES = 6 * MIB;
/** Peak RSS above an idle sync of the same stick. */
const RSS_BOUND_MIB = 80;
const RSS_PRELOAD = resolve(import.meta.dirname, '../fixtures/hostile/max-rss-preload.mjs');

const scratch = temporaryFolder('large-download');
let relay: RelayProcess;
let fake: https.Server;
let bob: string;
let bobId: InitResult;
let gpg: ReturnType<typeof makeGpg>;
const original = randomBytes(ATTACHMENT_BYTES);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** The scenario: answers a request itself (true) or lets it through to the real relay. */
let hostile: ((request: IncomingMessage, response: ServerResponse, path: string) => boolean) | null = null;

/** Forwards to the real relay; `alter` may rewrite a ciphertext body (a whole buffer: test-side only). */
function passThrough(request: IncomingMessage, response: ServerResponse, alter?: (headers: Record<string, string>, body: Buffer) => Buffer, stallAfter?: { bytes: number; reached: () => void }): void {
  const upstream = https.request(
    { host: '127.0.0.1', port: new URL(relay.url).port, method: request.method, path: request.url, headers: request.headers, rejectUnauthorized: false },
    (answer) => {
      if (stallAfter) {
        // Forward the first bytes, then nothing more: the download hangs in its middle.
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent >= stallAfter.bytes) return;
          response.write(chunk);
          sent += chunk.length;
          if (sent >= stallAfter.bytes) stallAfter.reached();
        });
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const headers = { ...(answer.headers as Record<string, string>) };
        const body = alter ? alter(headers, Buffer.concat(chunks)) : Buffer.concat(chunks);
        response.writeHead(answer.statusCode ?? 502, { ...headers, 'content-length': headers['content-length'] ?? String(body.length) });
        response.end(body);
      });
    },
  );
  upstream.on('error', () => response.destroy());
  request.pipe(upstream);
}

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly maxRssMiB: number;
}

/** caliop on Bob's stick, its peak RSS written at exit by the preload; `started` gets the child. */
function caliopRun(args: readonly string[], started?: (child: ReturnType<typeof spawn>) => void): Promise<Run> {
  const rssFile = join(scratch.path, `rss-${randomBytes(4).toString('hex')}`);
  const child = spawn(process.execPath, ['--import', RSS_PRELOAD, CALIOP_ENTRY, '--stick', bob, '--passphrase-file', '@ENV:TEST_PASSPHRASE', ...args], {
    env: testEnv({ CALIOP_TEST_RSS_FILE: rssFile }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolvePromise) => {
    child.on('close', (code, signal) => {
      const maxRssMiB = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) / 1024 : Number.NaN;
      resolvePromise({ status: code ?? (signal ? -1 : -2), stdout, stderr, maxRssMiB });
    });
  });
}

async function inbox(): Promise<{ id: string; subject: string }[]> {
  const run = await onStick(bob, ['--json', 'inbox']);
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { id: string; subject: string }[];
}

/** Python's `email` makes the message, gpg signs and encrypts it to Bob, PGP/MIME around it, swaks delivers it. */
async function deliverLarge(subject: string, attachment: Buffer): Promise<void> {
  const file = join(scratch.path, `${subject.replace(/\W+/g, '-')}.bin`);
  writeFileSync(file, attachment);
  const inner = spawnSync('python3', ['-c', [
    'import sys',
    'from email.message import EmailMessage',
    'from email.policy import SMTP',
    'm = EmailMessage()',
    "m['From'] = 'Gina Outside <gina@elsewhere.test>'",
    `m['To'] = 'bob@${DOMAIN}'`,
    `m['Subject'] = ${JSON.stringify(subject)}`,
    "m.set_content('Voici les données.\\n')",
    "m.add_attachment(open(sys.argv[1], 'rb').read(), maintype='application', subtype='octet-stream', filename='données.bin')",
    'sys.stdout.buffer.write(m.as_bytes(policy=SMTP))',
  ].join('\n'), file], { maxBuffer: 64 * MIB });
  expect(inner.status, inner.stderr?.toString()).toBe(0);
  const encrypted = gpg.run(['--armor', '--encrypt', '--sign', '--compress-algo', 'none', '--local-user', 'gina@elsewhere.test', '--recipient', bobId.fingerprint], inner.stdout).toString();
  const boundary = `b${randomBytes(6).toString('hex')}`;
  const eml = join(scratch.path, `${subject.replace(/\W+/g, '-')}.eml`);
  writeFileSync(eml, rfc5322(
    { From: 'Gina Outside <gina@elsewhere.test>', To: `bob@${DOMAIN}`, Subject: subject, 'MIME-Version': '1.0', 'Content-Type': `multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${boundary}"` },
    `--${boundary}\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n--${boundary}\nContent-Type: application/octet-stream\n\n${encrypted}\n--${boundary}--\n`,
  ));
  const delivered = await deliverBySwaks({ port: relay.smtp!.port, from: 'gina@elsewhere.test', to: `bob@${DOMAIN}`, file: eml });
  expect(delivered.output, delivered.output).toMatch(/<- +250 /);
}

beforeAll(async () => {
  relay = await startRelayProcess({
    domain: DOMAIN,
    dataDir: join(scratch.path, 'relay-data'),
    port: 0,
    store: 'sqlite',
    extraArgs: ['--smtp-listen', '127.0.0.1:0', '--dns-records', writeJson(join(scratch.path, 'dns.json'), {})],
  });
  const tls = { cert: readFileSync(join(relay.dataDir, 'dev-tls-cert.pem')), key: readFileSync(join(relay.dataDir, 'dev-tls-key.pem')) };
  fake = https.createServer(tls, (request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (hostile?.(request, response, path)) return;
    passThrough(request, response);
  });
  await new Promise<void>((resolvePromise) => fake.listen(0, '127.0.0.1', resolvePromise));
  const fakeUrl = `https://127.0.0.1:${(fake.address() as { port: number }).port}`;
  bob = join(scratch.path, 'bob');
  mkdirSync(bob);
  bobId = await initEnrolled(bob, 'Bob', `bob@${DOMAIN}`, { url: fakeUrl, pin: relay.pin });
  gpg = makeGpg(scratch.path, { trustAlways: true });
  gpg.run(['--quick-gen-key', 'Gina Outside <gina@elsewhere.test>', 'ed25519', 'sign', 'never']);
  const fingerprint = /^fpr:::::::::([0-9A-F]{40}):/m.exec(gpg.run(['--with-colons', '--list-keys', 'gina@elsewhere.test']).toString())![1]!;
  gpg.run(['--quick-add-key', fingerprint, 'cv25519', 'encrypt', 'never']);
  expect((await onStick(bob, ['contacts', 'import'], { input: gpg.run(['--armor', '--export', 'gina@elsewhere.test']) })).status).toBe(0);
  gpg.run(['--import'], (await onStick(bob, ['key', 'export'])).stdout);
}, 300_000);

afterAll(async () => {
  fake?.closeAllConnections();
  fake?.close();
  gpg?.kill();
  await relay?.dispose();
  scratch.remove();
});

const isCiphertext = (path: string) => /^\/v1\/messages\/[^/]+\/ciphertext$/.test(path);

describe('a large message received as a stream (docs/store.md §5.2)', () => {
  let idleRssMiB = Number.NaN;

  it('an idle sync, for the baseline', async () => {
    const idle = await caliopRun(['sync']);
    expect(idle.status, idle.stderr).toBe(0);
    idleRssMiB = idle.maxRssMiB;
    await deliverLarge('Le gros fichier', original);
  }, 300_000);

  it('a sync killed in the middle of the download stores nothing; the relay keeps the message', async () => {
    let reached!: () => void;
    const halfway = new Promise<void>((resolvePromise) => (reached = resolvePromise));
    hostile = (request, response, path) => {
      if (!isCiphertext(path)) return false;
      passThrough(request, response, undefined, { bytes: 2 * MIB, reached });
      return true;
    };
    try {
      const run = caliopRun(['sync'], (child) => void halfway.then(() => child.kill('SIGKILL')));
      expect((await run).status).toBe(-1);
    } finally {
      hostile = null;
      fake.closeAllConnections();
    }
    expect((await inbox()).filter((entry) => entry.subject === 'Le gros fichier')).toEqual([]);
  }, 300_000);

  it('a body longer than the size announced is refused: relay_bad_request, nothing stored', async () => {
    hostile = (request, response, path) => {
      if (!isCiphertext(path)) return false;
      passThrough(request, response, (headers, body) => {
        const swollen = Buffer.concat([body, Buffer.from('\n'.repeat(4096))]);
        headers['content-length'] = String(swollen.length);
        return swollen;
      });
      return true;
    };
    try {
      const run = await caliopRun(['sync']);
      expect(run.status, run.stderr).toBe(ERROR_TABLE.relay_bad_request.exit);
      expect(run.stderr).toMatch(/^caliop: error: .*announces \d+ bytes where the mailbox said \d+/m);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      hostile = null;
    }
    expect((await inbox()).filter((entry) => entry.subject === 'Le gros fichier')).toEqual([]);
  }, 300_000);

  it(`an honest sync stores it once within idle + ${RSS_BOUND_MIB} MiB; read --json lists it; the attachment is saved byte for byte`, async () => {
    const run = await caliopRun(['--json', 'sync']);
    expect(run.status, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { received: number }).received).toBe(1);
    console.log(`sync of a ${ATTACHMENT_BYTES / MIB} MiB attachment: peak RSS ${run.maxRssMiB.toFixed(0)} MiB, idle ${idleRssMiB.toFixed(0)} MiB`);
    expect(run.maxRssMiB - idleRssMiB).toBeLessThan(RSS_BOUND_MIB);
    const again = await caliopRun(['--json', 'sync']);
    expect((JSON.parse(again.stdout) as { received: number }).received).toBe(0);
    const found = (await inbox()).filter((entry) => entry.subject === 'Le gros fichier');
    expect(found).toHaveLength(1); // stored once, though fetched three times
    const read = await caliopRun(['--json', 'read', found[0]!.id]);
    expect(read.status, read.stderr).toBe(0);
    const view = JSON.parse(read.stdout) as { body: string; signature: string; attachments: { index: number; name: string; size: number; sha256: string }[] };
    expect(view.body).toContain('Voici les données.');
    expect(view.signature).toBe('good');
    expect(view.attachments).toEqual([expect.objectContaining({ index: 1, name: 'données.bin', size: ATTACHMENT_BYTES, sha256: sha256(original) })]);
    // Read without decrypting again (held whole, it took +156 MiB at 8 MiB).
    expect(read.maxRssMiB - idleRssMiB).toBeLessThan((4 * ATTACHMENT_BYTES) / MIB);
    const folder = join(scratch.path, 'saved');
    mkdirSync(folder);
    const saved = await caliopRun(['read', found[0]!.id, '--save-attachments', folder]);
    expect(saved.status, saved.stderr).toBe(0);
    expect(sha256(readFileSync(join(folder, 'données.bin')))).toBe(sha256(original));
  }, 300_000);

  it(`PGP/MIME signed by gpg (RFC 3156 §5), sealed by the relay on arrival: its ${ATTACHMENT_BYTES / MIB} MiB first part hashed as it streams, within idle + ${RSS_BOUND_MIB} MiB; the signature good, its part not listed`, async () => {
    // Python's `email` makes the signed part, gpg signs it (--textmode, as neomutt), the
    // multipart/signed is framed as neomutt frames it; swaks delivers it in clear.
    const file = join(scratch.path, 'signed.bin');
    writeFileSync(file, original);
    const inner = spawnSync('python3', ['-c', [
      'import sys',
      'from email.message import EmailMessage',
      'from email.policy import SMTP',
      'm = EmailMessage()',
      "m.set_content('Signé, pas chiffré.\\n')",
      "m.add_attachment(open(sys.argv[1], 'rb').read(), maintype='application', subtype='octet-stream', filename='signé.bin')",
      'sys.stdout.buffer.write(m.as_bytes(policy=SMTP))',
    ].join('\n'), file], { maxBuffer: 64 * MIB });
    expect(inner.status, inner.stderr?.toString()).toBe(0);
    const signature = gpg.run(['--armor', '--detach-sign', '--textmode', '--local-user', 'gina@elsewhere.test'], inner.stdout).toString().replace(/\r?\n/g, '\r\n');
    const eml = join(scratch.path, 'signed.eml');
    writeFileSync(eml, Buffer.concat([
      Buffer.from(['From: Gina Outside <gina@elsewhere.test>', `To: bob@${DOMAIN}`, 'Subject: Signed in clear', 'MIME-Version: 1.0',
        'Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="s1g"', '', '--s1g', ''].join('\r\n')),
      inner.stdout,
      Buffer.from(['', '--s1g', 'Content-Type: application/pgp-signature; name="signature.asc"', '', signature, '--s1g--', ''].join('\r\n')),
    ]));
    const delivered = await deliverBySwaks({ port: relay.smtp!.port, from: 'gina@elsewhere.test', to: `bob@${DOMAIN}`, file: eml });
    expect(delivered.output, delivered.output).toMatch(/<- +250 /);
    const run = await caliopRun(['--json', 'sync']);
    expect(run.status, run.stderr).toBe(0);
    console.log(`sync of a PGP/MIME signed ${ATTACHMENT_BYTES / MIB} MiB attachment: peak RSS ${run.maxRssMiB.toFixed(0)} MiB, idle ${idleRssMiB.toFixed(0)} MiB`);
    expect(run.maxRssMiB - idleRssMiB).toBeLessThan(RSS_BOUND_MIB);
    const found = (await inbox()).filter((entry) => entry.subject === 'Signed in clear');
    expect(found).toHaveLength(1);
    const read = await caliopRun(['--json', 'read', found[0]!.id]);
    expect(read.status, read.stderr).toBe(0);
    const view = JSON.parse(read.stdout) as { body: string; signature: string; signerFingerprint: string | null; attachments: { name: string; size: number; sha256: string }[] };
    expect(view.body).toContain('Signé, pas chiffré.');
    expect(view.signature).toBe('good');
    expect(view.attachments).toEqual([expect.objectContaining({ name: 'signé.bin', size: ATTACHMENT_BYTES, sha256: sha256(original) })]);
  }, 300_000);

  it('a ciphertext that fails its integrity check is kept unopened: no text, no attachment shown', async () => {
    const small = randomBytes(2 * MIB);
    await deliverLarge('Damaged on the way', small);
    hostile = (request, response, path) => {
      if (!isCiphertext(path)) return false;
      passThrough(request, response, (_headers, body) => {
        // One base64 character changed in the middle of the encrypted data: same size, bad MDC at the end.
        const at = body.indexOf('\n', Math.floor(body.length / 2)) + 10;
        body[at] = body[at] === 0x41 ? 0x42 : 0x41;
        return body;
      });
      return true;
    };
    try {
      const run = await caliopRun(['--json', 'sync']);
      expect(run.status, run.stderr).toBe(0);
    } finally {
      hostile = null;
    }
    const found = (await inbox()).filter((entry) => entry.subject === 'Damaged on the way');
    expect(found).toHaveLength(1);
    const read = await caliopRun(['--json', 'read', found[0]!.id]);
    const view = JSON.parse(read.stdout) as { body: string | null; signature: string; attachments: unknown[] };
    expect(view.body).toBeNull();
    expect(view.signature).toBe('undecryptable');
    expect(view.attachments).toEqual([]);
    const folder = join(scratch.path, 'saved-damaged');
    mkdirSync(folder);
    await caliopRun(['read', found[0]!.id, '--save-attachments', folder]);
    expect(readdirSync(folder)).toEqual([]);
  }, 300_000);
});
