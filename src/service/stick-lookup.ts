// Which stick a face works on (docs/stick-layout.md §2): the folder named by
// --stick, else CALIOP_STICK, else the one holding the executable. The one place
// the CLI, the interface and its dev entry find a stick.
import { pathExists } from '../edges/plain-files.js';
import { locateStick, stickAt, type Stick } from '../edges/stick-locator.js';
import { CaliopError } from '../errors.js';

export type { Stick };

export interface StickNames {
  /** `--stick DIR`, when given. */
  readonly flag: string | undefined;
  /** The CALIOP_STICK variable, when set. */
  readonly env: string | undefined;
}

/** The stick a command works on; stick_not_found when there is none (docs/cli.md §2). */
export function findStick(names: StickNames): Stick {
  return locateStick({ ...names, executablePath: process.execPath });
}

/**
 * The stick the interface opens, or null: then the interface asks for a folder and
 * runs the ceremony (docs/ui.md §2). A named folder that does not exist is null,
 * never an error: the interface says so itself.
 */
export function stickForInterface(names: StickNames): Stick | null {
  const named = names.flag ?? names.env;
  if (named !== undefined && named !== '') return pathExists(named) ? stickAt(named, names.flag !== undefined ? '--stick' : 'CALIOP_STICK') : null;
  try {
    return locateStick({ flag: undefined, env: undefined, executablePath: process.execPath });
  } catch {
    return null;
  }
}

/** The folder the user typed for a new stick (the interface's first question). */
export function stickInFolder(folder: string): Stick {
  if (!pathExists(folder)) throw new CaliopError('stick_not_found', `the folder ${folder} does not exist`);
  return stickAt(folder, '--stick');
}

/** Whether the stick already holds a vault: the interface unlocks it, else it runs the ceremony (docs/ui.md §2). */
export function stickHasVault(stick: Stick): boolean {
  return pathExists(stick.vaultPath);
}
