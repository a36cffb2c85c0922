// The one error printer of the three programs, caliop, caliop-flash and caliop-relay
// (docs/cli.md §Exit codes, docs/architecture.md §Layers: a shared leaf): one
// `PROGRAM: error: …` line, one `PROGRAM: hint: …` line when there is a hint, the
// internal cause only with --debug, then the usage when a program shows it. What a
// message quotes (a relay, a sender, a file name) is made inert first. Never a stack
// trace without --debug.
import { safeForTerminal } from './terminal-text.js';

export interface PrintedError {
  readonly message: string;
  readonly hint?: string | undefined;
  readonly cause?: unknown;
}

export interface PrintOptions {
  /** --debug: the cause, with its stack, on a `PROGRAM: debug:` line. */
  readonly debug?: boolean;
  /** Printed after the error as it is (a program's usage text). */
  readonly after?: string;
}

/** The lines the program writes to stderr for `error`. */
export function errorText(program: string, error: PrintedError, options: PrintOptions = {}): string {
  let text = `${program}: error: ${safeForTerminal(error.message)}\n`;
  if (error.hint) text += `${program}: hint: ${safeForTerminal(error.hint)}\n`;
  if (options.debug && error.cause) text += `${program}: debug: ${String((error.cause as Error).stack ?? error.cause)}\n`;
  if (options.after !== undefined) text += `${options.after}\n`;
  return text;
}

export function printProgramError(program: string, error: PrintedError, options: PrintOptions = {}): void {
  process.stderr.write(errorText(program, error, options));
}
