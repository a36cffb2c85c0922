// Issue 9, "Large messages, in bounded memory": a 25 MiB attachment sent and read, whole
// process (the built CLI), against gpg on the same file in the same run.
//
// - `caliop send --attach FILE` (read, MIME, encrypt and sign, outbox, submit to a real
//   relay over HTTPS on loopback) against `gpg -se` of the same file;
// - `caliop sync` of that message, received as a stream (docs/store.md §5.2: the
//   ciphertext streamed from the relay into its sealed object, decrypted as a stream from
//   it, the MIME split as a stream, each attachment into its own sealed object) against
//   `gpg -d` of gpg's ciphertext;
// - `caliop read ID --json` (what the arrival kept: headers, text, signature checks; the
//   attachment is not decrypted again) and
//   `caliop read ID --save-attachments DIR` (the attachment streamed from its object to
//   the folder), with the saved file compared byte for byte.
// Each caliop command is measured against its idle run (the same command on a message
// without an attachment: start-up, unlock, key derivation), peak RSS by GNU time.
// The relay runs with --max-message-bytes 64 MiB (its default, 48 MiB, carries a 25 MiB
// file: docs/limits.md §2.5). CALIOP_UNSAFE_TEST_KDF: unlock is not measured here.
// benchLargeSend: the send alone (streamed since issue 9: files → MIME → OpenPGP → outbox
// blob → streamed upload, docs/api.md §8.2.1), 10 and 25 MiB, interleaved with `gpg -se`
// of the same file, median of the rounds.
//
// benchLargeOutboundSend: the same send to an outside address (docs/api.md §8.7.1: the
// PGP/MIME message streamed to the relay, DKIM-signed and handed to an SMTP sink as a
// stream), 10 and 25 MiB, interleaved with `gpg -se`, with the relay's peak RSS.
//
// benchLargeRounds: the internal send and the sync of one large message, interleaved rounds
// with gpg -se / gpg -d, wall and CPU net of idle runs (`rounds [MiB] [rounds]`).
//
//   npx tsc -p . && node build/scripts/bench/large-attachment.js [MiB | send | outbound | rounds MiB N]
// CALIOP_BENCH_CPU_PROF=DIR writes a CPU profile of every caliop command into DIR.
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { writeIncompressibleFile } from './bench-files.js';
import { createInterface } from 'node:readline';
import { startRelayProcess } from '../../src/relay/relay-process.js';

const CLI = resolve(import.meta.dirname, '../../src/cli/main.js');
const MIB = 1024 * 1024;
const DOMAIN = 'bench.test';
const PASSPHRASE = 'a long passphrase only for the benchmark 2026';

export interface Measure {
  readonly ms: number;
  /** CPU time of the process (user + system, GNU time). */
  readonly cpuMs: number;
  readonly maxRssMiB: number;
  readonly stdout: string;
}

export function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, stdin = ''): Measure {
  const started = performance.now();
  const result = spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M CPU %U %S', command, ...args], { env, input: stdin, encoding: 'utf8', maxBuffer: 256 * MIB });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`${command} ${args.slice(0, 8).join(' ')} failed (${result.status}): ${result.stderr.slice(-1500)}`);
  const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(result.stderr);
  return { ms, cpuMs: (Number(cpu?.[1]) + Number(cpu?.[2])) * 1000, maxRssMiB: Number(/MAXRSS (\d+)/.exec(result.stderr)?.[1]) / 1024, stdout: result.stdout };
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The peer's side: a GnuPG home in `work` with peer@example.org's key (Ed25519 signing, Cv25519 encryption, no passphrase). */
export function gpgPeer(work: string): { gpg: (args: readonly string[]) => Measure; gpgEnv: NodeJS.ProcessEnv } {
  const gnupgHome = join(work, 'gnupg');
  mkdirSync(gnupgHome, { mode: 0o700 });
  const gpgEnv = { ...process.env, GNUPGHOME: gnupgHome };
  const gpg = (args: readonly string[]) => run('gpg', ['--batch', '--yes', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], gpgEnv);
  gpg(['--quick-gen-key', 'Peer <peer@example.org>', 'ed25519', 'sign', 'never']);
  const fpr = /fpr:::::::::([0-9A-F]{40}):/.exec(spawnSync('gpg', ['--with-colons', '--list-keys', 'peer@example.org'], { env: gpgEnv, encoding: 'utf8' }).stdout)![1]!;
  gpg(['--quick-add-key', fpr, 'cv25519', 'encr', 'never']);
  return { gpg, gpgEnv };
}

/** A work folder, a relay process that takes large messages without throttling, and `caliop` on a stick with the test KDF. */
export async function benchWorld(prefix: string, extraArgs: readonly string[] = []) {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const relayData = join(work, 'relay');
  mkdirSync(relayData);
  const load = [loadavg()[0]!];
  const relay = await startRelayProcess({
    dataDir: relayData,
    domain: DOMAIN,
    extraArgs: ['--max-message-bytes', String(64 * MIB), '--rate-burst', '1000000', '--rate-per-minute', '1000000', ...extraArgs],
    readyTimeoutMs: 90_000,
  });
  const env = { ...process.env, CALIOP_UNSAFE_TEST_KDF: '1', BENCH_PASSPHRASE: PASSPHRASE };
  // CALIOP_BENCH_CPU_PROF=DIR: each caliop command writes a V8 CPU profile there (node --cpu-prof).
  const profile = process.env.CALIOP_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.CALIOP_BENCH_CPU_PROF] : [];
  const caliop = (stick: string, args: readonly string[], stdin = '') =>
    run(process.execPath, [...profile, CLI, '--stick', stick, '--batch', '--passphrase-file', '@ENV:BENCH_PASSPHRASE', ...args], env, stdin);
  return { work, load, relay, caliop, env };
}

