// One pulled-stick trial: a child process is started, and SIGKILLed a random delay after
// it says `ready` on stdout (an event, not a time from the spawn: a loaded machine starts
// Node slowly). The child prints one line per step it has finished (stdout to a pipe is
// synchronous on Linux, so a printed line is a step done), and `done <ms>` when the
// whole operation is over, with its duration since `ready`. Used by
// test/hostile/pulled-stick.test.ts.
import { spawn } from 'node:child_process';

export interface KillTrialResult {
  /** Every line the child printed, `ready` and `done` included. */
  readonly lines: readonly string[];
  /** The kill came before the child said `done`: it landed in the middle of the operation. */
  readonly landed: boolean;
  /** ms from `ready` to `done`, when the child got there. */
  readonly doneMs: number | undefined;
}

export interface KillTrialOptions {
  readonly env: NodeJS.ProcessEnv;
  /** ms after `ready`; Infinity lets the child finish (a calibration run). */
  readonly delayMs: number;
  /** The line that starts the delay (default `ready`). */
  readonly startOn?: RegExp;
}

export function killTrial(command: string, args: readonly string[], options: KillTrialOptions): Promise<KillTrialResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    let timer: NodeJS.Timeout | undefined;
    const startOn = options.startOn ?? /^ready$/;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (timer !== undefined || !Number.isFinite(options.delayMs)) return;
      if (output.split('\n').slice(0, -1).some((line) => startOn.test(line))) timer = setTimeout(() => child.kill('SIGKILL'), options.delayMs);
    });
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = output.split('\n').filter((line) => line !== '');
      const done = lines.find((line) => line.startsWith('done'));
      if (signal !== 'SIGKILL' && code !== 0) return reject(new Error(`${args.join(' ')} failed (code ${code}): ${errors}`));
      if (signal === 'SIGKILL' && !lines.includes('ready')) return reject(new Error(`${args.join(' ')} killed before ready`));
      resolvePromise({ lines, landed: done === undefined, doneMs: done === undefined ? undefined : Number(done.split(' ')[1]) });
    });
  });
}

/**
 * Where in an operation to kill: uniformly over its measured length. The length is
 * learnt from the runs that finished (a calibration run first), as an average that
 * follows the machine's load.
 */
export class KillPoints {
  #span: number | undefined;

  /** The next delay after `ready`: Infinity until one run has been measured. */
  next(random: () => number = Math.random): number {
    return this.#span === undefined ? Number.POSITIVE_INFINITY : Math.floor(random() * this.#span);
  }

  learn(result: KillTrialResult): void {
    if (result.doneMs === undefined) return;
    // 10 % more than measured: the kill timer starts when the parent reads `ready`, a little after the child wrote it.
    const measured = result.doneMs * 1.1;
    this.#span = this.#span === undefined ? measured : 0.7 * this.#span + 0.3 * measured;
  }

  get span(): number | undefined {
    return this.#span;
  }
}
