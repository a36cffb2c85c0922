#!/usr/bin/env node
// The `caliop` command (docs/cli.md). Only commander and the command table load
// at start-up; each command imports its services when it runs, so that
// `caliop --version` never loads openpgp or the Argon2 engine.
import { Command, CommanderError } from 'commander';
import { CaliopError, ERROR_TABLE, isCaliopError } from '../errors.js';
import { CALIOP_VERSION } from '../version.js';
import { CliContext, type GlobalOptions } from './context.js';
import { registerBackupCommands } from './commands/backup.js';
import { registerContactCommands } from './commands/contacts.js';
import { registerCryptoCommands } from './commands/crypto.js';
import { registerInitCommands } from './commands/init.js';
import { registerKeyCommands } from './commands/key.js';
import { registerMailCommands } from './commands/mail.js';
import { registerStickCommands } from './commands/stick.js';

function printError(error: CaliopError, debug: boolean): void {
  process.stderr.write(`caliop: error: ${error.message}\n`);
  if (error.hint) process.stderr.write(`caliop: hint: ${error.hint}\n`);
  if (debug && error.cause) process.stderr.write(`caliop: debug: ${String((error.cause as Error).stack ?? error.cause)}\n`);
}

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
  const context = () => new CliContext(program.opts<GlobalOptions>());
  registerInitCommands(program, context);
  registerKeyCommands(program, context);
  registerContactCommands(program, context);
  registerCryptoCommands(program, context);
  registerBackupCommands(program, context);
  registerMailCommands(program, context);
  registerStickCommands(program, context);
  return { program, context };
}

export async function main(argv: string[]): Promise<number> {
  const { program } = buildProgram();
  const debug = argv.includes('--debug');
  try {
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
    const internal = new CaliopError('internal', `an unexpected internal error occurred: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    printError(internal, true);
    return internal.exitCode;
  }
}

const exitCode = await main(process.argv);
process.exitCode = exitCode;