/** ana's and bob's sticks, made and enrolled with the bench's relay. */
async function enrolledSticks(work: string, relay: Awaited<ReturnType<typeof benchWorld>>['relay'], caliop: Awaited<ReturnType<typeof benchWorld>>['caliop']) {
  const sticks = { ana: join(work, 'ana'), bob: join(work, 'bob') };
  for (const [name, stick] of Object.entries(sticks)) {
    mkdirSync(stick);
    caliop(stick, ['init', '--name', name, '--email', `${name}@${DOMAIN}`, '--allow-online', '--server', relay.url, '--server-pin', relay.pin!]);
  }
  return sticks;
}

export async function benchLargeAttachment(mib = 25): Promise<{ name: string; lines: string[] }> {
  const { work, load, relay, caliop, env } = await benchWorld('caliop-bench-attach-');
  try {
    const sticks = await enrolledSticks(work, relay, caliop);
    const input = join(work, 'rapport.bin');
    const small = join(work, 'petit.txt');
    writeFileSync(small, 'a small attachment for the idle runs\n');
    writeIncompressibleFile(input, mib);

    // gpg on the same file, same run: sign and encrypt to a peer key, then decrypt.
    const { gpg } = gpgPeer(work);
    const gpgEnc = gpg(['-se', '-r', 'peer@example.org', '-o', join(work, 'gpg.pgp'), input]);
    const gpgDec = gpg(['-d', '-o', join(work, 'gpg.out'), join(work, 'gpg.pgp')]);

    // caliop: the idle message (a small attachment), then the large one.
    const send = (file: string) => caliop(sticks.ana, ['--json', 'send', '--to', `bob@${DOMAIN}`, '--subject', 'bench', '--attach', file], 'the text\n');
    const sendIdle = send(small);
    const sendLarge = send(input);
    // Should the upload be cut (a relay refusing a body slower than 16 KiB/s, docs/api.md §10.1),
    // the message waits in the outbox and the next sync delivers it (said in the result).
    let flushes = 0;
    while ((JSON.parse(caliop(sticks.ana, ['--json', 'outbox']).stdout) as unknown[]).length > 0) {
      if (++flushes > 3) throw new Error(`the large message stayed queued: ${caliop(sticks.ana, ['--json', 'outbox']).stdout}`);
      spawnSync(process.execPath, [CLI, '--stick', sticks.ana, '--batch', '--passphrase-file', '@ENV:BENCH_PASSPHRASE', 'sync'], { env, stdio: 'ignore' }); // exit 30 when cut again
    }
    const syncBoth = caliop(sticks.bob, ['--json', 'sync']);
    if ((JSON.parse(syncBoth.stdout) as { received: number }).received !== 2) throw new Error(`sync: ${syncBoth.stdout}`);
    const syncIdle = caliop(sticks.bob, ['--json', 'sync']); // nothing new: start-up, unlock, one page
    const inbox = JSON.parse(caliop(sticks.bob, ['--json', 'inbox']).stdout) as { id: string }[];
    const [largeId, smallId] = [inbox[0]!.id, inbox[1]!.id];
    const readIdle = caliop(sticks.bob, ['--json', 'read', smallId]);
    const readLarge = caliop(sticks.bob, ['--json', 'read', largeId]);
    const listed = (JSON.parse(readLarge.stdout) as { attachments: { size: number; sha256: string }[] }).attachments;
    const original = sha256(input);
    if (listed[0]?.sha256 !== original) throw new Error('read --json does not list the attachment as sent');
    const out = (name: string) => {
      const folder = join(work, name);
      mkdirSync(folder);
      return folder;
    };
    const saveIdle = caliop(sticks.bob, ['--json', 'read', smallId, '--save-attachments', out('saved-idle')]);
    const saveFolder = out('saved');
    const saveLarge = caliop(sticks.bob, ['--json', 'read', largeId, '--save-attachments', saveFolder]);
    if (sha256(join(saveFolder, 'rapport.bin')) !== original) throw new Error('the saved attachment differs from the original');
    if (sha256(join(work, 'gpg.out')) !== original) throw new Error('gpg did not give the original back');
    load.push(loadavg()[0]!);

    const line = (what: string, ours: Measure, idle: Measure, peer: Measure, peerName: string) =>
      `${what}: ${ours.ms.toFixed(0)} ms (idle ${idle.ms.toFixed(0)} ms, net ${(ours.ms - idle.ms).toFixed(0)} ms), peak RSS ${ours.maxRssMiB.toFixed(0)} MiB (idle ${idle.maxRssMiB.toFixed(0)}: +${(ours.maxRssMiB - idle.maxRssMiB).toFixed(0)} MiB) | ${peerName}: ${peer.ms.toFixed(0)} ms, ${peer.maxRssMiB.toFixed(0)} MiB | ratio ${(ours.ms / peer.ms).toFixed(2)}x whole, ${((ours.ms - idle.ms) / peer.ms).toFixed(2)}x net`;
    return {
      name: `a ${mib} MiB attachment sent and read, whole process, against gpg on the same file (real relay over HTTPS on loopback; caliop under Node ${process.versions.node})`,
      lines: [
        line('caliop send --attach', sendLarge, sendIdle, gpgEnc, 'gpg -se'),
        line('caliop sync (both messages)', syncBoth, syncIdle, gpgDec, 'gpg -d'),
        line('caliop read --json', readLarge, readIdle, gpgDec, 'gpg -d'),
        line('caliop read --save-attachments', saveLarge, saveIdle, gpgDec, 'gpg -d'),
        ...(flushes > 0 ? [`the send's upload was cut (load ${load[0]!.toFixed(0)}): delivered by ${flushes} later sync(s)`] : []),
        `saved attachment equal to the original (sha256 ${original.slice(0, 16)}…)`,
        `load average during the run: ${load.map((value) => value.toFixed(1)).join(' -> ')} (2 cores)`,
      ],
    };
  } finally {
    await relay.stop();
    spawnSync('gpgconf', ['--homedir', join(work, 'gnupg'), '--kill', 'all']);
    rmSync(work, { recursive: true, force: true });
  }
}

