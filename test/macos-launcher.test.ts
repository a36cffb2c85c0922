// usb-image/Caliop.command, the macOS launcher, run here by dash and bash (macOS's
// /bin/sh is bash) with `uname` and `sysctl` replaced by scripts that answer as each
// kind of Mac would, and the two executables replaced by scripts that say who they
// are: which one it starts, with which arguments and environment.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../scripts/build-exe.js';

interface Mac {
  /** `uname -m` */
  readonly machine: string;
  /** `sysctl -n hw.optional.arm64`; undefined: unknown oid (Intel Macs), exit 1 */
  readonly arm64?: string;
  /** `sysctl -n sysctl.proc_translated`; undefined: unknown oid */
  readonly translated?: string;
}

const INTEL: Mac = { machine: 'x86_64' };
const APPLE_SILICON: Mac = { machine: 'arm64', arm64: '1', translated: '0' };
/** Terminal opened "using Rosetta": the shell itself is x86_64. */
const ROSETTA_SHELL: Mac = { machine: 'x86_64', arm64: '1', translated: '1' };

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'caliop-macos-launcher-'));
});
afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

function script(path: string, body: string): void {
  writeFileSync(path, `#!/bin/sh\n${body}`);
  chmodSync(path, 0o755);
}

/** A stick folder with the launcher and fake executables; a bin folder answering as `mac`. */
function setUp(name: string, mac: Mac, options: { arm64Exe?: 'works' | 'killed' | 'absent' } = {}): { stick: string; bin: string } {
  const stick = join(work, name, 'CALIOP');
  const bin = join(work, name, 'bin');
  mkdirSync(stick, { recursive: true });
  mkdirSync(bin);
  copyFileSync(join(REPO_ROOT, 'usb-image', 'Caliop.command'), join(stick, 'Caliop.command'));
  script(join(bin, 'uname'), `[ "$1" = -m ] && echo ${mac.machine}\n`);
  script(
    join(bin, 'sysctl'),
    [
      'case "$2" in',
      mac.arm64 === undefined ? '' : `  hw.optional.arm64) echo ${mac.arm64}; exit 0 ;;`,
      mac.translated === undefined ? '' : `  sysctl.proc_translated) echo ${mac.translated}; exit 0 ;;`,
      'esac',
      'echo "sysctl: unknown oid \'$2\'" >&2; exit 1',
      '',
    ].join('\n'),
  );
  const report = (who: string) => `echo "${who} $*"; echo "BUN_OPTIONS=\${BUN_OPTIONS-unset} NODE_OPTIONS=\${NODE_OPTIONS-unset} BUN_INSPECT=\${BUN_INSPECT-unset}"; exit \${FAKE_STATUS:-0}\n`;
  script(join(stick, 'caliop-macos-x64'), report('X64'));
  const arm64 = options.arm64Exe ?? 'works';
  // The kernel kills an arm64 executable whose signature it refuses: status 137 (SIGKILL).
  if (arm64 === 'works') script(join(stick, 'caliop-macos-arm64'), report('ARM64'));
  if (arm64 === 'killed') script(join(stick, 'caliop-macos-arm64'), 'kill -9 $$\n');
  return { stick, bin };
}

function launch(shell: string, setup: { stick: string; bin: string }, args: string[], env: NodeJS.ProcessEnv = {}, input = ''): { status: number | null; stdout: string } {
  const run = spawnSync(shell, [join(setup.stick, 'Caliop.command'), ...args], {
    cwd: work,
    encoding: 'utf8',
    input,
    env: { PATH: `${setup.bin}:/usr/bin:/bin`, ...env },
  });
  return { status: run.status, stdout: run.stdout };
}

describe.each(['sh', 'bash'])('Caliop.command under %s', (shell) => {
  it('starts caliop-macos-x64 on an Intel Mac, with --stick and the arguments', () => {
    const setup = setUp(`${shell}-intel`, INTEL);
    const run = launch(shell, setup, ['inbox', '--json']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`X64 --stick ${setup.stick} inbox --json`);
  });

  it('starts caliop-macos-arm64 on Apple silicon', () => {
    const setup = setUp(`${shell}-m1`, APPLE_SILICON);
    const run = launch(shell, setup, ['inbox']);
    expect(run.stdout).toContain(`ARM64 --stick ${setup.stick} inbox`);
    expect(run.stdout).not.toContain('X64 --stick');
  });

  it('starts caliop-macos-arm64 from a shell translated by Rosetta 2 (uname says x86_64)', () => {
    const setup = setUp(`${shell}-rosetta`, ROSETTA_SHELL);
    expect(launch(shell, setup, ['inbox']).stdout).toContain(`ARM64 --stick ${setup.stick} inbox`);
  });

  it('falls back to caliop-macos-x64 (Rosetta 2) when the arm64 one is killed at start, or absent', () => {
    const killed = setUp(`${shell}-killed`, APPLE_SILICON, { arm64Exe: 'killed' });
    expect(launch(shell, killed, ['inbox']).stdout).toContain(`X64 --stick ${killed.stick} inbox`);
    const absent = setUp(`${shell}-absent`, APPLE_SILICON, { arm64Exe: 'absent' });
    expect(launch(shell, absent, ['inbox']).stdout).toContain(`X64 --stick ${absent.stick} inbox`);
  });

  it('passes on the exit status, and clears BUN_OPTIONS, BUN_INSPECT and NODE_OPTIONS', () => {
    const setup = setUp(`${shell}-env`, APPLE_SILICON);
    const run = launch(shell, setup, ['decrypt'], { FAKE_STATUS: '21', BUN_OPTIONS: '--preload /tmp/evil.js', BUN_INSPECT: 'ws://0.0.0.0:9229', NODE_OPTIONS: '--require /tmp/evil.js' });
    expect(run.status).toBe(21);
    expect(run.stdout).toContain('BUN_OPTIONS=unset NODE_OPTIONS=unset BUN_INSPECT=unset');
  });

  it('double-clicked (no argument) and failing: waits for Enter before the Terminal window closes', () => {
    const setup = setUp(`${shell}-click`, APPLE_SILICON);
    const run = launch(shell, setup, [], { FAKE_STATUS: '4' }, '\n');
    expect(run.status).toBe(4);
    expect(run.stdout).toContain('Press Enter to close.');
  });
});
