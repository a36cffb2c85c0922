// `caliop sop SUBCOMMAND` and `caliop-sop` (docs/sop.md): the Stateless OpenPGP command
// line of draft-dkg-openpgp-stateless-cli-13. This face only parses, reads inputs (files,
// @ENV:, @FD:), calls src/service/sop.ts and writes; exit codes are the draft's (§7), not
// caliop's. No stick, no vault, no prompt.
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { printProgramError } from '../error-printer.js';
import { CALIOP_VERSION } from '../version.js';
import { inputTooLargeText, WHOLE_INPUT_LIMITS } from '../core/input-limits.js';
import { readInputAtMostSync, readStdinWhole } from '../service/user-files.js';
import { writeData } from './output.js';

/** docs/limits.md §5: the data on stdin, held whole, within its ceiling (input_too_large: BAD_DATA). */
function readAllStdin(): Promise<Uint8Array> {
  return readStdinWhole(WHOLE_INPUT_LIMITS.stdinDataBytes, 'the data');
}

type SopService = typeof import('../service/sop.js');

/** One subcommand: its flags (with or without value) and how many positional args it takes. */
interface Spec {
  readonly flags: readonly string[];
  readonly values: readonly string[];
  readonly repeatable?: readonly string[];
  readonly positional: 'none' | 'any' | 'one' | 'two-or-more';
}

const SPECS: Record<string, Spec> = {
  version: { flags: ['--backend', '--extended', '--sop-spec', '--sopv'], values: [], positional: 'none' },
  'list-profiles': { flags: [], values: [], positional: 'one' },
  'generate-key': { flags: ['--no-armor', '--signing-only'], values: ['--with-key-password', '--profile'], positional: 'any' },
  'change-key-password': { flags: ['--no-armor'], values: ['--new-key-password', '--old-key-password'], repeatable: ['--old-key-password'], positional: 'none' },
  'revoke-key': { flags: ['--no-armor'], values: ['--with-key-password'], repeatable: ['--with-key-password'], positional: 'none' },
  'extract-cert': { flags: ['--no-armor'], values: [], positional: 'none' },
  sign: { flags: ['--no-armor'], values: ['--as', '--micalg-out', '--with-key-password'], repeatable: ['--with-key-password'], positional: 'any' },
  verify: { flags: [], values: ['--not-before', '--not-after'], positional: 'two-or-more' },
  encrypt: {
    flags: ['--no-armor'],
    values: ['--as', '--with-password', '--with-key-password', '--sign-with', '--profile', '--session-key-out'],
    repeatable: ['--with-password', '--with-key-password', '--sign-with'],
    positional: 'any',
  },
  decrypt: {
    flags: [],
    values: ['--session-key-out', '--with-session-key', '--with-password', '--with-key-password', '--verifications-out', '--verify-with', '--verify-not-before', '--verify-not-after', '--verify-out'],
    repeatable: ['--with-session-key', '--with-password', '--with-key-password', '--verify-with'],
    positional: 'any',
  },
  armor: { flags: [], values: ['--label'], positional: 'none' },
  dearmor: { flags: [], values: [], positional: 'none' },
  'inline-sign': { flags: ['--no-armor'], values: ['--as', '--with-key-password'], repeatable: ['--with-key-password'], positional: 'any' },
  'inline-verify': { flags: [], values: ['--not-before', '--not-after', '--verifications-out'], positional: 'any' },
  'inline-detach': { flags: ['--no-armor'], values: ['--signatures-out'], positional: 'none' },
};

/** Options a known subcommand recognises but that caliop does not implement: UNSUPPORTED_OPTION (37). */
const NOT_IMPLEMENTED = new Set(['--with-session-key', '--session-key-out', '--label']);

interface Parsed {
  readonly flags: Set<string>;
  readonly values: Map<string, string[]>;
  readonly positional: string[];
}

class Failure extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

