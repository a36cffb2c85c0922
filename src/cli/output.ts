// How the CLI writes: data on stdout only; messages on stderr as `caliop: …`
// (docs/cli.md §Output). Binary data never goes to a terminal.
import { printProgramError } from '../error-printer.js';
import { safeForTerminal, terminalSafeJson } from '../terminal-text.js';
import { CaliopError, ERROR_TABLE } from '../errors.js';

export function writeData(data: Uint8Array | string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    process.stdout.write(data, (error) => (error ? reject(error) : resolvePromise()));
  });
}

export function writeJson(value: unknown): Promise<void> {
  return writeData(`${terminalSafeJson(value)}\n`);
}

/** age-style refusal: binary to a terminal would garble it (docs/cli.md §Output). */
export function refuseBinaryToTerminal(isBinary: boolean): void {
  if (isBinary && process.stdout.isTTY) throw new CaliopError('binary_to_terminal');
}

/** `partial`: the data is the start of a longer whole (a character cut at its end is not binary). */
export function looksBinary(data: Uint8Array, partial = false): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data, { stream: partial });
  } catch {
    return true;
  }
  return data.includes(0);
}

/**
 * The one error printer of `caliop` (docs/cli.md §Output, §Exit codes): one
 * `caliop: error:` line, one `caliop: hint:` line, and the internal cause only
 * with --debug. Never a stack trace otherwise.
 */
export function printError(error: CaliopError, debug: boolean): void {
  // A message may quote the relay or a sender: the shared printer makes it inert (docs/threat-model.md).
  printProgramError('caliop', error, { debug });
}

export function note(message: string): void {
  process.stderr.write(`caliop: ${safeForTerminal(message)}\n`);
}

/**
 * For a failure that still produced output (a bad signature after decrypting):
 * print the error table's lines and set the exit code, without throwing.
 */
export function reportFailure(code: import('../errors.js').ErrorCode, detail?: string, hint?: string): void {
  printError(new CaliopError(code, detail, hint === undefined ? {} : { hint }), false);
  process.exitCode = ERROR_TABLE[code].exit;
}
