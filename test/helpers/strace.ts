// A node script run under strace, one trace file per thread (-ff), each call on one line with
// its start time (-ttt) and its duration (-T), read back ordered by time. With every thread in
// one stream, strace split calls across lines under load ("<unfinished ...>", "<... resumed>")
// and twice (2026-12-01 and 12-02, load 4-6) lost the start of a thread-pool fsync altogether:
// a test read the trace, not the program (test/relay/sqlite-commit-durable.test.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TracedCall {
  readonly name: string;
  readonly args: string;
  readonly result: number;
  /** Seconds (Unix time) when the call began and ended. */
  readonly start: number;
  readonly end: number;
}

export interface TracedRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Every traced call of every thread, ordered by start time. */
  readonly calls: TracedCall[];
  /** strace's files as they were, for a failure's report. */
  readonly text: string;
}

/** Runs `node --input-type=module -e script` under strace in `folder` (a new sub-folder holds the traces), tracing `syscalls`. */
export function traceNodeScript(folder: string, script: string, syscalls: readonly string[]): TracedRun {
  const traces = mkdtempSync(join(folder, 'trace-'));
  const run = spawnSync('strace', ['-ff', '-ttt', '-T', '-o', join(traces, 't'), '-e', `trace=${syscalls.join(',')}`, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
  const files = readdirSync(traces).filter((name) => /^t\.\d+$/.test(name));
  const calls: TracedCall[] = [];
  const texts: string[] = [];
  for (const name of files) {
    const text = readFileSync(join(traces, name), 'utf8');
    texts.push(`== ${name}\n${text}`);
    for (const line of text.split('\n')) {
      const parsed = /^(\d+\.\d+) (\w+)\((.*)\) += (-?\d+)[^<]*<(\d+\.\d+)>$/.exec(line);
      if (parsed === null) continue;
      const begun = Number(parsed[1]);
      calls.push({ name: parsed[2]!, args: parsed[3]!, result: Number(parsed[4]), start: begun, end: begun + Number(parsed[5]) });
    }
  }
  calls.sort((a, b) => a.start - b.start);
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, calls, text: texts.join('\n') };
}
