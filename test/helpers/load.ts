// A CPU load made by the test itself: busy loops in child processes (one per core
// of this machine's CI), stopped by the test. The interface must lose no key while
// the machine is this busy (docs/ui.md §5).
import { spawn, type ChildProcess } from 'node:child_process';

/** Spins; every ~50 ms of work checks that the parent (argv[1]) is still its parent. */
const BUSY_LOOP = `const parent = Number(process.argv[1]);
for (let spins = 0; ; spins++) if (spins % 5e6 === 0 && process.ppid !== parent) process.exit(0);`;

export interface BusyLoops {
  stop(): void;
}

export function busyLoops(count = 2): BusyLoops {
  const children: ChildProcess[] = [];
  for (let index = 0; index < count; index++) {
    // The loop ends itself when its parent is gone (a killed vitest worker would otherwise leave it
    // spinning: two of them ran on for an hour after a stopped `test:repeat`, 2026-12-01).
    const child = spawn(process.execPath, ['-e', BUSY_LOOP, String(process.pid)], { stdio: 'ignore' });
    child.unref();
    children.push(child);
  }
  return {
    stop() {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