function parse(subcommand: string, spec: Spec, args: readonly string[], exit: SopService['SOP_EXIT']): Parsed {
  const parsed: Parsed = { flags: new Set(), values: new Map(), positional: [] };
  let onlyPositional = false;
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index]!;
    if (onlyPositional || !arg.startsWith('--')) {
      parsed.positional.push(arg);
      continue;
    }
    if (arg === '--') {
      onlyPositional = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (spec.flags.includes(name)) {
      if (eq !== -1) throw new Failure(exit.UNSUPPORTED_OPTION, `${name} takes no value`);
      parsed.flags.add(name);
    } else if (spec.values.includes(name)) {
      let value: string | undefined = eq === -1 ? args[index + 1] : arg.slice(eq + 1);
      if (eq === -1) index += 1;
      if (value === undefined) throw new Failure(exit.MISSING_ARG, `${name} needs a value`);
      const list = parsed.values.get(name) ?? [];
      if (list.length > 0 && !spec.repeatable?.includes(name)) throw new Failure(exit.UNSUPPORTED_OPTION, `${name} may be given only once`);
      list.push(value);
      parsed.values.set(name, list);
    } else {
      throw new Failure(exit.UNSUPPORTED_OPTION, `${subcommand} has no option ${name}`);
    }
    if (NOT_IMPLEMENTED.has(name)) throw new Failure(exit.UNSUPPORTED_OPTION, `${name} is not supported by caliop sop`);
  }
  const count = parsed.positional.length;
  if (spec.positional === 'none' && count > 0) throw new Failure(exit.UNSUPPORTED_OPTION, `${subcommand} takes no argument (got ${parsed.positional[0]})`);
  if (spec.positional === 'one' && count !== 1) throw new Failure(exit.MISSING_ARG, `${subcommand} takes exactly one argument`);
  if (spec.positional === 'two-or-more' && count < 2) throw new Failure(exit.MISSING_ARG, `${subcommand} needs SIGNATURES and at least one CERTS`);
  return parsed;
}

/** draft §6.1: an input named by a file name, @ENV:NAME or @FD:N. */
function readInput(name: string, exit: SopService['SOP_EXIT']): Uint8Array {
  if (name.startsWith('@ENV:')) {
    const value = process.env[name.slice(5)];
    if (value === undefined) throw new Failure(exit.MISSING_INPUT, `the environment variable ${name.slice(5)} is not set`);
    return new TextEncoder().encode(value);
  }
  if (name.startsWith('@FD:')) {
    // draft §6.1: N is a decimal number; Number() also took "" (0: stdin, read twice), " 3", "0x3", "1e1".
    if (!/^\d{1,9}$/.test(name.slice(4))) throw new Failure(exit.UNSUPPORTED_SPECIAL_PREFIX, `${name} is not a file descriptor`);
    const fd = Number(name.slice(4));
    return readNamedInput(fd, name, exit);
  }
  if (name.startsWith('@')) throw new Failure(exit.UNSUPPORTED_SPECIAL_PREFIX, `unsupported special prefix in ${name}`);
  return readNamedInput(name, name, exit);
}

/** docs/limits.md §5: a named input (a file, @FD:N) within its ceiling; an endless one (/dev/zero) is BAD_DATA at once. */
function readNamedInput(source: number | string, name: string, exit: SopService['SOP_EXIT']): Uint8Array {
  let bytes: Uint8Array | undefined;
  try {
    bytes = readInputAtMostSync(source, WHOLE_INPUT_LIMITS.namedFileBytes);
  } catch {
    throw new Failure(exit.MISSING_INPUT, typeof source === 'number' ? `could not read file descriptor ${source}` : `could not read ${name}`);
  }
  if (bytes === undefined) throw new Failure(exit.BAD_DATA, inputTooLargeText(name, WHOLE_INPUT_LIMITS.namedFileBytes));
  return bytes;
}

/** draft §9.1: passwords are UTF-8; the face reads them as inputs. */
function readPassword(name: string, exit: SopService['SOP_EXIT']): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(readInput(name, exit));
  } catch (error) {
    if (error instanceof Failure) throw error;
    throw new Failure(exit.PASSWORD_NOT_HUMAN_READABLE, `the password in ${name} is not UTF-8 text`);
  }
}

/** draft §6.2: an output named by a file name (which must not exist) or @FD:N. */
function writeOutput(name: string, data: Uint8Array | string, exit: SopService['SOP_EXIT']): void {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  if (name.startsWith('@FD:')) {
    if (!/^\d{1,9}$/.test(name.slice(4))) throw new Failure(exit.UNSUPPORTED_SPECIAL_PREFIX, `${name} is not a file descriptor`); // as readInput
    const fd = Number(name.slice(4));
    writeSync(fd, bytes);
    return;
  }
  if (name.startsWith('@')) throw new Failure(exit.UNSUPPORTED_SPECIAL_PREFIX, `unsupported special prefix in ${name}`);
  if (existsSync(name)) throw new Failure(exit.OUTPUT_EXISTS, `${name} already exists`);
  const fd = openSync(name, 'wx', 0o600);
  try {
    writeSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

function date(text: string | undefined, exit: SopService['SOP_EXIT']): Date | undefined {
  if (text === undefined || text === '-') return undefined;
  if (text === 'now') return new Date();
  const parsed = new Date(text);
  if (Number.isNaN(parsed.getTime())) throw new Failure(exit.UNSUPPORTED_OPTION, `${text} is not an ISO 8601 date`);
  return parsed;
}

function asMode<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T, exit: SopService['SOP_EXIT']): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new Failure(exit.UNSUPPORTED_OPTION, `--as=${value} is not one of ${allowed.join(', ')}`);
  return value as T;
}

