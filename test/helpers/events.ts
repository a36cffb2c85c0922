// Waiting on an event instead of a fixed sleep (tests must pass under load).
import type { EventEmitter } from 'node:events';

/** Resolves on the next `event` of `emitter` whose line matches; rejects after a generous guard, never a sleep. */
export function nextMatchingLine(emitter: EventEmitter, event: string, match: (line: string) => boolean, guardMs = 90_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no ${event} log line in time`));
    }, guardMs);
    const listener = (line: string) => {
      if (!match(line)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(line);
    };
    emitter.on(event, listener);
  });
}
