// Issue 9, mail to the outside with a large attachment: `caliop send --attach` to an
// outside address builds the PGP/MIME message as a stream into a blob of the outbox
// (docs/store.md §5.1), uploads it to the relay as a streamed body (docs/api.md §8.7.1),
// which stores it in chunks, DKIM-signs it from the stream and hands it to a real SMTP
// sink as a stream. The sink receives the file byte for byte (opened by real gpg, read
// by Python's email), the DKIM signature verifies with mailauth, and the peak memory of
// the sender and of the relay does not grow with the file.
// Readable mail with a large attachment takes the same path: with the user's consent
// (--allow-exposed, docs/exposure.md §2.3), `caliop send --attach` to an address without a
// cert builds the readable RFC 5322 message as a stream (buildPlainMessageStream); the sink
// receives the file byte for byte, DKIM-signed, and the sent copy gives the same file back.

import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { authenticate } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolverFromRecords } from '../src/relay/gateway/dns-records.js';
import { existingDkimKey } from '../src/relay/gateway/dkim.js';
import { initEnrolled, onStick, temporaryFolder, watched } from './helpers/caliop.js';
import { makeGpg } from './helpers/gpg.js';
import { startSink, type Sink } from './helpers/smtp.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const DOMAIN = 'caliop.example';
const MIB = 1024 * 1024;
const scratch = temporaryFolder('large-outbound');
let relay: RelayProcess;
let sink: Sink;
let alice: string;
let gpg: ReturnType<typeof makeGpg>;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Python's email package: the type, the text and the attachments ([name, sha256]) of a MIME message. */
function readByPython(mime: Buffer): { text: string; attachments: Array<[string, string]>; type: string } {
  const script = [
    'import sys, json, hashlib, email, email.policy',
    'm = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)',
    'body = m.get_body(preferencelist=("plain",))',
    'print(json.dumps({"type": m.get_content_type(), "text": body.get_content() if body else "", "attachments": [[p.get_filename(), hashlib.sha256(p.get_payload(decode=True)).hexdigest()] for p in m.iter_attachments()]}))',
  ].join('\n');
  const run = spawnSync('python3', ['-c', script], { input: mime, maxBuffer: 256 * MIB });
  expect(run.status, run.stderr?.toString()).toBe(0);
  return JSON.parse(run.stdout.toString()) as { text: string; attachments: Array<[string, string]>; type: string };
}

/** The DKIM results of a delivered message, as mailauth verifies them against the relay's key: [domain, result]. */
async function dkimResults(delivered: string): Promise<Array<Array<string | undefined>>> {
  const key = existingDkimKey(relay.dataDir)!;
  const result = await authenticate(delivered, {
    ip: '127.0.0.1',
    helo: 'relay.test',
    sender: `alice@${DOMAIN}`,
    mta: 'mx.elsewhere.test',
    resolver: resolverFromRecords({ [`${key.selector}._domainkey.${DOMAIN}`]: { TXT: [[key.txtRecord]] } }),
    disableArc: true,
    disableBimi: true,
  });
  return (result.dkim.results ?? []).map((row) => [row.signingDomain, row.status.result]);
}

