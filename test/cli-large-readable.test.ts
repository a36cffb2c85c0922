// Issue 9, readable mail to the outside with a large attachment: with the user's consent
// (--allow-exposed, docs/exposure.md §2.3), `caliop send --attach` to an address without a
// cert builds the readable RFC 5322 message as a stream into a blob of the outbox
// (docs/store.md §5.1, buildPlainMessageStream), uploads it to the real relay as a streamed
// body (docs/api.md §8.7.1), which stores it in chunks, DKIM-signs it from the stream and
// hands it to a real SMTP sink. The sink receives the file byte for byte (read by Python's
// email), the DKIM signature verifies with mailauth, the sent copy gives the same file back,
// and the sender's peak memory stays within the bound over a text-only readable send.

import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { authenticate } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolverFromRecords } from '../src/relay/gateway/dns-records.js';
import { existingDkimKey } from '../src/relay/gateway/dkim.js';
import { initEnrolled, onStick, temporaryFolder, watched } from './helpers/caliop.js';
import { startSink, type Sink } from './helpers/smtp.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const DOMAIN = 'caliop.example';
const MIB = 1024 * 1024;
const scratch = temporaryFolder('large-readable');
let relay: RelayProcess;
let sink: Sink;
let alice: string;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Python's email package: the text and the attachments of a MIME message ([name, sha256]). */
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
}, 300_000);
afterAll(async () => {
  await relay?.stop();
  await sink?.close();
  scratch.remove();
});

describe('caliop send --attach --allow-exposed to the outside, readable, streamed (issue 9)', { timeout: 900_000 }, () => {
  it('a 12 MiB file reaches a real SMTP sink byte for byte, readable and DKIM-signed; the sent copy gives it back; memory bounded', async () => {
    const file = randomBytes(12 * MIB);
    writeFileSync(join(scratch.path, 'douze.bin'), file);
    const idle = await watched(alice, ['send', '--to', 'nocert@elsewhere.test', '--subject', 'idle', '--allow-exposed'], 'no file\n');
    expect(idle.status, idle.stderr).toBe(0);
    expect(sink.received).toHaveLength(1);
    const sent = await watched(alice, ['--json', 'send', '--to', 'nocert@elsewhere.test', '--subject', 'Douze Mio, lisible', '--allow-exposed', '--attach', join(scratch.path, 'douze.bin')], 'Un gros fichier, lisible.\n');
    expect(sent.status, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ queued: false });
    expect(sink.received).toHaveLength(2);
    const delivered = sink.received[1]!.raw;
    // Streamed in: the relay's log says so (a JSON submission is not).
    expect(relay.stderrLines.some((line) => line.includes('"event":"outbound_sent"') && line.includes('"streamed":true'))).toBe(true);
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
    expect((result.dkim.results ?? []).map((row) => [row.signingDomain, row.status.result])).toEqual([[DOMAIN, 'pass']]);
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