export const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** `rounds` interleaved sends of one incompressible `mib` MiB file: `gpg -se` of it, then ours
 *  (`sendOurs`); the medians of their times and peak RSS. The file is removed after. */
async function sendRounds(work: string, gpg: (args: readonly string[]) => Measure, mib: number, rounds: number, sendOurs: (input: string) => Measure | Promise<Measure>) {
  const input = join(work, `file-${mib}.bin`);
  writeIncompressibleFile(input, mib);
  const ours: Measure[] = [];
  const peer: Measure[] = [];
  try {
    for (let round = 0; round < rounds; round += 1) {
      peer.push(gpg(['-se', '-r', 'peer@example.org', '-o', join(work, `gpg-${mib}-${round}.pgp`), input]));
      ours.push(await sendOurs(input));
    }
  } finally {
    rmSync(input, { force: true });
  }
  return { oursMs: median(ours.map((m) => m.ms)), peerMs: median(peer.map((m) => m.ms)), oursRss: median(ours.map((m) => m.maxRssMiB)), peerRss: median(peer.map((m) => m.maxRssMiB)) };
}

/** Issue 9: `caliop send --attach` of 10 and 25 MiB against `gpg -se` of the same file, interleaved, `rounds` each. */
export async function benchLargeSend(sizesMiB: readonly number[] = [10, 25], rounds = 3): Promise<{ name: string; lines: string[] }> {
  const { work, load, relay, caliop } = await benchWorld('caliop-bench-send-');
  try {
    const sticks = await enrolledSticks(work, relay, caliop);
    const { gpg } = gpgPeer(work);
    const idle = caliop(sticks.ana, ['--json', 'send', '--to', `bob@${DOMAIN}`, '--subject', 'idle'], 'the text\n');
    const lines: string[] = [];
    for (const mib of sizesMiB) {
      const { oursMs, peerMs, oursRss, peerRss } = await sendRounds(work, gpg, mib, rounds, (input) => {
        const sent = caliop(sticks.ana, ['--json', 'send', '--to', `bob@${DOMAIN}`, '--subject', `${mib} MiB`, '--attach', input], 'the text\n');
        if ((JSON.parse(sent.stdout) as { queued: boolean }).queued) throw new Error(`the ${mib} MiB message stayed queued`);
        return sent;
      });
      lines.push(
        `${mib} MiB: caliop send --attach ${oursMs.toFixed(0)} ms (net of a text-only send ${(oursMs - idle.ms).toFixed(0)} ms), peak RSS ${oursRss.toFixed(0)} MiB (text-only ${idle.maxRssMiB.toFixed(0)}: +${(oursRss - idle.maxRssMiB).toFixed(0)} MiB) | gpg -se ${peerMs.toFixed(0)} ms, ${peerRss.toFixed(0)} MiB | ratio ${(oursMs / peerMs).toFixed(2)}x whole, ${((oursMs - idle.ms) / peerMs).toFixed(2)}x net`,
      );
    }
    load.push(loadavg()[0]!);
    lines.push(`median of ${rounds} interleaved rounds (gpg, caliop, gpg, caliop…); caliop's send includes MIME, encryption and signing, sealing in the outbox and the upload to the relay`);
    lines.push(`load average during the run: ${load.map((value) => value.toFixed(1)).join(' -> ')} (2 cores)`);
    return { name: `attachments sent, whole process, against gpg -se of the same file (real relay over HTTPS on loopback; caliop under Node ${process.versions.node})`, lines };
  } finally {
    await relay.stop();
    spawnSync('gpgconf', ['--homedir', join(work, 'gnupg'), '--kill', 'all']);
    rmSync(work, { recursive: true, force: true });
  }
}

