// The real GnuPG as a peer: a throw-away home (DIR/gnupg, mode 700) with HOME=DIR, batch
// mode, no passphrase on generated keys. kill() stops the agent that home started.
import { mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface GpgRun {
  readonly status: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface Gpg {
  readonly home: string;
  /** gpg ARGS, whatever its exit status. */
  spawn(args: readonly string[], input?: string | Uint8Array): GpgRun;
  /** gpg ARGS; throws with gpg's stderr when it fails. */
  run(args: readonly string[], input?: string | Uint8Array): Buffer;
  kill(): void;
}

export interface GpgOptions {
  /** The home's folder name under `dir` (default gnupg). */
  readonly name?: string;
  /** --trust-model always on every call. */
  readonly trustAlways?: boolean;
  /** Added to every call after the common options (e.g. --status-fd 2). */
  readonly extraArgs?: readonly string[];
  /** Added to the environment (e.g. LC_ALL=C). */
  readonly env?: NodeJS.ProcessEnv;
}

export function makeGpg(dir: string, options: GpgOptions = {}): Gpg {
  const home = join(dir, options.name ?? 'gnupg');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const common = ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', ...(options.trustAlways ? ['--trust-model', 'always'] : []), ...(options.extraArgs ?? [])];
  const spawn = (args: readonly string[], input?: string | Uint8Array): GpgRun => {
    const result = spawnSync('gpg', [...common, ...args], { input, env: { ...process.env, ...options.env, HOME: dir, GNUPGHOME: home }, maxBuffer: 64 * 1024 * 1024 });
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr.toString() };
  };
  return {
    home,
    spawn,
    run(args, input) {
      const result = spawn(args, input);
      if (result.status !== 0) throw new Error(`gpg ${args.join(' ')} failed: ${result.stderr}`);
      return result.stdout;
    },
    kill() {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
    },
  };
}
