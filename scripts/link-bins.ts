// `npm ci` links the bins of dependencies into node_modules/.bin, but not the
// project's own. This step of `npm run build` (which `prepare` runs) does it for
// package.json "bin", so that `node_modules/.bin/caliop` runs the CLI right after `npm ci`
// on a fresh clone, and still after `rm -rf build && npm test` (tsc writes its files
// without the executable bit: the bin link then failed with EACCES).
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

// This file runs as build/scripts/link-bins.js.
const root = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
const binDir = join(root, 'node_modules', '.bin');
mkdirSync(binDir, { recursive: true });
for (const [name, target] of Object.entries(pkg.bin ?? {})) {
  const absolute = join(root, target);
  if (!existsSync(absolute)) throw new Error(`link-bins: ${target} does not exist; did the build run?`);
  chmodSync(absolute, 0o755);
  const link = join(binDir, name);
  rmSync(link, { force: true });
  symlinkSync(relative(binDir, absolute), link);
}
