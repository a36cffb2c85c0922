// `npm run test:repeat -- N [--log FILE]`: runs `npm test` N times in a row and stops at
// the first run that fails (issue 16: "`npm test` passes ten times in a row on this
// machine with other work running (state how you checked it)"). For each run the log
// gets the commit, the start and end (UTC), the load average before and after, the
// passed/failed/skipped counts from vitest's JSON report, and the name of every
// failing test; the whole output of each run is kept beside the log (run-K.log).
// Every run is the run CI makes (.ci/run): unless CALIOP_TEST_POSTGRES already names a
// server, each run gets a throwaway PostgreSQL server on loopback (.ci/postgres start, on
// a free port), CALIOP_TEST_POSTGRES and CALIOP_TEST_POSTGRES_REQUIRED=1, so that the
// PostgreSQL suites run too and cannot be skipped silently; it is stopped after the run
// (also on Ctrl-C). `--no-postgres` runs without them (the log says so).
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

interface VitestAssertion { fullName?: string; title?: string; status: string; ancestorTitles?: string[] }
interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests?: number;
  numFailedTestSuites: number;
  testResults: { name: string; status: string; message?: string; assertionResults: VitestAssertion[] }[];
}

const USAGE = 'usage: npm run test:repeat -- N [--log FILE] [--no-postgres] [-- VITEST ARGS…]   (runs `npm test` N times, stops at the first failure; each run with a throwaway PostgreSQL server unless CALIOP_TEST_POSTGRES is set or --no-postgres; VITEST ARGS, e.g. test files, narrow each run)';

function parseArguments(argv: readonly string[]): { runs: number; log: string; vitest: string[]; postgres: boolean } {
  let runs: number | undefined;
  let log = 'test/artifacts/tmp/test-repeat/test-repeat.log';
  let postgres = true;
  const vitest: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    if (arg === '--') {
      vitest.push(...argv.slice(index + 1));
      break;
    }
    if (arg === '--log' && argv[index + 1] !== undefined) log = argv[++index]!;
    else if (arg === '--no-postgres') postgres = false;
    else if (/^[1-9][0-9]{0,3}$/.test(arg) && runs === undefined) runs = Number(arg);
    else throw new Error(`${USAGE}\nunexpected argument: ${arg}`);
  }
  if (runs === undefined) throw new Error(USAGE);
  return { runs, log: resolve(log), vitest, postgres };
}

/** A TCP port nothing listens on at this moment (the kernel's choice). */
function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePromise(port));
    });
  });
}

interface Postgres {
  url: string;
  stop(): void;
}

