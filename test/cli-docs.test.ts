// docs/cli.md is normative: its exit-code table and the error table must agree.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_TABLE } from '../src/errors.js';
import { CALIOP_VERSION } from '../src/version.js';
import { caliop } from './helpers/caliop.js';

const cliDoc = readFileSync(new URL('../docs/cli.md', import.meta.url), 'utf8');

describe('docs/cli.md and src/errors.ts', () => {
  it('lists every error code with its exit code, and no other', () => {
    const documented = [...cliDoc.matchAll(/^\| (\d+) \| `([a-z_]+)` \|/gm)].map((match) => [match[2], Number(match[1])]);
    const table = Object.entries(ERROR_TABLE).map(([code, spec]) => [code, spec.exit]);
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(table));
  });

  it('exit codes are unique', () => {
    const exits = Object.values(ERROR_TABLE).map((spec) => spec.exit);
    expect(new Set(exits).size).toBe(exits.length);
  });

  it('every row has a message and a hint', () => {
    for (const [code, spec] of Object.entries(ERROR_TABLE)) {
      expect(spec.message.length, code).toBeGreaterThan(5);
      expect(spec.hint.length, code).toBeGreaterThan(5);
    }
  });
});

describe('caliop --version', () => {
  it('prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(CALIOP_VERSION).toBe(pkg.version);
    const run = await caliop(['--version']);
    expect(run.stdout.trim()).toBe(pkg.version);
    expect(run.status).toBe(0);
  });
});

describe('package.json bin', () => {
  it('node_modules/.bin/caliop runs the CLI after the prepare step (npm ci)', async () => {
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync(new URL('../node_modules/.bin/caliop', import.meta.url).pathname, ['--version'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(CALIOP_VERSION);
  });
});
