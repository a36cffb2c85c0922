// Where a passphrase comes from (docs/cli.md §Passphrases). Never argv:
//   FILE       the first line of a file
//   @ENV:NAME  the environment variable NAME
//   @FD:N      the first line read from an inherited file descriptor N
// Interactive use reads /dev/tty with echo off (src/cli/terminal.ts).
import { readFileSync } from 'node:fs';
import { CaliopError } from '../errors.js';

/** Strips one trailing line ending, as editors leave one. */
function firstLine(text: string): string {
  return text.replace(/\r?\n$/, '');
}

export function readPassphraseSpec(spec: string, what = 'passphrase'): string {
  let text: string;
  if (spec.startsWith('@ENV:')) {
    const name = spec.slice('@ENV:'.length);
    const value = process.env[name];
    if (value === undefined) {
      throw new CaliopError('file_unreadable', `the environment variable ${name} for the ${what} is not set`, {
        hint: `export ${name}=... before running caliop, or give the ${what} in a file`,
      });
    }
    text = value;
  } else if (spec.startsWith('@FD:')) {
    const fd = Number(spec.slice('@FD:'.length));
    if (!Number.isInteger(fd) || fd < 0) throw new CaliopError('usage', `${spec} is not a valid file descriptor form`, { hint: 'write it as @FD:3' });
    try {
      text = readFileSync(fd, 'utf8');
    } catch (error) {
      throw new CaliopError('file_unreadable', `could not read the ${what} from file descriptor ${fd}`, { cause: error });
    }
  } else {
    try {
      text = readFileSync(spec, 'utf8');
    } catch (error) {
      throw new CaliopError('file_unreadable', `could not read the ${what} file ${spec}`, { cause: error });
    }
  }
  const passphrase = firstLine(text);
  if (passphrase.length === 0) {
    throw new CaliopError('passphrase_rejected', `the ${what} given by ${spec} is empty`);
  }
  return passphrase;
}
