// Issue 9, the send side: `caliop send --attach` streams, files → MIME → OpenPGP → a
// sealed blob in the outbox → the relay (docs/api.md §8.2.1), over a real relay on
// loopback HTTPS. A multi-MiB file arrives byte for byte (read back with the receive
// path, `read --save-attachments`), having reached the relay as a streamed body (its
// chunks are in the relay's database before bob syncs); and the sender's peak memory
// (VmHWM of the process) stays far below the file's size.

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEnrolled, onStick, temporaryFolder, watched } from './helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const DOMAIN = 'caliop.example';
const MIB = 1024 * 1024;
const scratch = temporaryFolder('large-send');
let relay: RelayProcess;
let alice: string;
let bob: string;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Rows of the relay's message_chunks table (read beside the running relay: WAL lets a reader in). */
function relayChunkRows(): number {
  const db = new Database(join(scratch.path, 'relay', 'relay.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM message_chunks').pluck().get() as number;
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay'), extraArgs: ['--max-message-bytes', String(64 * MIB)] });
  alice = join(scratch.path, 'alice');
  bob = join(scratch.path, 'bob');
  for (const [stick, name] of [[bob, 'bob'], [alice, 'alice']] as const) {
    mkdirSync(stick);
    await initEnrolled(stick, name, `${name}@${DOMAIN}`, relay);
  }
}, 300_000);
afterAll(async () => {
  await relay?.stop();
  scratch.remove();
});

describe('caliop send --attach, streamed (issue 9)', { timeout: 600_000 }, () => {
  it('a 3 MiB file reaches the relay as a streamed body and arrives byte for byte', async () => {
    const file = randomBytes(3 * MIB);
    writeFileSync(join(scratch.path, 'trois.bin'), file);
    const sent = await onStick(alice, ['send', '--to', `bob@${DOMAIN}`, '--subject', 'Three MiB', '--attach', join(scratch.path, 'trois.bin')], { input: 'Big file.\n' });
    expect(sent.status, sent.stderr).toBe(0);
    // Streamed: held by the relay in 1 MiB chunks (a JSON submission holds it in one row, no chunk).
    expect(relayChunkRows()).toBeGreaterThanOrEqual(5);
    expect((await onStick(bob, ['sync'])).status).toBe(0);
    const inbox = JSON.parse((await onStick(bob, ['--json', 'inbox'])).stdout) as { id: string; subject: string }[];
    const id = inbox.find((entry) => entry.subject === 'Three MiB')!.id;
    const view = JSON.parse((await onStick(bob, ['--json', 'read', id])).stdout) as { signature: string; body: string; attachments: { name: string; size: number; sha256: string }[] };
    expect(view.signature).toBe('good');
    expect(view.body).toBe('Big file.\n');
    expect(view.attachments).toEqual([expect.objectContaining({ name: 'trois.bin', size: file.length, sha256: sha256(file) })]);
    const folder = join(scratch.path, 'saved');
    mkdirSync(folder);
    expect((await onStick(bob, ['read', id, '--save-attachments', folder])).status).toBe(0);
    expect(readFileSync(join(folder, 'trois.bin')).equals(file)).toBe(true);
  });

  it('peak memory does not grow with the file: 6 MiB and 30 MiB sent, against a text-only send', async () => {
    writeFileSync(join(scratch.path, 'six.bin'), randomBytes(6 * MIB));
    writeFileSync(join(scratch.path, 'trente.bin'), randomBytes(30 * MIB));
    const idle = await watched(alice, ['send', '--to', `bob@${DOMAIN}`, '--subject', 'idle'], 'no file\n');
    expect(idle.status, idle.stderr).toBe(0);
    // A peak RSS carries garbage not yet collected, more of it on a starved machine (the issue-16
    // loop, 2026-12-02: 6 MiB 134, 30 MiB 177 MiB at load 4 with other work, against +5 to +15
    // in every run before); that noise only adds, while a file held whole adds its bytes every
    // time. So the pair is measured again when a bound is passed, and each size counts at its
    // lowest peak (as test/cli-large-outbound.test.ts).
    const pairs: { small: number; large: number }[] = [];
    const lowest = (size: 'small' | 'large') => Math.min(...pairs.map((pair) => pair[size]));
    const growth = () => lowest('large') - lowest('small');
    do {
      const small = await watched(alice, ['send', '--to', `bob@${DOMAIN}`, '--subject', `Six MiB ${pairs.length}`, '--attach', join(scratch.path, 'six.bin')], 'six\n');
      expect(small.status, small.stderr).toBe(0);
      const large = await watched(alice, ['send', '--to', `bob@${DOMAIN}`, '--subject', `Thirty MiB ${pairs.length}`, '--attach', join(scratch.path, 'trente.bin')], 'thirty\n');
      expect(large.status, large.stderr).toBe(0);
      pairs.push({ small: small.peakRssMiB, large: large.peakRssMiB });
      console.log(`caliop send peak RSS: text only ${idle.peakRssMiB} MiB, 6 MiB file ${small.peakRssMiB} MiB, 30 MiB file ${large.peakRssMiB} MiB (${large.seconds.toFixed(1)} s)`);
    } while (pairs.length < 2 && (growth() >= 20 || lowest('large') - idle.peakRssMiB >= 64));
    const seen = pairs.map((pair) => `${pair.small} -> ${pair.large} MiB`).join('; ');
    // Held whole, 24 MiB more of file would add its MIME (+33 MiB) and its ciphertext (+45 MiB) at least.
    expect(growth(), seen).toBeLessThan(20);
    // docs/benchmarks.md, issue 9 target: at most 64 MiB above idle, whatever the size.
    expect(lowest('large') - idle.peakRssMiB, seen).toBeLessThan(64);
  });
});