/** `.ci/postgres start` in a fresh folder, as .ci/run does; stop() removes it (safe to call twice). */
async function startPostgres(): Promise<Postgres> {
  const folder = mkdtempSync(join(tmpdir(), 'caliop-test-repeat-postgres-'));
  const port = await freePort();
  let url: string;
  try {
    url = execFileSync('bash', ['.ci/postgres', 'start', folder, String(port)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`could not start PostgreSQL (.ci/postgres start): ${stderr || (error as Error).message}; install it (apt-get install postgresql), set CALIOP_TEST_POSTGRES, or pass --no-postgres`);
  }
  let stopped = false;
  return {
    url,
    stop: () => {
      if (stopped) return;
      stopped = true;
      try {
        execFileSync('bash', ['.ci/postgres', 'stop', folder], { stdio: 'ignore' });
      } catch {
        rmSync(folder, { recursive: true, force: true });
      }
    },
  };
}

function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

function head(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${commit} (with uncommitted changes)` : commit;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** One `npm test`, its output to `output`; resolves with its exit status. */
function npmTest(reportPath: string, output: string, vitest: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const out = createWriteStream(output);
  const child = spawn('npm', ['test', '--', '--reporter=default', '--reporter=json', `--outputFile.json=${reportPath}`, ...vitest], { stdio: ['ignore', 'pipe', 'pipe'], env });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      out.end(() => resolvePromise(code ?? (signal ? 128 : 1)));
    });
  });
}

function failingTests(report: VitestReport): string[] {
  const names: string[] = [];
  for (const file of report.testResults) {
    const failed = file.assertionResults.filter((test) => test.status === 'failed');
    for (const test of failed) names.push(`${file.name.replace(`${process.cwd()}/`, '')} > ${test.fullName ?? [...(test.ancestorTitles ?? []), test.title].join(' > ')}`);
    // A file that failed outside any test (a hook, an import): no assertion says so.
    if (file.status === 'failed' && failed.length === 0) names.push(`${file.name.replace(`${process.cwd()}/`, '')} (the file itself: ${(file.message ?? '').split('\n')[0]!.slice(0, 200)})`);
  }
  return names;
}

async function main(): Promise<number> {
  const { runs, log, vitest, postgres } = parseArguments(process.argv.slice(2));
  const givenPostgres = process.env.CALIOP_TEST_POSTGRES;
  const ownPostgres = postgres && !givenPostgres;
  const folder = dirname(log);
  mkdirSync(folder, { recursive: true });
  const write = (line: string): void => {
    appendFileSync(log, `${line}\n`);
    process.stdout.write(`${line}\n`);
  };
  write(`test-repeat: ${runs} runs of \`npm test\` in ${process.cwd()}, stopping at the first failure${vitest.length > 0 ? ` (narrowed: vitest ${vitest.join(' ')})` : ''}; ${givenPostgres ? 'with the PostgreSQL server in CALIOP_TEST_POSTGRES' : ownPostgres ? 'with a throwaway PostgreSQL server per run (.ci/postgres, as .ci/run)' : 'WITHOUT the PostgreSQL suites (--no-postgres)'}; ${(await import('node:os')).cpus().length} cores`);
  let passedRuns = 0;
  for (let run = 1; run <= runs; run += 1) {
    const reportPath = join(folder, `run-${run}.json`);
    const output = join(folder, `run-${run}.log`);
    rmSync(reportPath, { force: true });
    const commit = head();
    const started = new Date();
    const loadBefore = loadAverage();
    const server = ownPostgres ? await startPostgres() : undefined;
    const stopOnSignal = (signal: NodeJS.Signals): void => {
      server?.stop();
      process.kill(process.pid, signal);
    };
    process.once('SIGINT', stopOnSignal);
    process.once('SIGTERM', stopOnSignal);
    const env = server ? { ...process.env, CALIOP_TEST_POSTGRES: server.url, CALIOP_TEST_POSTGRES_REQUIRED: '1' } : process.env;
    let status: number;
    try {
      status = await npmTest(reportPath, output, vitest, env);
    } finally {
      server?.stop();
      process.off('SIGINT', stopOnSignal);
      process.off('SIGTERM', stopOnSignal);
    }
    const ended = new Date();
    const report = existsSync(reportPath) ? (JSON.parse(readFileSync(reportPath, 'utf8')) as VitestReport) : undefined;
    const counts = report
      ? `${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests + (report.numTodoTests ?? 0)} skipped, ${report.numFailedTestSuites} files failed`
      : 'no vitest report (the build or the type check failed: see the run log)';
    const minutes = ((ended.getTime() - started.getTime()) / 60_000).toFixed(1);
    write(`run ${run}/${runs}: HEAD ${commit}; ${started.toISOString()} -> ${ended.toISOString()} (${minutes} min); load ${loadBefore} -> ${loadAverage()}; exit ${status}; ${counts}; output ${output}`);
    const failures = report ? failingTests(report) : [];
    for (const name of failures) write(`  failed: ${name}`);
    if (status !== 0 || !report || report.numFailedTests > 0 || report.numFailedTestSuites > 0) {
      write(`test-repeat: stopped at run ${run}: ${passedRuns} run(s) in a row passed before it`);
      return 1;
    }
    passedRuns += 1;
  }
  write(`test-repeat: ${passedRuns} runs in a row passed`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`test-repeat: error: ${(error as Error).message}\n`);
    process.exitCode = 2;
  },
);
