// Finds the stick (docs/stick-layout.md §2) and names its paths (§1).
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CaliopError } from '../errors.js';

export interface Stick {
  readonly root: string;
  readonly vaultDir: string;
  readonly vaultPath: string;
  readonly configPath: string;
  /** How it was found, for messages: "--stick", "CALIOP_STICK" or "executable". */
  readonly foundBy: '--stick' | 'CALIOP_STICK' | 'executable';
}

export function stickAt(root: string, foundBy: Stick['foundBy']): Stick {
  const absolute = resolve(root);
  const vaultDir = join(absolute, 'vault');
  return { root: absolute, vaultDir, vaultPath: join(vaultDir, 'caliop.vault'), configPath: join(absolute, 'config.json'), foundBy };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function hasStickLayout(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) || isDirectory(join(dir, 'vault'));
}

export interface LocateInput {
  readonly flag: string | undefined;
  readonly env: string | undefined;
  /** process.execPath: inside a single executable, the file on the stick. */
  readonly executablePath: string;
}

export function locateStick(input: LocateInput): Stick {
  for (const [value, foundBy] of [
    [input.flag, '--stick'],
    [input.env, 'CALIOP_STICK'],
  ] as const) {
    if (value === undefined || value === '') continue;
    if (!isDirectory(value)) {
      throw new CaliopError('stick_not_found', `the stick folder ${value} (from ${foundBy}) does not exist or is not a folder`);
    }
    return stickAt(value, foundBy);
  }
  const besideExecutable = dirname(input.executablePath);
  if (hasStickLayout(besideExecutable)) return stickAt(besideExecutable, 'executable');
  throw new CaliopError('stick_not_found');
}
