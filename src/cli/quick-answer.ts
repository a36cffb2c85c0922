// `caliop --version` and `caliop --help` without loading the program (issue 13: the
// executable's start-up). The version is src/version.ts; the help text is commander's
// own output for `caliop --help` on a pipe, computed from src/cli/program.ts when the
// executable is bundled (scripts/build-exe.ts, src/build-facts.ts): one fact, printed
// here without commander. The tsc build has no such text and asks commander.
import { COMPILED_HELP } from '../build-facts.js';
import { CALIOP_VERSION } from '../version.js';

/**
 * The exact output (stdout, exit 0) of `caliop ARGS`, when it is known without the
 * program: `--version`/`-V` always; `--help`/`-h` when the bundle carries the help
 * text and stdout is not a terminal (on a terminal commander wraps the text to its
 * width). Else undefined: the program decides.
 */
export function quickAnswer(args: readonly string[], stdoutIsTerminal: boolean, help: string | undefined = COMPILED_HELP): string | undefined {
  if (args.length !== 1) return undefined;
  const [arg] = args;
  if (arg === '--version' || arg === '-V') return `${CALIOP_VERSION}\n`;
  if ((arg === '--help' || arg === '-h') && help !== undefined && !stdoutIsTerminal) return help;
  return undefined;
}
