// Facts fixed when a release executable is bundled (scripts/build-exe.ts gives
// them to esbuild as `define`s; docs/decisions/executables.md §Release facts).
// The tsc build (development and the test suites) defines neither: it is not a
// release build and has no compiled-in release fingerprint.
//
// `typeof` of an undeclared name is 'undefined' without a ReferenceError, so
// this module runs as is under tsc/Node; in the bundle esbuild replaces each
// name by its literal and folds the test away.

declare const __CALIOP_RELEASE_BUILD__: boolean | undefined;
declare const __CALIOP_RELEASE_FINGERPRINT__: string | undefined;
declare const __CALIOP_HELP__: string | undefined;

/**
 * True in executables made by scripts/build-exe.ts. Test switches (environment
 * variables such as CALIOP_UNSAFE_TEST_KDF) are dead code there.
 */
export const RELEASE_BUILD: boolean = typeof __CALIOP_RELEASE_BUILD__ === 'boolean' ? __CALIOP_RELEASE_BUILD__ : false;

/**
 * The fingerprint (40 upper-case hex digits) of the release certificate this
 * executable was built to trust (docs/manifest.md §8), or undefined when the
 * build named none (the tsc build, a bundle built without --release-cert).
 */
export const COMPILED_RELEASE_FINGERPRINT: string | undefined =
  typeof __CALIOP_RELEASE_FINGERPRINT__ === 'string' && /^[0-9A-F]{40}$/.test(__CALIOP_RELEASE_FINGERPRINT__) ? __CALIOP_RELEASE_FINGERPRINT__ : undefined;

/**
 * What `caliop --help` prints on a pipe (commander's text for src/cli/program.ts, made
 * at bundle time), so that the executable answers it without loading commander
 * (src/cli/quick-answer.ts); undefined in the tsc build.
 */
export const COMPILED_HELP: string | undefined = typeof __CALIOP_HELP__ === 'string' ? __CALIOP_HELP__ : undefined;

/**
 * Every environment variable that exists for test suites only (docs/vault-format.md
 * §5.4). None has any effect in a release build; test/exe.test.ts runs the built
 * executable with all of them set. A new test switch must be added here.
 */
export const TEST_ONLY_ENVIRONMENT: readonly string[] = ['CALIOP_UNSAFE_TEST_KDF', 'CALIOP_UNSAFE_TEST_RELAY_TIMEOUT_MS'];

/**
 * The sync worker's program (src/service/mail-open-worker.ts bundled as a script) as an
 * asset of the Node single executables, which carry no separate file to start a worker
 * from (scripts/build-exe.ts writes it; src/service/mail-open.ts starts it, issue 13).
 */
export const SEA_OPEN_WORKER_ASSET = 'caliop-open-worker.js';
