// docs/decisions/mime.md item 6 (2026-12-02): what loading the charset detector lazily costs
// where it is not needed, A (main) against B (this branch), interleaved round by round, whole
// processes: the single executable's `--version` and first unlock (`key show`, the default
// KDF), CPU (user + system) and peak RSS by /usr/bin/time; the relay (tsc build, Node 20) from
// its start to its ready line, CPU and peak RSS read from /proc at that line; and, in one process
// each, the first reading of a message whose text needs a guess (readMailContent of
// nocharset-latin1.8bit.eml on A, of nocharset-koi8r.8bit.eml on B: the detector's import and
// first detection) against reading a UTF-8 one. Kept for the record; not a test.
//   node test/vectors/charset-detect/bench-start.mjs A_REPO B_REPO [ROUNDS]   (both built, and build:exe for linux-x64)
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const [A, B] = process.argv.slice(2, 4);
const ROUNDS = Number(process.argv[4] ?? 11);
const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
const range = (values) => `${Math.min(...values).toFixed(0)}-${Math.max(...values).toFixed(0)}`;
const work = mkdtempSync(join(tmpdir(), 'charset4-bench-'));
const env = { ...process.env, BENCH_PASSPHRASE: 'a long passphrase only for the benchmark 2026' };
const exe = (repo) => join(repo, 'dist', 'caliop-linux-x64');

function timed(argv) {
  const result = spawnSync('/usr/bin/time', ['-f', '%U %S %M', ...argv], { env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr}`);
  const [user, system, kib] = result.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { cpu: (user + system) * 1000, rss: kib / 1024 };
}

async function relayStart(repo) {
  const dir = mkdtempSync(join(work, 'relay-'));
  const child = spawn(process.execPath, [join(repo, 'build/src/relay/main.js'), '--data', dir, '--listen', '127.0.0.1:0', '--domain', 'caliop.test', '--insecure-http'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => line.startsWith('caliop-relay: listening on ') && resolve());
    child.once('exit', (code) => reject(new Error(`relay exited ${code}`)));
  });
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime + stime, in clock ticks (100 Hz)
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const rss = Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  return { cpu: ticks * 10, rss };
}

function firstReading(repo, file) {
  const script = `
    import { readFileSync } from 'node:fs';
    const { readMailContent } = await import(${JSON.stringify(join(repo, 'build/src/core/mail-content.js'))});
    await readMailContent(readFileSync(${JSON.stringify(join(B, 'test/vectors/mail-text/nocharset-utf8.8bit.eml'))}));
    const rss0 = process.memoryUsage().rss; const cpu0 = process.cpuUsage();
    const content = await readMailContent(readFileSync(${JSON.stringify(join(B, 'test/vectors/mail-text', file))}));
    const cpu = process.cpuUsage(cpu0); const rss = process.memoryUsage().rss;
    console.log(JSON.stringify({ cpu: (cpu.user + cpu.system) / 1000, rss: (rss - rss0) / 1048576, guess: content.charsetGuess }));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout);
}

const rows = {};
const add = (name, side, value) => ((rows[name] ??= { A: [], B: [] })[side].push(value));
const load = [loadavg()[0]];
const stick = join(work, 'stick');
mkdirSync(stick);
const made = spawnSync(exe(A), ['--stick', stick, '--batch', '--json', '--passphrase-file', '@ENV:BENCH_PASSPHRASE', 'init', '--name', 'Bench', '--email', 'bench@example.org', '--allow-online'], { env, encoding: 'utf8' });
if (made.status !== 0) throw new Error(made.stderr);
for (let round = 0; round < ROUNDS; round += 1) {
  // Both executables wholly in the page cache: their file-backed pages count in RSS, and a file
  // just built (all cached) showed 10-12 MiB more than one partly evicted, whichever it was.
  for (const repo of [A, B]) spawnSync('cat', [exe(repo)], { stdio: ['ignore', 'ignore', 'ignore'] });
  for (const [side, repo] of round % 2 === 0 ? [['A', A], ['B', B]] : [['B', B], ['A', A]]) {
    const version = timed([exe(repo), '--version']);
    add('caliop --version CPU ms', side, version.cpu);
    add('caliop --version peak RSS MiB', side, version.rss);
    const relay = await relayStart(repo);
    add('relay start to ready, CPU ms', side, relay.cpu);
    add('relay at ready, peak RSS MiB', side, relay.rss);
    if (round < Math.ceil(ROUNDS / 2)) {
      const unlock = timed([exe(repo), '--stick', stick, '--passphrase-file', '@ENV:BENCH_PASSPHRASE', 'key', 'show']);
      add('first unlock (key show) CPU ms', side, unlock.cpu);
      add('first unlock (key show) peak RSS MiB', side, unlock.rss);
    }
    const reading = firstReading(repo, side === 'A' ? 'nocharset-latin1.8bit.eml' : 'nocharset-koi8r.8bit.eml');
    add(`first guessed message read, CPU ms (A: latin1, B: koi8-r)`, side, reading.cpu);
    add(`first guessed message read, RSS growth MiB`, side, reading.rss);
  }
}
load.push(loadavg()[0]);
rmSync(work, { recursive: true, force: true });
for (const [name, { A: a, B: b }] of Object.entries(rows)) {
  console.log(`${name}: A ${median(a).toFixed(1)} (${range(a)}), B ${median(b).toFixed(1)} (${range(b)}), n=${a.length}+${b.length}`);
}
console.log(`load average (1 min) at start and end: ${load.map((value) => value.toFixed(1)).join(' -> ')} (2 cores)`);
