// What the Node single executables carry (issue 13, docs/decisions/executables.md
// §Start-up): scripts/build-exe.ts writes these files and names the assets,
// scripts/sea-main.ts reads the assets back from the executable's memory.

/** The main script, in the bundle folder: answers --version and --help, else runs the program. */
export const SEA_MAIN_FILE = 'sea-main.mjs';
/** The program (src/cli/main.ts) as a classic script, in the bundle folder and as an asset. */
export const SEA_PROGRAM_FILE = 'caliop-program.js';
export const SEA_PROGRAM_ASSET = 'caliop-program.js';
/** V8's code cache of the program, made by the builder for its own target only. */
export const SEA_PROGRAM_CACHE_ASSET = 'caliop-program.v8cache';
/** The sync worker's program (src/service/mail-open-worker.ts) as a classic script, in the bundle folder and as an asset. */
export { SEA_OPEN_WORKER_ASSET } from '../src/build-facts.js';
export const SEA_OPEN_WORKER_FILE = 'caliop-open-worker.js';