/** Median CPU and wall of `ours` net of `idle`, against `peer`: "a/b ms" figures and both ratios. */
function netLine(what: string, ours: readonly Measure[], idle: readonly Measure[], peer: readonly Measure[], peerName: string): string {
  const m = (list: readonly Measure[], key: 'ms' | 'cpuMs' | 'maxRssMiB') => median(list.map((entry) => entry[key]));
  const [wall, cpu] = [m(ours, 'ms') - m(idle, 'ms'), m(ours, 'cpuMs') - m(idle, 'cpuMs')];
  return `${what}: net wall ${wall.toFixed(0)} ms, net CPU ${cpu.toFixed(0)} ms (whole ${m(ours, 'ms').toFixed(0)} / ${m(ours, 'cpuMs').toFixed(0)}, idle ${m(idle, 'ms').toFixed(0)} / ${m(idle, 'cpuMs').toFixed(0)}), peak RSS ${m(ours, 'maxRssMiB').toFixed(0)} MiB (idle ${m(idle, 'maxRssMiB').toFixed(0)}: +${(m(ours, 'maxRssMiB') - m(idle, 'maxRssMiB')).toFixed(0)}) | ${peerName} wall ${m(peer, 'ms').toFixed(0)} ms, CPU ${m(peer, 'cpuMs').toFixed(0)} ms, ${m(peer, 'maxRssMiB').toFixed(0)} MiB | net ratio ${(wall / m(peer, 'ms')).toFixed(2)}x wall, ${(cpu / m(peer, 'cpuMs')).toFixed(2)}x CPU`;
}

/**
 * Issue 9, the sync of one large message and its send, in interleaved rounds: each round
 * `gpg -se`, the large send, the idle send (a tiny attachment), `gpg -d`, the large message's
 * sync, the idle message's sync; medians of wall and CPU (user + system), net of the idle runs.
 */
