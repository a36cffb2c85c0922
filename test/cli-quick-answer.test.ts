// `caliop --version` and `caliop --help` answered without loading the program (issue 13;
// src/cli/quick-answer.ts). The help text the executable carries is commander's own
// output for the program (scripts/build-exe.ts pipedHelpText): the same bytes as the tsc
// build's `caliop --help` on a pipe, so it stays one fact.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pipedHelpText } from '../scripts/build-exe.js';
import { COMPILED_HELP } from '../src/build-facts.js';
import { quickAnswer } from '../src/cli/quick-answer.js';
import { CALIOP_VERSION } from '../src/version.js';
import { CALIOP_ENTRY } from './helpers/caliop.js';

const HELP = 'Usage: caliop [options] [command]\n';

describe('the quick answer', () => {
  it('answers --version and -V with the version, whatever the output', () => {
    for (const terminal of [false, true]) {
      expect(quickAnswer(['--version'], terminal)).toBe(`${CALIOP_VERSION}\n`);
      expect(quickAnswer(['-V'], terminal)).toBe(`${CALIOP_VERSION}\n`);
    }
  });

  it('answers --help and -h with the compiled-in text on a pipe only (on a terminal commander wraps to its width)', () => {
    expect(quickAnswer(['--help'], false, HELP)).toBe(HELP);
    expect(quickAnswer(['-h'], false, HELP)).toBe(HELP);
    expect(quickAnswer(['--help'], true, HELP)).toBeUndefined();
  });

  it('leaves everything else to the program', () => {
    expect(COMPILED_HELP).toBeUndefined(); // the tsc build carries no help text: commander answers
    expect(quickAnswer(['--help'], false)).toBeUndefined();
    for (const args of [[], ['help'], ['--version', '--json'], ['--json', '--version'], ['key', '--help'], ['--versions'], ['-v']]) {
      expect(quickAnswer(args, false, HELP), args.join(' ')).toBeUndefined();
    }
  });

  it("the text compiled into the executable is byte for byte what the program's --help prints on a pipe", async () => {
    const run = spawnSync(process.execPath, [CALIOP_ENTRY, '--help'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Usage: caliop \[options\] \[command\]\n/);
    expect(run.stdout).toContain('key');
    expect(await pipedHelpText()).toBe(run.stdout);
  });
});
