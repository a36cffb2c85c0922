// Issue 9 with the targets of issue 13: the sync of one message carrying a large attachment
// (docs/store.md §5.2: fetched, stored, decrypted, split, each attachment into its own blob,
// recorded, acknowledged), whole process, against `gpg -d` of gpg's ciphertext of the same
// file, in interleaved rounds, net of an empty sync of the same stick.
//
// One send serves every round: ana sends the file once to bob0 … bobN-1 (one stick per round,
// enrolled with the relay), so a round costs a sync, an empty sync and a `gpg -d`, not a send.
// Per round: `gpg -d`, bob_i's sync (the message), bob_i's sync again (nothing waiting), and
// the floor: the same bytes through node's primitives alone (large-sync-floor.ts).
// Medians of wall, CPU (user + system) and peak RSS by GNU time, with the minor page faults
// (on this machine a fresh page costs about 20 µs of system time: peak memory is CPU time).
//
//   npx tsc -p . && node build/scripts/bench/large-sync.js [MiB] [rounds]
// CALIOP_BENCH_CPU_PROF=DIR: a V8 CPU profile of every caliop command into DIR.
// CALIOP_BENCH_WRAP="strace -f -c -o FILE": the command put before each large sync (the
// figures of that run then include the tool's cost).
// CALIOP_BENCH_BASE_CLI=PATH/build/src/cli/main.js: another build's CLI (main before a change)
// synced in the same rounds, on sticks of its own, after ours: an A/B in the same run.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { writeIncompressibleFile } from './bench-files.js';
import { benchWorld, gpgPeer, median } from './large-attachment.js';

const DOMAIN = 'bench.test';

interface Run {
  readonly ms: number;
  readonly cpuMs: number;
  readonly maxRssMiB: number;
  readonly minorFaults: number;
  readonly stdout: string;
}

function timed(command: string, args: readonly string[], env: NodeJS.ProcessEnv, wrap: readonly string[] = []): Run {
  const started = performance.now();
  const result = spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M CPU %U %S MINOR %R', ...wrap, command, ...args], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`${command} ${args.slice(0, 8).join(' ')} failed (${result.status}): ${result.stderr.slice(-1500)}`);
  const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(result.stderr);
  return {
    ms,
    cpuMs: (Number(cpu?.[1]) + Number(cpu?.[2])) * 1000,
    maxRssMiB: Number(/MAXRSS (\d+)/.exec(result.stderr)?.[1]) / 1024,
    minorFaults: Number(/MINOR (\d+)/.exec(result.stderr)?.[1]),
    stdout: result.stdout,
  };
}

