// The main script of the Node single executables (scripts/build-exe.ts; issue 13,
// docs/decisions/executables.md §Start-up). It is small, so the executable starts about
// as fast as `node -e 0`: `caliop --version` and `caliop --help` are answered here
// (src/cli/quick-answer.ts) and nothing else is compiled. Any other command line runs
// the program, which the executable carries as an asset (src/cli/main.ts bundled as a
// classic script), compiled from memory with the V8 code cache that the builder made for
// its own target. Nothing is read from the disk or written to it.
import { quickAnswer } from '../src/cli/quick-answer.js';
import { SEA_PROGRAM_ASSET, SEA_PROGRAM_CACHE_ASSET } from './sea-assets.js';

/** The program script's value: `(async function (importMetaUrl) { … })` (scripts/build-exe.ts). */
type Program = (importMetaUrl: string) => Promise<void>;

const quick = quickAnswer(process.argv.slice(2), process.stdout.isTTY === true);
if (quick !== undefined) {
  process.stdout.write(quick);
} else {
  const sea = process.getBuiltinModule('node:sea');
  const vm = process.getBuiltinModule('node:vm');
  let cachedData: Uint8Array | undefined;
  try {
    cachedData = new Uint8Array(sea.getRawAsset(SEA_PROGRAM_CACHE_ASSET) as ArrayBuffer);
  } catch {
    cachedData = undefined; // a cross-built target carries no code cache: V8 compiles the script
  }
  const script = new vm.Script(sea.getAsset(SEA_PROGRAM_ASSET, 'utf8'), {
    filename: SEA_PROGRAM_ASSET,
    ...(cachedData === undefined ? {} : { cachedData }),
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  await (script.runInThisContext() as Program)(import.meta.url);
}
