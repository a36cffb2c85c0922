#!/usr/bin/env node
// The `caliop` command's entry (docs/cli.md). `caliop --version` and `caliop --help`
// are answered from facts fixed at build time (src/cli/quick-answer.ts), loading
// nothing else; every other command line loads the program (./program.js).
import { quickAnswer } from './quick-answer.js';

const quick = quickAnswer(process.argv.slice(2), process.stdout.isTTY === true);
if (quick !== undefined) {
  process.stdout.write(quick);
} else {
  const { main } = await import('./program.js');
  process.exitCode = await main(process.argv);
}