/** The relay's peak RSS (VmHWM), MiB. */
function relayPeakMiB(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${relay.child.pid}/status`, 'utf8'));
  return Math.round(Number(match![1]) / 1024);
}

/**
 * A send watched on both sides: the client's peak RSS, and the relay's peak RSS during this send
 * alone (its VmHWM reset to its current RSS first: /proc/PID/clear_refs, "5", Linux 4.0), so that
 * what an earlier send left resident does not count as this one's.
 */
async function sendWatched(subject: string, file: string, text: string): Promise<{ client: number; relay: number; seconds: number }> {
  writeFileSync(`/proc/${relay.child.pid}/clear_refs`, '5');
  const run = await watched(alice, ['send', '--to', 'gina@elsewhere.test', '--subject', subject, '--attach', join(scratch.path, file)], text);
  expect(run.status, run.stderr).toBe(0);
  return { client: run.peakRssMiB, relay: relayPeakMiB(), seconds: run.seconds };
}

beforeAll(async () => {
  sink = await startSink(null);
  relay = await startRelayProcess({
    domain: DOMAIN,
    dataDir: join(scratch.path, 'relay'),
    extraArgs: ['--smarthost', `127.0.0.1:${sink.port}`, '--smarthost-tls', 'none', '--max-message-bytes', String(64 * MIB)],
  });
  alice = join(scratch.path, 'alice');
  mkdirSync(alice);
  await initEnrolled(alice, 'Alice', `alice@${DOMAIN}`, relay);
  gpg = makeGpg(scratch.path, { trustAlways: true });
  gpg.run(['--quick-gen-key', 'Gina Outside <gina@elsewhere.test>', 'ed25519', 'sign', 'never']);
  const fingerprint = /^fpr:::::::::([0-9A-F]{40}):/m.exec(gpg.run(['--with-colons', '--list-keys', 'gina@elsewhere.test']).toString())![1]!;
  gpg.run(['--quick-add-key', fingerprint, 'cv25519', 'encrypt', 'never']);
  expect((await onStick(alice, ['contacts', 'import'], { input: gpg.run(['--armor', '--export', 'gina@elsewhere.test']) })).status).toBe(0);
  gpg.run(['--import'], (await onStick(alice, ['key', 'export'])).stdout);
}, 300_000);
afterAll(async () => {
  await relay?.stop();
  await sink?.close();
  scratch.remove();
});

describe('caliop send --attach to the outside, streamed (issue 9)', { timeout: 900_000 }, () => {
  it('a 6 MiB file reaches a real SMTP sink byte for byte, DKIM-signed (verified by mailauth)', async () => {
    const file = randomBytes(6 * MIB);
    writeFileSync(join(scratch.path, 'six.bin'), file);
    const sent = await onStick(alice, ['send', '--to', 'gina@elsewhere.test', '--subject', 'Six MiB outside', '--attach', join(scratch.path, 'six.bin')], { input: 'A large file.\n' });
    expect(sent.status, sent.stderr).toBe(0);
    expect(sink.received).toHaveLength(1);
    const delivered = sink.received[0]!.raw;
    expect(delivered).toMatch(/^Content-Type: multipart\/encrypted; protocol="application\/pgp-encrypted"/m);
    // Streamed in: the relay's log says so (a JSON submission is not).
    expect(relay.stderrLines.some((line) => line.includes('"event":"outbound_sent"') && line.includes('"streamed":true'))).toBe(true);
    expect(await dkimResults(delivered)).toEqual([[DOMAIN, 'pass']]);
    const armored = /-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----/.exec(delivered)![0];
    const inner = gpg.run(['--decrypt'], armored);
    expect(readByPython(inner).attachments).toEqual([['six.bin', sha256(file)]]);
    // The outbox holds nothing more, and the message blob is gone (the sent copy keeps its ciphertext).
    const outbox = JSON.parse((await onStick(alice, ['--json', 'outbox'])).stdout) as unknown[];
    expect(outbox).toEqual([]);
  });

  it('peak memory does not grow with the file, on the stick and on the relay: 6 MiB and 30 MiB sent outside', async () => {
    writeFileSync(join(scratch.path, 'six2.bin'), randomBytes(6 * MIB));
    writeFileSync(join(scratch.path, 'trente.bin'), randomBytes(30 * MIB));
    const idle = await watched(alice, ['send', '--to', 'gina@elsewhere.test', '--subject', 'idle'], 'no file\n');
    expect(idle.status, idle.stderr).toBe(0);
    // Issue 16: a peak RSS carries garbage not yet collected. JS heap used stays ~35 MiB (client) and
    // ~26 MiB (relay) whatever the file and the load (--trace-gc); what moves is memory outside the
    // heap (Buffers freed only by a full GC, malloc's free pages), more of it on a starved machine
    // (CI, load ~8: client +23 MiB, relay +63 MiB from its peak before). That noise only adds, while
    // a file held whole adds its bytes every time: so the pair is measured again when a bound is
    // passed, and each size counts at its lowest peak.
    const pairs: Array<{ small: Awaited<ReturnType<typeof sendWatched>>; large: Awaited<ReturnType<typeof sendWatched>> }> = [];
    const growth = () => ({
      client: Math.min(...pairs.map((pair) => pair.large.client)) - Math.min(...pairs.map((pair) => pair.small.client)),
      relay: Math.min(...pairs.map((pair) => pair.large.relay)) - Math.min(...pairs.map((pair) => pair.small.relay)),
    });
    do {
      const small = await sendWatched(`Six MiB ${pairs.length}`, 'six2.bin', 'six\n');
      const large = await sendWatched(`Thirty MiB ${pairs.length}`, 'trente.bin', 'thirty\n');
      pairs.push({ small, large });
      console.log(`caliop send outside, peak RSS: text only ${idle.peakRssMiB} MiB, 6 MiB file ${small.client} MiB, 30 MiB file ${large.client} MiB (${large.seconds.toFixed(1)} s); relay peak during each send ${small.relay} and ${large.relay} MiB`);
    } while (pairs.length < 2 && (growth().client >= 20 || growth().relay >= 40));
    expect(sink.received.at(-1)!.raw.length).toBeGreaterThan(40 * MIB);
    const seen = pairs.map((pair) => `client ${pair.small.client} -> ${pair.large.client}, relay ${pair.small.relay} -> ${pair.large.relay} MiB`).join('; ');
    // Held whole, 24 MiB more of file would add its MIME (+33 MiB) and its ciphertext (+45 MiB) at least.
    expect.soft(growth().client, seen).toBeLessThan(20);
    expect.soft(Math.min(...pairs.map((pair) => pair.large.client)) - idle.peakRssMiB, seen).toBeLessThan(64);
    // The relay: one chunk per upload, the SMTP stream bounded (held whole: the 41 MiB message twice at least).
    expect.soft(growth().relay, seen).toBeLessThan(40);
  });

  it('readable, with consent: a 12 MiB file reaches a real SMTP sink byte for byte, DKIM-signed; the sent copy gives it back; memory bounded', async () => {
    const file = randomBytes(12 * MIB);
    writeFileSync(join(scratch.path, 'douze.bin'), file);
    const idle = await watched(alice, ['send', '--to', 'nocert@elsewhere.test', '--subject', 'idle', '--allow-exposed'], 'no file\n');
    expect(idle.status, idle.stderr).toBe(0);
    const before = sink.received.length;
    const sent = await watched(alice, ['--json', 'send', '--to', 'nocert@elsewhere.test', '--subject', 'Douze Mio, lisible', '--allow-exposed', '--attach', join(scratch.path, 'douze.bin')], 'Un gros fichier, lisible.\n');
    expect(sent.status, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ queued: false });
    expect(sink.received).toHaveLength(before + 1);
    const delivered = sink.received.at(-1)!.raw;
    // Streamed in: the relay's log says so (a JSON submission is not).
    expect(relay.stderrLines.some((line) => line.includes('"event":"outbound_sent"') && line.includes('"streamed":true'))).toBe(true);
    expect(await dkimResults(delivered)).toEqual([[DOMAIN, 'pass']]);
    expect(delivered).not.toContain('-----BEGIN PGP MESSAGE-----');
    const read = readByPython(Buffer.from(delivered, 'utf8'));
    expect(read.type).toBe('multipart/mixed');
    expect(read.text).toContain('Un gros fichier, lisible.');
    expect(read.attachments).toEqual([['douze.bin', sha256(file)]]);
    // Nothing left queued; the sent copy (encrypted to the sender) gives the same file back.
    expect(JSON.parse((await onStick(alice, ['--json', 'outbox'])).stdout)).toEqual([]);
    const folder = join(scratch.path, 'saved');
    mkdirSync(folder);
    const saved = await onStick(alice, ['read', (JSON.parse(sent.stdout) as { id: string }).id, '--save-attachments', folder]);
    expect(saved.status, saved.stderr).toBe(0);
    expect(sha256(readFileSync(join(folder, 'douze.bin')))).toBe(sha256(file));
    console.log(`caliop send readable outside, peak RSS: text only ${idle.peakRssMiB} MiB, 12 MiB file ${sent.peakRssMiB} MiB (${sent.seconds.toFixed(1)} s)`);
    // docs/limits.md, issue 13: a large send stays within 64 MiB of a text-only one.
    expect(sent.peakRssMiB - idle.peakRssMiB).toBeLessThan(64);
  });
});