async function run(subcommand: string, parsed: Parsed, sop: SopService): Promise<void> {
  const exit = sop.SOP_EXIT;
  const armor = !parsed.flags.has('--no-armor');
  const one = (name: string) => parsed.values.get(name)?.[0];
  const many = (name: string) => parsed.values.get(name) ?? [];
  const keyPasswords = () => many('--with-key-password').map((name) => readPassword(name, exit));
  const inputs = (names: readonly string[]) => names.map((name) => readInput(name, exit));
  switch (subcommand) {
    case 'version': {
      if (parsed.flags.has('--backend')) return writeData(`openpgp.js ${(await import('openpgp')).config.versionString.replace(/^OpenPGP\.js v?/, '')}\n`);
      if (parsed.flags.has('--sop-spec')) return writeData('draft-dkg-openpgp-stateless-cli-13\n');
      if (parsed.flags.has('--sopv')) return writeData('1.0\n');
      if (parsed.flags.has('--extended')) return writeData(`caliop-sop ${CALIOP_VERSION}\nopenpgp.js ${(await import('openpgp')).config.versionString}\nnode ${process.version}\n`);
      return writeData(`caliop-sop ${CALIOP_VERSION}\n`);
    }
    case 'list-profiles': {
      const target = parsed.positional[0]!;
      const profiles = target === 'generate-key' ? sop.GENERATE_PROFILES : target === 'encrypt' ? sop.ENCRYPT_PROFILES : undefined;
      if (!profiles) throw new Failure(exit.UNSUPPORTED_PROFILE, `${target} has no profiles`);
      return writeData(profiles.map((profile) => `${profile.name}: ${profile.description}\n`).join(''));
    }
    case 'generate-key': {
      const password = one('--with-key-password');
      return writeData(
        await sop.generateKey({
          userIds: parsed.positional,
          profile: one('--profile') === 'default' ? 'rfc4880' : (one('--profile') ?? 'rfc4880'),
          signingOnly: parsed.flags.has('--signing-only'),
          // draft §9.1: a password used to lock a key loses its trailing whitespace.
          ...(password !== undefined ? { password: readPassword(password, exit).trimEnd() } : {}),
          armor,
        }),
      );
    }
    case 'change-key-password': {
      const next = one('--new-key-password');
      const old = many('--old-key-password').map((name) => readPassword(name, exit));
      return writeData(await sop.changeKeyPassword(await readAllStdin(), old, next === undefined ? undefined : readPassword(next, exit).trimEnd(), armor));
    }
    case 'revoke-key':
      return writeData(await sop.revokeKey(await readAllStdin(), keyPasswords(), armor));
    case 'extract-cert':
      return writeData(await sop.extractCert(await readAllStdin(), armor));
    case 'sign': {
      if (parsed.positional.length === 0) throw new Failure(exit.MISSING_ARG, 'sign needs at least one KEYS file');
      const keys = await sop.unlockKeys(inputs(parsed.positional), keyPasswords());
      const { signature, micalg } = await sop.signDetached(await readAllStdin(), keys, asMode(one('--as'), ['binary', 'text'] as const, 'binary', exit), armor);
      const micalgOut = one('--micalg-out');
      if (micalgOut !== undefined) writeOutput(micalgOut, micalg, exit);
      return writeData(signature);
    }
    case 'verify': {
      const [signature, ...certNames] = parsed.positional;
      const certs = await sop.readCertList(inputs(certNames));
      const notBefore = date(one('--not-before'), exit);
      const notAfter = date(one('--not-after'), exit);
      const outcome = await sop.verifySignatures(await readAllStdin(), certs, {
        detached: readInput(signature!, exit),
        ...(notBefore ? { notBefore } : {}),
        ...(notAfter ? { notAfter } : {}),
      });
      return writeData(outcome.lines.map((line) => `${line}\n`).join(''));
    }
    case 'encrypt': {
      const profile = one('--profile');
      if (profile !== undefined && profile !== 'default' && !sop.ENCRYPT_PROFILES.some((candidate) => candidate.name === profile)) {
        throw new Failure(exit.UNSUPPORTED_PROFILE, `no encrypt profile "${profile}"`);
      }
      const certs = await sop.readCertList(inputs(parsed.positional));
      const signers = await sop.unlockKeys(inputs(many('--sign-with')), keyPasswords());
      return writeData(
        await sop.encrypt({
          data: await readAllStdin(),
          certs,
          passwords: many('--with-password').map((name) => readPassword(name, exit)),
          signers,
          as: asMode(one('--as'), ['binary', 'text'] as const, 'binary', exit),
          armor,
        }),
      );
    }
    case 'decrypt': {
      const keys = await sop.unlockKeys(inputs(parsed.positional), keyPasswords());
      const verifyWith = await sop.readCertList(inputs(many('--verify-with')));
      const out = one('--verifications-out') ?? one('--verify-out');
      if (out !== undefined && verifyWith.length === 0) throw new Failure(exit.INCOMPLETE_VERIFICATION, '--verifications-out needs --verify-with');
      if (out !== undefined && !out.startsWith('@') && existsSync(out)) throw new Failure(exit.OUTPUT_EXISTS, `${out} already exists`);
      const notBefore = date(one('--verify-not-before'), exit);
      const notAfter = date(one('--verify-not-after'), exit);
      const outcome = await sop.decrypt({
        data: await readAllStdin(),
        keys,
        passwords: many('--with-password').map((name) => readPassword(name, exit)),
        verifyWith,
        ...(notBefore ? { notBefore } : {}),
        ...(notAfter ? { notAfter } : {}),
      });
      if (out !== undefined) writeOutput(out, outcome.lines.map((line) => `${line}\n`).join(''), exit);
      return writeData(outcome.data);
    }
    case 'armor':
      return writeData(await sop.armor(await readAllStdin()));
    case 'dearmor':
      return writeData(await sop.dearmor(await readAllStdin()));
    case 'inline-sign': {
      if (parsed.positional.length === 0) throw new Failure(exit.MISSING_ARG, 'inline-sign needs at least one KEYS file');
      const as = asMode(one('--as'), ['binary', 'text', 'clearsigned'] as const, 'binary', exit);
      if (as === 'clearsigned' && !armor) throw new Failure(exit.INCOMPATIBLE_OPTIONS, '--as=clearsigned and --no-armor cannot go together');
      const keys = await sop.unlockKeys(inputs(parsed.positional), keyPasswords());
      return writeData(await sop.inlineSign(await readAllStdin(), keys, as, armor));
    }
    case 'inline-verify': {
      if (parsed.positional.length === 0) throw new Failure(exit.MISSING_ARG, 'inline-verify needs at least one CERTS file');
      const certs = await sop.readCertList(inputs(parsed.positional));
      const out = one('--verifications-out');
      if (out !== undefined && !out.startsWith('@') && existsSync(out)) throw new Failure(exit.OUTPUT_EXISTS, `${out} already exists`);
      const notBefore = date(one('--not-before'), exit);
      const notAfter = date(one('--not-after'), exit);
      const outcome = await sop.verifySignatures(await readAllStdin(), certs, { ...(notBefore ? { notBefore } : {}), ...(notAfter ? { notAfter } : {}) });
      if (out !== undefined) writeOutput(out, outcome.lines.map((line) => `${line}\n`).join(''), exit);
      return writeData(outcome.data);
    }
    case 'inline-detach': {
      const out = one('--signatures-out');
      if (out === undefined) throw new Failure(exit.MISSING_ARG, 'inline-detach needs --signatures-out=SIGNATURES');
      if (!out.startsWith('@') && existsSync(out)) throw new Failure(exit.OUTPUT_EXISTS, `${out} already exists`);
      const detached = await sop.inlineDetach(await readAllStdin(), armor);
      writeOutput(out, detached.signatures, exit);
      return writeData(detached.data);
    }
  }
}