export async function benchLargeRounds(mib = 25, rounds = 3): Promise<{ name: string; lines: string[] }> {
  const { work, load, relay, caliop } = await benchWorld('caliop-bench-rounds-');
  try {
    const sticks = await enrolledSticks(work, relay, caliop);
    const { gpg } = gpgPeer(work);
    const input = join(work, 'rapport.bin');
    const small = join(work, 'petit.txt');
    writeFileSync(small, 'a small attachment for the idle runs\n');
    writeIncompressibleFile(input, mib);
    const send = (file: string) => {
      const sent = caliop(sticks.ana, ['--json', 'send', '--to', `bob@${DOMAIN}`, '--subject', 'bench', '--attach', file], 'the text\n');
      if ((JSON.parse(sent.stdout) as { queued: boolean }).queued) throw new Error('the message stayed queued');
      return sent;
    };
    const sync = () => {
      const synced = caliop(sticks.bob, ['--json', 'sync']);
      if ((JSON.parse(synced.stdout) as { received: number }).received !== 1) throw new Error(`sync: ${synced.stdout}`);
      return synced;
    };
    const m = { gpgEnc: [] as Measure[], gpgDec: [] as Measure[], send: [] as Measure[], sendIdle: [] as Measure[], sync: [] as Measure[], syncIdle: [] as Measure[] };
    for (let round = 0; round < rounds; round += 1) {
      m.gpgEnc.push(gpg(['-se', '-r', 'peer@example.org', '-o', join(work, `gpg-${round}.pgp`), input]));
      m.send.push(send(input));
      m.gpgDec.push(gpg(['-d', '-o', join(work, `gpg-${round}.out`), join(work, `gpg-${round}.pgp`)]));
      m.sync.push(sync());
      m.sendIdle.push(send(small));
      m.syncIdle.push(sync());
    }
    load.push(loadavg()[0]!);
    return {
      name: `a ${mib} MiB attachment, internal send and sync, ${rounds} interleaved rounds against gpg on the same file (caliop under Node ${process.versions.node})`,
      lines: [
        netLine('caliop send --attach', m.send, m.sendIdle, m.gpgEnc, 'gpg -se'),
        netLine('caliop sync (one message)', m.sync, m.syncIdle, m.gpgDec, 'gpg -d'),
        `load average during the run: ${load.map((value) => value.toFixed(1)).join(' -> ')} (2 cores)`,
      ],
    };
  } finally {
    await relay.stop();
    spawnSync('gpgconf', ['--homedir', join(work, 'gnupg'), '--kill', 'all']);
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * An SMTP server on loopback standing for the smarthost: it counts what it receives and keeps
 * nothing. It runs in its own process, since the bench runs `caliop` with spawnSync, which
 * blocks this process's event loop while the relay hands the message over.
 */
async function countingSink(): Promise<{ port: number; received: number[]; waitFor(count: number): Promise<void>; close(): Promise<void> }> {
  const code = `
    import { SMTPServer } from 'smtp-server';
    const server = new SMTPServer({ authOptional: true, disabledCommands: ['AUTH', 'STARTTLS'], logger: false,
      onData(stream, _session, callback) {
        let bytes = 0;
        stream.on('data', (chunk) => (bytes += chunk.length));
        stream.on('end', () => { process.stdout.write('RECEIVED ' + bytes + '\\n'); callback(null, 'Ok: queued as BENCH'); });
      } });
    server.listen(0, '127.0.0.1', () => process.stdout.write('PORT ' + server.server.address().port + '\\n'));
    process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: resolve(import.meta.dirname, '../..'), stdio: ['pipe', 'pipe', 'inherit'] });
  const received: number[] = [];
  let waiting: (() => void) | null = null;
  const port = await new Promise<number>((done, fail) => {
    child.once('exit', (status) => fail(new Error(`the SMTP sink exited (${status})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const [word, value] = line.split(' ');
      if (word === 'PORT') done(Number(value));
      if (word === 'RECEIVED') {
        received.push(Number(value));
        waiting?.();
      }
    });
  });
  return {
    port,
    received,
    waitFor: (count) =>
      new Promise<void>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`the SMTP sink received ${received.length} messages, expected ${count}`)), 60_000);
        const check = () => {
          if (received.length >= count) {
            clearTimeout(timer);
            waiting = null;
            done();
          }
        };
        waiting = check;
        check();
      }),
    close: () =>
      new Promise<void>((done) => {
        child.once('exit', () => done());
        child.stdin!.end();
      }),
  };
}

