// What every command needs from the global options: the stick, the passphrase,
// the output mode. Commands get a CliContext and call services with it.
import { findStick, type Stick } from '../service/stick-lookup.js';
import { readPassphraseSpec } from './passphrase-source.js';
import { ask, tell } from './terminal.js';
import { note } from './output.js';
import { CaliopError, isCaliopError } from '../errors.js';
import type { StickSession } from '../service/stick-session.js';

export interface GlobalOptions {
  stick?: string;
  passphraseFile?: string;
  batch?: boolean;
  json?: boolean;
  debug?: boolean;
}

export class CliContext {
  /** `command`: the command's name as typed (`sync`, `contacts import`), which the stick's lock names (docs/store.md §10). */
  constructor(
    readonly options: GlobalOptions,
    readonly command?: string,
  ) {}

  get json(): boolean {
    return this.options.json === true;
  }

  get batch(): boolean {
    return this.options.batch === true;
  }

  stick(): Stick {
    return findStick({ flag: this.options.stick, env: process.env.CALIOP_STICK });
  }

  /**
   * docs/store.md §10: one process at a time holds the stick. Taken before anything of the
   * vault or the store is read (before the passphrase is asked), held until this process exits;
   * after 5 s of another holder, stick_in_use naming it. `makeFolder`: init, recover.
   */
  async hold(stick: Stick, options: { makeFolder?: boolean } = {}): Promise<void> {
    const { holdStick, STICK_WAIT_MS } = await import('../service/stick-hold.js');
    await holdStick(stick, {
      holder: 'command',
      ...(this.command === undefined ? {} : { command: this.command }),
      ...options,
      onWait: (holder) => note(`the stick is in use by ${holder}: waiting for it (${STICK_WAIT_MS / 1000} s at most)`),
    });
  }

  /** The passphrase from --passphrase-file (FILE, @ENV:NAME, @FD:N), else the terminal. */
  async passphrase(prompt = 'Passphrase: '): Promise<string> {
    if (this.options.passphraseFile !== undefined) return readPassphraseSpec(this.options.passphraseFile);
    this.refuseToPrompt('the passphrase');
    return ask(prompt, { hidden: true });
  }

  /** A new passphrase: from a spec, else asked twice on the terminal. */
  async newPassphrase(spec: string | undefined, what = 'new passphrase'): Promise<string> {
    if (spec !== undefined) return readPassphraseSpec(spec, what);
    this.refuseToPrompt(`the ${what}`);
    const first = await ask(`Choose the ${what}: `, { hidden: true });
    const second = await ask(`Type it again: `, { hidden: true });
    if (first !== second) throw new CaliopError('passphrase_rejected', 'the two passphrases differ');
    return first;
  }

  refuseToPrompt(what: string): void {
    if (this.batch) {
      throw new CaliopError('confirmation_required', `${what} is needed and --batch never prompts`, {
        hint: 'give it with --passphrase-file FILE (or @ENV:NAME, @FD:N)',
      });
    }
  }

  /**
   * Unlocks the stick's vault; asks again on a wrong passphrase when interactive.
   * `meanwhile` loads what the command runs next (its services), while Argon2id runs: issue 13,
   * a module evaluated then costs no time after the derivation (`import()` caches it, so the
   * command's own `await import(…)` afterwards finds it loaded).
   */
  async unlock(meanwhile?: () => Promise<unknown>): Promise<StickSession> {
    const { assertStickHasVault, beginStickUnlock } = await import('../service/vault-unlock.js');
    const stick = this.stick();
    assertStickHasVault(stick); // before asking for a passphrase that could open nothing
    await this.hold(stick);
    const interactive = this.options.passphraseFile === undefined;
    for (let attempt = 1; ; attempt += 1) {
      const passphrase = await this.passphrase();
      try {
        // Issue 13: Argon2id runs in its worker from here on, while the heavy part of the
        // program (openpgp, the schemas, the store) loads on the other core.
        const run = await beginStickUnlock(stick, passphrase);
        const { StickSession } = await import('../service/stick-session.js');
        await meanwhile?.();
        return await StickSession.open(stick, run);
      } catch (error) {
        if (interactive && attempt < 3 && isCaliopError(error, 'wrong_passphrase')) {
          tell('caliop: wrong passphrase, try again (there is no limit on attempts)');
          continue;
        }
        throw error;
      }
    }
  }
}
