// The `caliop` command's program (docs/cli.md), loaded by src/cli/main.ts when the
// answer is not one fixed at build time. Only commander and the command table load
// here; each command imports its services when it runs, so that `caliop --version`
// never loads openpgp or the Argon2 engine.
import { Command, CommanderError } from 'commander';
import { CaliopError, ERROR_TABLE, isCaliopError } from '../errors.js';
import { CALIOP_VERSION } from '../version.js';
import { CliContext, type GlobalOptions } from './context.js';
import { printError } from './output.js';
import { registerBackupCommands } from './commands/backup.js';
import { registerContactCommands } from './commands/contacts.js';
import { registerCryptoCommands } from './commands/crypto.js';
import { registerDeviceCommands } from './commands/devices.js';
import { registerInitCommands } from './commands/init.js';
import { registerKeyCommands } from './commands/key.js';
import { registerMailCommands } from './commands/mail.js';
import { registerStickCommands } from './commands/stick.js';


export function buildProgram(): { program: Command; context: () => CliContext } {
  const program = new Command('caliop');
  program
    .description('Caliop Key: your keys on your stick, and how exposed each message was')
    .version(CALIOP_VERSION, '-V, --version', 'print the version')
    .option('--stick <dir>', 'the stick folder (else $CALIOP_STICK, else the folder of this executable)')
    .option('--passphrase-file <file>', 'read the passphrase from FILE, @ENV:NAME or @FD:N (never from argv)')
    .option('--batch', 'never prompt; fail when a question would be needed')
    .option('--json', 'print results as JSON on stdout')
    .option('--debug', 'print internal details on errors')
    .showHelpAfterError('(run "caliop help" for the list of commands)')
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(text.replace(/^error: /, 'caliop: error: ')),
    });
  // docs/store.md §10: the stick's lock names the command that holds it.
  let commandName: string | undefined;
  program.hook('preAction', (_program, action) => {
    const names: string[] = [];
    for (let command: Command | null = action; command !== null && command !== program; command = command.parent) names.unshift(command.name());
    commandName = names.join(' ');
  });
  const context = () => new CliContext(program.opts<GlobalOptions>(), commandName);
  registerInitCommands(program, context);
  registerKeyCommands(program, context);
  registerContactCommands(program, context);
  registerCryptoCommands(program, context);
  registerBackupCommands(program, context);
  registerMailCommands(program, context);
  registerDeviceCommands(program, context);
  registerStickCommands(program, context);
  return { program, context };
}

/** Global options that take a value (docs/cli.md §1). */
const GLOBAL_VALUE_OPTIONS = new Set(['--stick', '--passphrase-file']);
const GLOBAL_FLAGS = new Set(['--batch', '--json', '--debug']);

/**
 * docs/cli.md §5: `caliop` with no command, on a terminal, opens the full-screen
 * interface (the launchers run it so); with only global options it still does.
 */
function wantsInterface(args: readonly string[]): boolean {
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index]!;
    if (GLOBAL_VALUE_OPTIONS.has(arg)) index += 1;
    else if (!GLOBAL_FLAGS.has(arg) && !GLOBAL_VALUE_OPTIONS.has(arg.split('=')[0]!)) return false;
  }
  if (args.includes('--batch') || args.includes('--json')) return false;
  // Issue 13: asked last, when no command was named: process.stdin is a stream made on first
  // use (6-25 ms for a file or a pipe, measured in Node 26), and a command that never reads it
  // (key show, and its unlock before) should not pay for it.
  return process.stdin.isTTY === true && process.stdout.isTTY === true;
}

async function runInterface(args: readonly string[]): Promise<number> {
  const stickIndex = args.indexOf('--stick');
  const { stickForInterface } = await import('../service/stick-lookup.js');
  const stick = stickIndex === -1 ? stickForInterface({ flag: undefined, env: process.env.CALIOP_STICK }) : stickForInterface({ flag: args[stickIndex + 1] ?? '', env: undefined });
  // Ink draws only a final frame when it believes it runs in CI (the is-in-ci package
  // reads CI, CONTINUOUS_INTEGRATION and CI_* at load). We are on a terminal, by the test
  // above: draw live.
  process.env.CI = '0';
  delete process.env.CONTINUOUS_INTEGRATION;
  for (const name of Object.keys(process.env)) if (name.startsWith('CI_')) delete process.env[name];
  const { runInteractive } = await import('../ui/main.js');
  return runInteractive({ stick });
}

export async function main(argv: string[]): Promise<number> {
  // docs/sop.md: `caliop sop …` has the draft's own parsing and exit codes.
  if (argv[2] === 'sop') return (await import('./sop.js')).runSop(argv.slice(3));
  const debug = argv.includes('--debug');
  // docs/cli.md §4: a reader that closes stdout early (`| head`) is exit 48 with one line, not an
  // unhandled 'error' event and its stack (issue 9's audit).
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    printError(new CaliopError('output_closed'), debug);
    process.exit(ERROR_TABLE.output_closed.exit);
  });
  try {
    if (wantsInterface(argv.slice(2))) return await runInterface(argv.slice(2));
    const { program } = buildProgram();
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0; // --help, --version
      process.stderr.write(`caliop: hint: ${ERROR_TABLE.usage.hint}\n`);
      return ERROR_TABLE.usage.exit;
    }
    if (isCaliopError(error)) {
      printError(error, debug);
      return error.exitCode;
    }
    // docs/cli.md §1 (--debug): one line and a hint; the stack only with --debug.
    const firstLine = String((error as Error)?.message ?? error).split('\n')[0]!.slice(0, 200);
    const internal = new CaliopError('internal', `${ERROR_TABLE.internal.message}: ${firstLine}`, { cause: error });
    printError(internal, debug);
    return internal.exitCode;
  }
}