/** `caliop sop ARGS…`: returns the exit code; never throws, never prints a stack trace (docs/sop.md §3). */
export async function runSop(args: readonly string[]): Promise<number> {
  const debug = args.includes('--debug');
  const rest = args.filter((arg) => arg !== '--debug');
  const sop = await import('../service/sop.js');
  const [subcommand, ...subArgs] = rest;
  try {
    if (subcommand === undefined || subcommand === 'help' || subcommand === '--help') {
      process.stderr.write(`usage: caliop sop SUBCOMMAND [OPTIONS]\nsubcommands: ${Object.keys(SPECS).join(', ')}\n`);
      return subcommand === undefined ? sop.SOP_EXIT.MISSING_ARG : 0;
    }
    const spec = SPECS[subcommand];
    if (!spec) throw new Failure(sop.SOP_EXIT.UNSUPPORTED_SUBCOMMAND, `unsupported subcommand ${subcommand}`);
    await run(subcommand, parse(subcommand, spec, subArgs, sop.SOP_EXIT), sop);
    return 0;
  } catch (error) {
    const failure = error instanceof Failure ? error : sop.asSopError(error);
    printProgramError('caliop sop', { message: failure.message, cause: error instanceof Error ? error : undefined }, { debug });
    return failure instanceof Failure ? failure.exitCode : failure.exitCode;
  }
}
