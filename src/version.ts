// Kept equal to package.json "version" (checked by test/cli-basics.test.ts); a
// constant so that `caliop --version` reads no file and loads nothing heavy.
export const CALIOP_VERSION = '0.1.0';
