// A CPU load made by the test itself: busy loops in child processes (one per core
// of this machine's CI), stopped by the test. The interface must lose no key while
// the machine is this busy (docs/ui.md §5).
import { spawn, type ChildProcess } from 'node:child_process';

export interface BusyLoops {
  stop(): void;
}

export function busyLoops(count = 2): BusyLoops {
  const children: ChildProcess[] = [];
  for (let index = 0; index < count; index++) {
    const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    child.unref();
    children.push(child);
  }
  return {
    stop() {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