export async function benchLargeSyncs(mib = 25, rounds = 5): Promise<{ name: string; lines: string[] }> {
  const { work, load, relay, caliop, env } = await benchWorld('caliop-bench-sync-');
  try {
    const input = join(work, 'rapport.bin');
    writeIncompressibleFile(input, mib);
    const original = createHash('sha256').update(readFileSync(input)).digest('hex');
    const { gpg } = gpgPeer(work);
    gpg(['-se', '-r', 'peer@example.org', '-o', join(work, 'gpg.pgp'), input]);
    const baseCli = process.env.CALIOP_BENCH_BASE_CLI;
    const names = ['ana', ...Array.from({ length: baseCli ? 2 * rounds : rounds }, (_, index) => `bob${index}`)];
    const sticks = new Map<string, string>();
    for (const name of names) {
      const stick = join(work, name);
      mkdirSync(stick);
      caliop(stick, ['init', '--name', name, '--email', `${name}@${DOMAIN}`, '--allow-online', '--server', relay.url, '--server-pin', relay.pin!]);
      sticks.set(name, stick);
    }
    const bobs = names.slice(1);
    const sent = caliop(sticks.get('ana')!, ['--json', 'send', '--to', ...bobs.map((bob) => `${bob}@${DOMAIN}`), '--subject', 'bench', '--attach', input], 'the text\n');
    if ((JSON.parse(sent.stdout) as { queued: boolean }).queued) throw new Error('the message stayed queued');
    const profile = process.env.CALIOP_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.CALIOP_BENCH_CPU_PROF] : [];
    const wrap = process.env.CALIOP_BENCH_WRAP ? process.env.CALIOP_BENCH_WRAP.split(' ') : [];
    const ours = join(import.meta.dirname, '../../src/cli/main.js');
    const sync = (bob: string, expected: number, wrapped: readonly string[] = [], cli = ours) => {
      const run = timed(process.execPath, [...profile, cli, '--stick', sticks.get(bob)!, '--batch', '--passphrase-file', '@ENV:BENCH_PASSPHRASE', '--json', 'sync'], env, wrapped);
      const received = (JSON.parse(run.stdout) as { received: number }).received;
      if (received !== expected) throw new Error(`${bob}'s sync received ${received}, expected ${expected}`);
      return run;
    };
    const floor: number[] = [];
    const floorScript = join(import.meta.dirname, 'large-sync-floor.js');
    const m = { gpg: [] as Run[], sync: [] as Run[], empty: [] as Run[], baseSync: [] as Run[], baseEmpty: [] as Run[] };
    for (let round = 0; round < rounds; round += 1) {
      m.gpg.push(timed('gpg', ['--batch', '--yes', '--quiet', '-d', '-o', join(work, `gpg-${round}.out`), join(work, 'gpg.pgp')], { ...env, GNUPGHOME: join(work, 'gnupg') }));
      m.sync.push(sync(bobs[round]!, 1, wrap));
      m.empty.push(sync(bobs[round]!, 0));
      const measured = spawnSync(process.execPath, [floorScript, String(mib)], { encoding: 'utf8' });
      if (measured.status !== 0) throw new Error(`the floor script failed: ${measured.stderr.slice(-800)}`);
      floor.push((JSON.parse(measured.stdout) as { cpuMs: number }).cpuMs);
      if (baseCli) {
        m.baseSync.push(sync(bobs[rounds + round]!, 1, wrap, baseCli));
        m.baseEmpty.push(sync(bobs[rounds + round]!, 0, [], baseCli));
      }
    }
    // The attachment as stored: read back from the last stick, equal to the file sent.
    const last = bobs[rounds - 1]!;
    const inbox = JSON.parse(caliop(sticks.get(last)!, ['--json', 'inbox']).stdout) as { id: string }[];
    const listed = (JSON.parse(caliop(sticks.get(last)!, ['--json', 'read', inbox[0]!.id]).stdout) as { attachments: { sha256: string }[] }).attachments;
    if (listed[0]?.sha256 !== original) throw new Error('the stored attachment is not the file sent');
    load.push(loadavg()[0]!);
    const med = (list: readonly Run[], key: 'ms' | 'cpuMs' | 'maxRssMiB' | 'minorFaults') => median(list.map((entry) => entry[key]));
    const [wall, cpu] = [med(m.sync, 'ms') - med(m.empty, 'ms'), med(m.sync, 'cpuMs') - med(m.empty, 'cpuMs')];
    return {
      name: `the sync of one message with a ${mib} MiB attachment, ${rounds} interleaved rounds against gpg -d of the same file, net of an empty sync (caliop under Node ${process.versions.node})`,
      lines: [
        `caliop sync: net wall ${wall.toFixed(0)} ms, net CPU ${cpu.toFixed(0)} ms (whole ${med(m.sync, 'ms').toFixed(0)} / ${med(m.sync, 'cpuMs').toFixed(0)}, empty ${med(m.empty, 'ms').toFixed(0)} / ${med(m.empty, 'cpuMs').toFixed(0)}), peak RSS ${med(m.sync, 'maxRssMiB').toFixed(0)} MiB (empty ${med(m.empty, 'maxRssMiB').toFixed(0)}: +${(med(m.sync, 'maxRssMiB') - med(m.empty, 'maxRssMiB')).toFixed(0)}), minor faults ${med(m.sync, 'minorFaults')} (empty ${med(m.empty, 'minorFaults')})`,
        `gpg -d: wall ${med(m.gpg, 'ms').toFixed(0)} ms, CPU ${med(m.gpg, 'cpuMs').toFixed(0)} ms, ${med(m.gpg, 'maxRssMiB').toFixed(0)} MiB, minor faults ${med(m.gpg, 'minorFaults')}`,
        `net ratio ${(wall / med(m.gpg, 'ms')).toFixed(2)}x wall, ${(cpu / med(m.gpg, 'cpuMs')).toFixed(2)}x CPU`,
        `floor (the same bytes received over HTTPS, sealed, written and fsynced, decrypted, decoded, hashed by a plain node script): CPU ${median(floor).toFixed(0)} ms = ${(median(floor) / med(m.gpg, 'cpuMs')).toFixed(2)}x gpg -d; caliop's net sync ${(cpu / median(floor)).toFixed(2)}x the floor; per round ${floor.map((value) => value.toFixed(0)).join(', ')} ms`,
        ...(baseCli
          ? [
              `base (${baseCli}): net wall ${(med(m.baseSync, 'ms') - med(m.baseEmpty, 'ms')).toFixed(0)} ms, net CPU ${(med(m.baseSync, 'cpuMs') - med(m.baseEmpty, 'cpuMs')).toFixed(0)} ms, peak RSS +${(med(m.baseSync, 'maxRssMiB') - med(m.baseEmpty, 'maxRssMiB')).toFixed(0)} MiB, minor faults ${med(m.baseSync, 'minorFaults')}; net ratio ${((med(m.baseSync, 'cpuMs') - med(m.baseEmpty, 'cpuMs')) / med(m.gpg, 'cpuMs')).toFixed(2)}x CPU; per round ${m.baseSync.map((run, index) => (run.cpuMs - m.baseEmpty[index]!.cpuMs).toFixed(0)).join(', ')} ms`,
            ]
          : []),
        `each round: gpg -d, sync, empty sync; CPU per round (sync net): ${m.sync.map((run, index) => (run.cpuMs - m.empty[index]!.cpuMs).toFixed(0)).join(', ')} ms; gpg -d ${m.gpg.map((run) => run.cpuMs.toFixed(0)).join(', ')} ms`,
        `load average during the run: ${load.map((value) => value.toFixed(1)).join(' -> ')} (2 cores)`,
      ],
    };
  } finally {
    await relay.stop();
    spawnSync('gpgconf', ['--homedir', join(work, 'gnupg'), '--kill', 'all']);
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await benchLargeSyncs(Number(process.argv[2] ?? 25), Number(process.argv[3] ?? 5));
  console.log(result.name);
  for (const entry of result.lines) console.log('  ' + entry);
}
