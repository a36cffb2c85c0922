// The controlling terminal: prompts that work even when stdin/stdout carry data
// (`caliop decrypt < in > out` still asks for the passphrase), hidden input for
// secrets, and the checks behind "refusing to write binary to the terminal".
import { openSync, closeSync } from 'node:fs';
import tty from 'node:tty';
import { CaliopError } from '../errors.js';

interface TerminalStreams {
  input: tty.ReadStream;
  output: tty.WriteStream;
  close(): void;
}

function openTerminal(): TerminalStreams {
  if (process.platform !== 'win32') {
    try {
      const inFd = openSync('/dev/tty', 'r');
      const outFd = openSync('/dev/tty', 'w');
      const input = new tty.ReadStream(inFd);
      const output = new tty.WriteStream(outFd);
      return {
        input,
        output,
        close() {
          input.destroy();
          output.destroy();
          for (const fd of [inFd, outFd]) {
            try { closeSync(fd); } catch { /* already closed by the stream */ }
          }
        },
      };
    } catch {
      // fall through to stdin/stderr
    }
  }
  if (process.stdin.isTTY && process.stderr.isTTY) {
    return { input: process.stdin as tty.ReadStream, output: process.stderr as tty.WriteStream, close() { process.stdin.pause(); } };
  }
  throw new CaliopError('confirmation_required', 'a question must be asked but there is no terminal', {
    hint: 'give the passphrase with --passphrase-file FILE (or @ENV:NAME, @FD:N)',
  });
}

export function hasTerminal(): boolean {
  if (process.stdin.isTTY) return true;
  if (process.platform === 'win32') return false;
  try {
    closeSync(openSync('/dev/tty', 'r'));
    return true;
  } catch {
    return false;
  }
}

/** Asks a question on the terminal; `hidden` turns echo off (secrets). */
export async function ask(question: string, options: { hidden?: boolean } = {}): Promise<string> {
  const terminal = openTerminal();
  const { input, output } = terminal;
  output.write(question);
  try {
    return await new Promise<string>((resolvePromise, reject) => {
      let answer = '';
      input.setRawMode(true);
      input.setEncoding('utf8');
      input.resume();
      const onData = (chunk: string) => {
        for (const char of chunk) {
          if (char === '\r' || char === '\n') {
            finish();
            output.write('\n');
            resolvePromise(answer);
            return;
          }
          if (char === '\u0003' || char === '\u0004') {
            finish();
            output.write('\n');
            reject(new CaliopError('confirmation_required', 'interrupted at the prompt', { hint: 'nothing was changed' }));
            return;
          }
          if (char === '\u007f' || char === '\b') {
            if (answer.length > 0) {
              answer = [...answer].slice(0, -1).join('');
              if (!options.hidden) output.write('\b \b');
            }
            continue;
          }
          answer += char;
          if (!options.hidden) output.write(char);
        }
      };
      const finish = () => {
        input.off('data', onData);
        input.setRawMode(false);
        input.pause();
      };
      input.on('data', onData);
    });
  } finally {
    terminal.close();
  }
}

/** Writes a line to the terminal the user sees (not stdout, which may be data). */
export function tell(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}