/** The relay's peak RSS so far (VmHWM), MiB. */
function peakRssMiBOf(pid: number | undefined): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) / 1024;
}

/**
 * Issue 9, outside-bound: `caliop send --attach` to an outside address (PGP/MIME built as a
 * stream into the outbox blob, streamed to the relay's POST /v1/outbound, docs/api.md §8.7.1,
 * stored in chunks, DKIM-signed and handed to an SMTP sink as a stream), interleaved with
 * `gpg -se` of the same file; the sender's peak RSS over a text-only outside send, and the
 * relay's own peak RSS before and after.
 */
export async function benchLargeOutboundSend(sizesMiB: readonly number[] = [10, 25], rounds = Number(process.env.CALIOP_BENCH_ROUNDS ?? 3)): Promise<{ name: string; lines: string[] }> {
  const sink = await countingSink();
  const { work, load, relay, caliop } = await benchWorld('caliop-bench-outbound-', ['--smarthost', `127.0.0.1:${sink.port}`, '--smarthost-tls', 'none']);
  try {
    const sticks = await enrolledSticks(work, relay, caliop);
    const { gpg, gpgEnv } = gpgPeer(work);
    caliop(sticks.ana, ['contacts', 'import'], spawnSync('gpg', ['--armor', '--export', 'peer@example.org'], { env: gpgEnv, encoding: 'utf8' }).stdout);
    const idle = caliop(sticks.ana, ['--json', 'send', '--to', 'peer@example.org', '--subject', 'idle'], 'the text\n');
    const relayIdle = peakRssMiBOf(relay.child.pid);
    const lines: string[] = [];
    for (const mib of sizesMiB) {
      const { oursMs, peerMs, oursRss, peerRss } = await sendRounds(work, gpg, mib, rounds, async (input) => {
        const before = sink.received.length;
        const sent = caliop(sticks.ana, ['--json', 'send', '--to', 'peer@example.org', '--subject', `${mib} MiB`, '--attach', input], 'the text\n');
        if ((JSON.parse(sent.stdout) as { queued: boolean }).queued) throw new Error(`the ${mib} MiB message was queued instead of handed to the sink: ${sent.stdout.replace(/\s+/g, ' ').slice(0, 900)}`);
        await sink.waitFor(before + 1);
        return sent;
      });
      lines.push(
        `${mib} MiB to the outside (${(sink.received.at(-1)! / MIB).toFixed(1)} MiB delivered): caliop send --attach ${oursMs.toFixed(0)} ms (net of a text-only outside send ${(oursMs - idle.ms).toFixed(0)} ms), peak RSS ${oursRss.toFixed(0)} MiB (text-only ${idle.maxRssMiB.toFixed(0)}: +${(oursRss - idle.maxRssMiB).toFixed(0)} MiB) | gpg -se ${peerMs.toFixed(0)} ms, ${peerRss.toFixed(0)} MiB | ratio ${(oursMs / peerMs).toFixed(2)}x whole, ${((oursMs - idle.ms) / peerMs).toFixed(2)}x net; relay peak RSS ${peakRssMiBOf(relay.child.pid).toFixed(0)} MiB (after the idle send ${relayIdle.toFixed(0)})`,
      );
    }
    load.push(loadavg()[0]!);
    lines.push(`median of ${rounds} interleaved rounds (gpg, caliop, gpg, caliop…); caliop's send includes MIME, encryption and signing, the PGP/MIME blob, the streamed upload, and the relay's DKIM signing and SMTP hand-over, answered after the sink's 250`);
    lines.push(`load average during the run: ${load.map((value) => value.toFixed(1)).join(' -> ')} (2 cores)`);
    return { name: `attachments sent to an outside address, whole process, against gpg -se of the same file (real relay over HTTPS, SMTP sink on loopback; caliop under Node ${process.versions.node})`, lines };
  } finally {
    await relay.stop();
    await sink.close();
    spawnSync('gpgconf', ['--homedir', join(work, 'gnupg'), '--kill', 'all']);
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result =
    process.argv[2] === 'send' ? await benchLargeSend() : process.argv[2] === 'rounds' ? await benchLargeRounds(Number(process.argv[3] ?? 25), Number(process.argv[4] ?? 3)) : process.argv[2] === 'outbound' ? await benchLargeOutboundSend() : await benchLargeAttachment(Number(process.argv[2] ?? 25));
  console.log(result.name);
  for (const entry of result.lines) console.log('  ' + entry);
}
